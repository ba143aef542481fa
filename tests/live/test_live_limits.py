"""Live limits end to end, in a real ``vidlake serve`` with real ffmpeg publishers over RTMP:
``max_continuous_duration`` cutting a publisher, a ``reconnect_window`` running out, and silent
connections dropped by the RTMP server's timeouts while a good stream on the same server goes on.

``vidlake serve`` builds its RTMP server with the default :class:`RtmpServerConfig` (the timeouts are not
settings), so the silent cases run against those defaults: 5 s handshake, 15 s to publish, 10 s idle.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

import pytest
from live_support import create_stream, events, fetch_media_playlist, publish, stream_status, wait_for
from services import VidlakeServer
from sqlalchemy import create_engine, text

from vidlake.live.rtmp import RtmpServerConfig
from vidlake.live.rtmp.client import RtmpPublisher

pytestmark = pytest.mark.slow

DEFAULTS = RtmpServerConfig()
PUBLISH_START = "NetStream.Publish.Start"



def _set_max_continuous_duration(server: VidlakeServer, stream_id: str, seconds: int) -> None:
    """Write ``max_continuous_duration`` below the API's 60 s minimum, straight into the server's database
    (the ingest reads it at each publish), so that the test does not have to publish for a minute."""
    engine = create_engine(f"sqlite:///{server.data_dir / 'vidlake.db'}")
    try:
        with engine.begin() as conn:
            n = conn.execute(text("UPDATE live_streams SET max_continuous_duration = :s WHERE id = :id"),
                             {"s": seconds, "id": stream_id}).rowcount
        assert n == 1
    finally:
        engine.dispose()


def test_max_continuous_duration_cuts_the_publisher(live_server: VidlakeServer) -> None:
    limit_s = 5
    with live_server.client() as c:
        r = c.post("/video/v1/live-streams", json={"playback_policy": ["public"], "max_continuous_duration": 5})
        assert r.status_code == 400  # the API keeps Mux's 60 s minimum
        stream = create_stream(c, reconnect_window=0, new_asset_settings={"playback_policy": ["public"]},
                         max_continuous_duration=60)
        sid, key = stream["id"], stream["stream_key"]
        assert stream["max_continuous_duration"] == 60
        _set_max_continuous_duration(live_server, sid, limit_s)
        pub = publish(f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{key}", seconds=40)
        try:
            wait_for(lambda: stream_status(c, sid)["status"] == "active", "status active", 30)
            code = pub.wait(30)  # cut long before its 40 s of media
        finally:
            if pub.poll() is None:
                pub.kill()
                pytest.fail("the publisher was not cut at max_continuous_duration")
        assert code != 0  # ffmpeg saw the server end its publish
        wait_for(lambda: stream_status(c, sid)["status"] == "idle", "status idle", 30)
        done = stream_status(c, sid)
        assert "active_ingest_protocol" not in done  # no publisher connected any more
        asset_id = done["recent_asset_ids"][-1]
        asset = wait_for(lambda: (lambda a: a if a["status"] != "preparing" else None)(
            c.get(f"/video/v1/assets/{asset_id}").json()["data"]), "recording ready", 30)
    # The recording spans about the limit (whole 1 s segments, the cut lands mid-segment).
    assert asset["status"] == "ready" and limit_s - 2 <= asset["duration"] <= limit_s + 3, asset
    types = events(live_server, sid)
    assert types.count("video.live_stream.connected") == 1 and "video.live_stream.disconnected" in types, types
    assert types.index("video.live_stream.active") < types.index("video.live_stream.disconnected") < \
        types.index("video.live_stream.idle")


def test_reconnect_window_runs_out(live_server: VidlakeServer) -> None:
    window_s = 4
    with live_server.client() as c:
        stream = create_stream(c, reconnect_window=window_s, new_asset_settings={"playback_policy": ["public"]})
        sid, key = stream["id"], stream["stream_key"]
        url = f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{key}"
        assert publish(url, seconds=2).wait(60) == 0
        wait_for(lambda: "video.live_stream.disconnected" in events(live_server, sid), "disconnected")
        during = stream_status(c, sid)
        first_asset = during["active_asset_id"]
        # Inside the window: still active, same asset, nothing recorded as finished yet.
        assert during["status"] == "active" and first_asset and during["recent_asset_ids"] == [], during
        # Nobody comes back: the window runs out, the session ends and its recording is finished.
        wait_for(lambda: stream_status(c, sid)["status"] == "idle", "status idle", window_s + 30)
        done = stream_status(c, sid)
        assert done["recent_asset_ids"] == [first_asset] and "active_asset_id" not in done, done
        assert events(live_server, sid).count("video.live_stream.idle") == 1
        assert "video.asset.live_stream_completed" in events(live_server, first_asset)
        # A publish after the window is a new session with a new asset.
        assert publish(url, seconds=2).wait(60) == 0
        wait_for(lambda: len(stream_status(c, sid)["recent_asset_ids"]) == 2, "second recording", window_s + 30)
        ids = stream_status(c, sid)["recent_asset_ids"]
        assert ids[0] == first_asset and ids[1] != first_asset


async def _closed_silent_tcp(port: int, timeout_s: float) -> bool:
    """Open TCP and send nothing; True if the server closes the connection within ``timeout_s``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        async with asyncio.timeout(timeout_s):
            while await reader.read(65536):
                pass
        return True
    except ConnectionError:
        return True
    except TimeoutError:
        return False
    finally:
        writer.close()


async def _closed_after_handshake(port: int, timeout_s: float) -> bool:
    """Complete a valid handshake, then stay silent (no connect, no publish)."""
    client = await RtmpPublisher.open("127.0.0.1", port)
    try:
        return await client.closed_by_server(timeout_s)
    finally:
        await client.close()


async def _closed_after_publish(port: int, key: str, timeout_s: float) -> bool:
    """Publish on ``key`` (accepted), then send no media at all."""
    client = await RtmpPublisher.open("127.0.0.1", port)
    try:
        await client.connect("live")
        assert await client.publish(key) == PUBLISH_START
        return await client.closed_by_server(timeout_s)
    finally:
        await client.close()


async def _timed(coro: Coroutine[Any, Any, bool]) -> tuple[bool, float]:
    """(result, seconds it took)."""
    started = time.monotonic()
    result = await coro
    return result, round(time.monotonic() - started, 2)


async def _silent_clients(port: int, key: str) -> list[tuple[bool, float]]:
    """Three silent clients at once; (closed by the server, seconds until closed) of each."""
    slack = 20.0  # the server's timers plus a loaded machine; far below the good publisher's length
    return list(await asyncio.gather(
        _timed(_closed_silent_tcp(port, DEFAULTS.handshake_timeout_s + slack)),
        _timed(_closed_after_handshake(port, DEFAULTS.publish_timeout_s + slack)),
        _timed(_closed_after_publish(port, key, DEFAULTS.idle_timeout_s + slack)),
    ))


def test_silent_connections_are_dropped_while_a_good_stream_goes_on(live_server: VidlakeServer) -> None:
    good_s = 24.0
    with live_server.client() as c:
        good = create_stream(c, reconnect_window=0)
        silent = create_stream(c, reconnect_window=0)
        gid, gpid = good["id"], good["playback_ids"][0]["id"]
        pub = publish(f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{good['stream_key']}", seconds=good_s)
        try:
            wait_for(lambda: stream_status(c, gid)["status"] == "active", "good stream active", 30)
            before = c.get(f"/video/v1/live-streams/{gid}/health").json()["data"]
            _, media_before = fetch_media_playlist(live_server.url, gpid)
            closed = asyncio.run(_silent_clients(live_server.rtmp_port, silent["stream_key"]))
            print(f"silent clients (closed, seconds): tcp {closed[0]}, handshake {closed[1]}, publish {closed[2]}")
            assert [ok for ok, _ in closed] == [True, True, True], closed
            # The silent publisher had a session (accepted key), which ended without ever going active.
            sevents = events(live_server, silent["id"])
            assert "video.live_stream.connected" in sevents and "video.live_stream.active" not in sevents, sevents
            wait_for(lambda: "video.live_stream.disconnected" in events(live_server, silent["id"]),
                     "silent publisher disconnected", 10)
            assert stream_status(c, silent["id"])["status"] == "idle"
            # Meanwhile the good stream went on: still publishing, still connected, new bytes and segments.
            assert pub.poll() is None, f"the good publisher ended early: {closed}"
            after = c.get(f"/video/v1/live-streams/{gid}/health").json()["data"]
            assert after["connected"] is True and after["bytes_received"] > before["bytes_received"], after
            _, media_after = fetch_media_playlist(live_server.url, gpid)
            last = media_before.media_sequence + len(media_before.segments)
            assert media_after.media_sequence + len(media_after.segments) > last
            assert stream_status(c, gid)["status"] == "active"
        finally:
            code = pub.wait(60)
        assert code == 0  # the good publisher ran its whole length without being cut
        wait_for(lambda: stream_status(c, gid)["status"] == "idle", "good stream idle", 30)
    gevents = events(live_server, gid)
    assert gevents.count("video.live_stream.connected") == 1 and gevents.count("video.live_stream.disconnected") == 1
