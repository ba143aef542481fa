"""The player page on a live playback id, in a real Chromium, with a real ffmpeg publishing over RTMP.

Before anyone publishes, the page waits (HTTP 412 from the playlist) and retries; once the stream is
active it plays, shows the LIVE badge and reports how far behind the live edge it is; clicking the badge
jumps back to the edge.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser import chromium_browser
from live_support import create_stream, publish, stream_status, wait_for
from services import VidlakeServer

pytestmark = pytest.mark.slow

TIMEOUT_MS = 45_000  #: generous: two shared cores, an encoder and a browser at once


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VidlakeServer]:
    srv = VidlakeServer(tmp_path_factory.mktemp("player-live"), rtmp=True, workers=1).start()
    yield srv
    srv.stop()


def _state(page: Any) -> dict[str, Any]:
    return dict(page.evaluate(
        "() => { const s = window.vidlakePlayer; return {status: s.status, live: s.live, retries: s.retries,"
        " errors: s.errors, time: s.video.currentTime, behind: s.behindLive(),"
        " badge: !document.querySelector('.vl-live').hidden,"
        " text: document.querySelector('.vl-error').hidden ? '' : document.querySelector('.vl-error').innerText} }"))


def test_player_waits_for_the_stream_then_plays_it_live(server: VidlakeServer) -> None:
    with server.client() as c:
        stream = create_stream(c, reconnect_window=0)
        sid, key, pid = stream["id"], stream["stream_key"], stream["playback_ids"][0]["id"]
        with chromium_browser() as browser:
            page = browser.new_page(viewport={"width": 640, "height": 360})
            page.goto(f"{server.url}/player/{pid}?muted=1&autoplay=1")
            page.wait_for_function("() => window.vidlakePlayer.status === 'waiting'", timeout=TIMEOUT_MS)
            state = _state(page)
            assert "has not started yet" in state["text"] and not state["badge"], state
            pub = publish(f"rtmp://127.0.0.1:{server.rtmp_port}/live/{key}", seconds=40)
            try:
                wait_for(lambda: stream_status(c, sid)["status"] == "active", "status active", 30)
                # The page retries by itself, then plays the live stream with the badge shown.
                page.wait_for_function("() => { const s = window.vidlakePlayer; return s.errors.length > 0 ||"
                                       " (s.live && s.video.currentTime > 2) }", timeout=TIMEOUT_MS)
                state = _state(page)
                assert not state["errors"], state
                assert state["live"] and state["badge"] and state["retries"] >= 1 and state["status"] == "ready"
                # Fall behind the edge, then the badge brings playback back to it.
                page.evaluate("() => { const v = window.vidlakePlayer.video; v.pause();"
                              " v.currentTime = Math.max(v.seekable.start(0), v.currentTime - 4); }")
                page.wait_for_function("() => window.vidlakePlayer.behindLive() > 3", timeout=TIMEOUT_MS)
                behind = _state(page)["behind"]
                page.click(".vl-live")
                page.wait_for_function(f"() => window.vidlakePlayer.behindLive() < {behind} - 2"
                                       " && !window.vidlakePlayer.video.paused", timeout=TIMEOUT_MS)
            finally:
                pub.kill()
                pub.wait()
                page.close()
