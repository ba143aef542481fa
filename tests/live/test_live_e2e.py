"""Live streams end to end: real ffmpeg publishers over RTMP into ``vidlake serve``, live HLS, state and
events, key reset, recording into a VOD asset, reconnects."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from live_support import create_stream, decode_segments, events, fetch_media_playlist, publish, stream_status, wait_for
from services import VidlakeServer

from vidlake.package import hls

pytestmark = pytest.mark.slow



def test_publish_watch_record(live_server: VidlakeServer, tmp_path: Path) -> None:
    with live_server.client() as c:
        stream = create_stream(c, reconnect_window=0, new_asset_settings={"playback_policy": ["public"]})
        sid, key = str(stream["id"]), str(stream["stream_key"])
        assert stream["status"] == "idle" and stream["latency_mode"] == "low"
        pid = stream["playback_ids"][0]["id"]  # type: ignore[index]
        assert httpx.get(f"{live_server.url}/{pid}.m3u8").status_code == 412  # not live yet
        pub = publish(f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{key}", seconds=6)
        try:
            wait_for(lambda: stream_status(c, sid)["status"] == "active", "status active")
            live = stream_status(c, sid)
            assert live["active_asset_id"]
            # Live HLS: wait for a few segments, then every listed segment of the live window decodes.
            url, media = wait_for(lambda: (lambda r: r if len(r[1].segments) >= 2 else None)(
                fetch_media_playlist(live_server.url, pid)), "two live segments")
            assert not media.endlist
            assert decode_segments(url, media, tmp_path) > 0
            thumb = wait_for(lambda: (lambda r: r if r.status_code == 200 else None)(
                httpx.get(f"{live_server.url}/{pid}/thumbnail.jpg")), "a live thumbnail")
            assert thumb.headers["content-type"] == "image/jpeg" and thumb.content[:2] == b"\xff\xd8"
            health = c.get(f"/video/v1/live-streams/{sid}/health").json()["data"]
            assert health["connected"] is True and health["video_codec"] == "h264" and health["width"] == 320
            assert health["bitrate_bps"] > 0 and health["bytes_received"] > 0
            metrics = httpx.get(f"{live_server.url}/metrics").text
            assert f'vidlake_live_ingest_bitrate_bps{{live_stream_id="{sid}"}}' in metrics
        finally:
            assert pub.wait(60) == 0, pub.stderr.read() if pub.stderr else ""
        wait_for(lambda: stream_status(c, sid)["status"] == "idle", "status idle")
        done = stream_status(c, sid)
        asset_id = done["recent_asset_ids"][-1]  # type: ignore[index]
        assert asset_id == live["active_asset_id"] and "active_asset_id" not in done
        # Playable as soon as the session ends (live segments, no re-encode) ...
        asset = wait_for(lambda: (lambda a: a if a["status"] != "preparing" else None)(
            c.get(f"/video/v1/assets/{asset_id}").json()["data"]), "recording ready")
        assert asset["status"] == "ready", asset
        # ... then processed like any VOD asset (its HLS is replaced when vod.process commits).
        asset = wait_for(lambda: (lambda a: a if a["progress"]["state"] == "completed" else None)(
            c.get(f"/video/v1/assets/{asset_id}").json()["data"]), "recording processed")
        assert asset["live_stream_id"] == sid and 4.0 <= asset["duration"] <= 8.0
        apid = asset["playback_ids"][0]["id"]
    url, vod = fetch_media_playlist(live_server.url, apid)
    assert vod.endlist
    assert decode_segments(url, vod, tmp_path) >= 100  # ~6 s at 25 fps (start may lose a GOP)
    types = events(live_server, sid)
    for t in ("connected", "recording", "active", "disconnected", "idle"):
        assert f"video.live_stream.{t}" in types, types
    assert types.index("video.live_stream.connected") < types.index("video.live_stream.active") < \
        types.index("video.live_stream.idle")
    assert "video.asset.live_stream_completed" in events(live_server, asset_id)


def test_unknown_key_refused(live_server: VidlakeServer) -> None:
    pub = publish(f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/not-a-key", seconds=3)
    assert pub.wait(60) != 0


def test_reset_key_cuts_publisher_and_disable(live_server: VidlakeServer) -> None:
    with live_server.client() as c:
        stream = create_stream(c, reconnect_window=0)
        sid, key = str(stream["id"]), str(stream["stream_key"])
        pub = publish(f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{key}", seconds=60)
        try:
            wait_for(lambda: stream_status(c, sid)["status"] == "active", "status active")
            r = c.post(f"/video/v1/live-streams/{sid}/reset-stream-key")
            assert r.status_code == 201 and r.json()["data"]["stream_key"] != key
            pub.wait(30)  # the publisher is cut long before its 60 s
        finally:
            if pub.poll() is None:
                pub.kill()
                pytest.fail("the publisher on the old key was not disconnected")
        wait_for(lambda: stream_status(c, sid)["status"] == "idle", "status idle")
        # Not recorded: the session's segments are gone from storage once it ends.
        assert [p for p in (live_server.data_dir / "storage").glob(f"env/*/live/{sid}/**/*") if p.is_file()] == []
        # The old key no longer works.
        assert publish(f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{key}", seconds=2).wait(60) != 0
        # Disabled streams refuse the new key too; enabled again they accept it.
        new_key = stream_status(c, sid)["stream_key"]
        assert c.put(f"/video/v1/live-streams/{sid}/disable").status_code == 200
        assert stream_status(c, sid)["status"] == "disabled"
        assert publish(f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{new_key}", seconds=2).wait(60) != 0
        assert c.put(f"/video/v1/live-streams/{sid}/enable").status_code == 200
        assert stream_status(c, sid)["status"] == "idle"
        assert "video.live_stream.disabled" in events(live_server, sid)


def test_reconnect_inside_window_continues_asset(live_server: VidlakeServer, tmp_path: Path) -> None:
    with live_server.client() as c:
        stream = create_stream(c, reconnect_window=30, new_asset_settings={"playback_policy": ["public"]})
        sid, key = str(stream["id"]), str(stream["stream_key"])
        pid = stream["playback_ids"][0]["id"]  # type: ignore[index]
        url = f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{key}"
        assert publish(url, seconds=3).wait(60) == 0
        wait_for(lambda: "video.live_stream.disconnected" in events(live_server, sid), "disconnected")
        first_asset = stream_status(c, sid)["active_asset_id"]
        assert first_asset and stream_status(c, sid)["status"] == "active"  # inside the window
        pub = publish(url, seconds=4)

        def live_with_discontinuity() -> tuple[str, hls.MediaPlaylist] | None:
            found = fetch_media_playlist(live_server.url, pid)
            after = [s for s in found[1].segments if s.uri.split("/hls/")[-1].startswith("run1/")]
            return found if any(s.discontinuity for s in found[1].segments) and after else None

        playlist_url, media = wait_for(live_with_discontinuity, "a live playlist across the reconnect")
        assert sum(s.discontinuity for s in media.segments) == 1
        assert decode_segments(playlist_url, media, tmp_path) > 0
        assert pub.wait(60) == 0
        wait_for(lambda: events(live_server, sid).count("video.live_stream.disconnected") == 2, "2nd disconnect")
        assert stream_status(c, sid)["active_asset_id"] == first_asset  # same live asset
        assert c.put(f"/video/v1/live-streams/{sid}/complete").status_code == 200
        wait_for(lambda: stream_status(c, sid)["status"] == "idle", "status idle")
        assert stream_status(c, sid)["recent_asset_ids"] == [first_asset]
        asset = wait_for(lambda: (lambda a: a if a["progress"]["state"] in ("completed", "errored") else None)(
            c.get(f"/video/v1/assets/{first_asset}").json()["data"]), "recording processed")
        assert asset["status"] == "ready" and asset["duration"] >= 5.0, asset
        apid = asset["playback_ids"][0]["id"]
    playlist_url, media = fetch_media_playlist(live_server.url, apid)
    assert media.endlist and decode_segments(playlist_url, media, tmp_path) >= 100


def test_reconnect_outside_window_makes_new_asset(live_server: VidlakeServer) -> None:
    with live_server.client() as c:
        stream = create_stream(c, reconnect_window=0, new_asset_settings={"playback_policy": ["public"]})
        sid, key = str(stream["id"]), str(stream["stream_key"])
        url = f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{key}"
        for n in (1, 2):
            assert publish(url, seconds=2).wait(60) == 0
            wait_for(lambda n=n: len(stream_status(c, sid)["recent_asset_ids"]) == n, f"recording {n}")  # type: ignore[misc]
        ids = stream_status(c, sid)["recent_asset_ids"]
        assert len(set(ids)) == 2  # type: ignore[arg-type]
