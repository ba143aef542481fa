"""Video-only and audio-only publishes through the in-process passthrough rung: live HLS with the one
track, decodable segments, a recording that becomes ready."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import httpx
import pytest
from live_support import create_stream, fetch_media_playlist, stream_status, wait_for
from services import VidlakeServer

from vidlake.ffmpeg import ffmpeg_exe

pytestmark = pytest.mark.slow


def _publish_one_track(url: str, kind: str, seconds: float) -> subprocess.Popen[bytes]:
    argv = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re"]
    if kind == "video":
        argv += ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-c:v", "libx264", "-preset", "ultrafast",
                 "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p"]
    else:
        argv += ["-f", "lavfi", "-i", "sine=frequency=440", "-c:a", "aac", "-b:a", "64k"]
    return subprocess.Popen([*argv, "-t", str(seconds), "-f", "flv", url], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


@pytest.mark.parametrize("kind", ["video", "audio"])
def test_single_track_publish(live_server: VidlakeServer, tmp_path: Path, kind: str) -> None:
    with live_server.client() as c:
        stream = create_stream(c, reconnect_window=0, new_asset_settings={"playback_policy": ["public"]})
        sid, pid = stream["id"], stream["playback_ids"][0]["id"]
        pub = _publish_one_track(f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{stream['stream_key']}", kind, 5)
        try:
            wait_for(lambda: stream_status(c, sid)["status"] == "active", "status active")
            url, media = wait_for(lambda: (lambda r: r if len(r[1].segments) >= 2 else None)(
                fetch_media_playlist(live_server.url, pid)), "two live segments")
            base = url.rsplit("/", 1)[0]
            for n, seg in enumerate(media.segments):
                path = tmp_path / f"{n}.ts"
                path.write_bytes(httpx.get(f"{base}/{seg.uri}", timeout=10).raise_for_status().content)
                with av.open(str(path)) as container:
                    assert [s.type for s in container.streams] == [kind]
                    stream_ = container.streams.video[0] if kind == "video" else container.streams.audio[0]
                    assert sum(1 for _ in container.decode(stream_)) > 0
                assert 0.5 <= seg.duration <= 1.5
        finally:
            assert pub.wait(60) == 0, pub.stderr.read() if pub.stderr else ""
        wait_for(lambda: stream_status(c, sid)["status"] == "idle", "status idle")
        asset_id = stream_status(c, sid)["recent_asset_ids"][-1]
        asset = wait_for(lambda: (lambda a: a if a["status"] != "preparing" else None)(
            c.get(f"/video/v1/assets/{asset_id}").json()["data"]), "recording ready")
    assert asset["status"] == "ready" and 3.0 <= asset["duration"] <= 6.5, asset
