"""SRT end to end: a real ffmpeg publishes MPEG-TS over SRT (``srt://host:port?streamid=KEY``) into
``vidlake serve``; viewers get live HLS, the API shows health, the session is recorded into a VOD
asset, and an unknown key or a key already live over RTMP is refused."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_support import create_stream, decode_segments, fetch_media_playlist, publish, stream_status, wait_for
from services import VidlakeServer

from vidlake.ffmpeg import ffmpeg_exe

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def srt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VidlakeServer]:
    server = VidlakeServer(tmp_path_factory.mktemp("srt"), rtmp=True, srt=True, workers=1).start()
    yield server
    server.stop()


def publish_srt(url: str, seconds: float, fps: int = 25) -> subprocess.Popen[bytes]:
    """A real ffmpeg SRT caller: testsrc2 + sine, H.264 (1 s GOP) + AAC in MPEG-TS, in real time."""
    argv = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re",
            "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate={fps}", "-f", "lavfi", "-i", "sine=frequency=440",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
            "-g", str(fps), "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "mpegts", url]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _srt_url(server: VidlakeServer, key: str) -> str:
    return f"srt://127.0.0.1:{server.srt_port}?streamid={key}&pkt_size=1316"


def test_srt_publish_watch_record(srt_server: VidlakeServer, tmp_path: Path) -> None:
    with srt_server.client() as c:
        stream = create_stream(c, reconnect_window=0, new_asset_settings={"playback_policy": ["public"]})
        sid, key, pid = stream["id"], stream["stream_key"], stream["playback_ids"][0]["id"]
        pub = publish_srt(_srt_url(srt_server, key), seconds=8)
        try:
            wait_for(lambda: stream_status(c, sid)["status"] == "active", "status active", 30)
            url, media = wait_for(lambda: (lambda r: r if len(r[1].segments) >= 2 else None)(
                fetch_media_playlist(srt_server.url, pid)), "two live segments", 30)
            assert not media.endlist
            assert decode_segments(url, media, tmp_path) > 0
            health = c.get(f"/video/v1/live-streams/{sid}/health").json()["data"]
            assert health["connected"] is True and health["video_codec"] == "h264", health
            assert health["audio_codec"] == "aac" and health["bytes_received"] > 0
            # The key is live over SRT: an RTMP publisher on the same key is refused.
            rtmp = publish(f"rtmp://127.0.0.1:{srt_server.rtmp_port}/live/{key}", seconds=3)
            assert rtmp.wait(30) != 0
            thumb = wait_for(lambda: (lambda r: r if r.status_code == 200 else None)(
                httpx.get(f"{srt_server.url}/{pid}/thumbnail.jpg")), "a live thumbnail", 30)
            assert thumb.content[:2] == b"\xff\xd8"
        finally:
            pub.wait(60)
        wait_for(lambda: stream_status(c, sid)["status"] == "idle", "status idle", 60)
        asset_id = stream_status(c, sid)["recent_asset_ids"][-1]
        asset = wait_for(lambda: (lambda a: a if a["progress"]["state"] in ("completed", "errored") else None)(
            c.get(f"/video/v1/assets/{asset_id}").json()["data"]), "recording processed", 120)
        assert asset["status"] == "ready" and 5.0 <= asset["duration"] <= 10.0, asset
        apid = asset["playback_ids"][0]["id"]
    vod_url, vod = fetch_media_playlist(srt_server.url, apid)
    assert vod.endlist and decode_segments(vod_url, vod, tmp_path) >= 100


def test_srt_unknown_key_refused(srt_server: VidlakeServer) -> None:
    pub = publish_srt(_srt_url(srt_server, "no-such-key-0123456789"), seconds=5)
    assert pub.wait(30) != 0
    assert httpx.get(f"{srt_server.url}/healthz").status_code == 200
