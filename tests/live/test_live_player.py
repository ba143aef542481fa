"""A real Chromium plays a live stream in the player page while a real ffmpeg publishes it over RTMP.

The live playlists are sliding windows without ``EXT-X-ENDLIST``; the page must play them with hls.js
and keep up as segments are added (playback advances, no fatal error), then the publisher stops.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser import chromium_browser
from live_support import create_stream, fetch_media_playlist, publish, stream_status, wait_for
from services import VidlakeServer

pytestmark = pytest.mark.slow

PUBLISH_S = 20.0  #: how long the publisher runs (seconds of media, sent in real time)
ADVANCE_S = 3.0  #: how far playback must advance past where it started (seconds of media)
PLAY_TIMEOUT_MS = 30_000  #: generous: two shared cores, a live encoder and a browser at once


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with chromium_browser() as browser:
        yield browser


def _state(page: Any) -> dict[str, Any]:
    return dict(page.evaluate(
        "() => { const s = window.vidlakePlayer; return {status: s.status, engine: s.engine, errors: s.errors,"
        " warnings: s.warnings, time: s.video.currentTime, paused: s.video.paused, duration: s.video.duration,"
        " live: !!(s.hls && s.hls.levels && s.hls.levels.length && s.hls.levels[s.hls.currentLevel < 0 ? 0 :"
        " s.hls.currentLevel].details && s.hls.levels[s.hls.currentLevel < 0 ? 0 : s.hls.currentLevel].details.live)"
        " } }"))


@pytest.mark.parametrize("latency_mode", ["low", "reduced"])
def test_chromium_plays_a_live_stream(live_server: VidlakeServer, chromium: Any, latency_mode: str) -> None:
    with live_server.client() as c:
        stream = create_stream(c, latency_mode=latency_mode, reconnect_window=0)
        sid, key, pid = stream["id"], stream["stream_key"], stream["playback_ids"][0]["id"]
        pub = publish(f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{key}", seconds=PUBLISH_S)
        page = chromium.new_page(viewport={"width": 640, "height": 360})
        console: list[str] = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        try:
            wait_for(lambda: stream_status(c, sid)["status"] == "active", "status active", 30)
            _, media = wait_for(lambda: (lambda r: r if len(r[1].segments) >= 2 else None)(
                fetch_media_playlist(live_server.url, pid)), "two live segments", 30)
            assert not media.endlist  # it is a live playlist the page gets
            response = page.goto(f"{live_server.url}/player/{pid}?muted=1&autoplay=1")
            assert response is not None and response.status == 200
            # Playing: time moves and nothing fatal happened; then it must advance ADVANCE_S more.
            page.wait_for_function("() => { const s = window.vidlakePlayer; return s && (s.errors.length > 0 ||"
                                   " (!s.video.paused && s.video.currentTime > 0)) }", timeout=PLAY_TIMEOUT_MS)
            first = _state(page)
            assert first["errors"] == [], (first, console)
            assert first["engine"] == "hls.js" and first["status"] == "ready", first
            assert first["live"] is True, first  # hls.js saw a live (no ENDLIST) playlist
            page.wait_for_function(
                f"() => {{ const s = window.vidlakePlayer; return s.errors.length > 0 ||"
                f" s.video.currentTime > {first['time'] + ADVANCE_S} }}", timeout=PLAY_TIMEOUT_MS)
            later = _state(page)
            assert later["errors"] == [], (later, console)
            assert later["time"] > first["time"] + ADVANCE_S, later
            assert pub.poll() is None, "the publisher ended before the page played the stream"
            # The stream is still live while the page plays it.
            assert httpx.get(f"{live_server.url}/{pid}.m3u8").status_code == 200
        finally:
            page.close()
            if pub.poll() is None:
                pub.terminate()
            pub.wait(30)
        wait_for(lambda: stream_status(c, sid)["status"] == "idle", "status idle", 30)
