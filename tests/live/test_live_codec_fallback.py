"""A publish with a codec the in-process passthrough muxer does not take (MP3 audio in FLV): ffmpeg copies
the passthrough rung instead, so viewers get both tracks, nothing is dropped, and the recording is ready."""

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


def test_mp3_audio_falls_back_to_ffmpeg_copy(live_server: VidlakeServer, tmp_path: Path) -> None:
    with live_server.client() as c:
        stream = create_stream(c, reconnect_window=0, new_asset_settings={"playback_policy": ["public"]})
        sid, pid = stream["id"], stream["playback_ids"][0]["id"]
        url = f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{stream['stream_key']}"
        pub = subprocess.Popen(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re",
             "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
             "-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
             "-pix_fmt", "yuv420p", "-c:a", "libmp3lame", "-ar", "44100", "-b:a", "64k", "-f", "flv", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: stream_status(c, sid)["status"] == "active", "status active", 30)
            playlist_url, media = wait_for(lambda: (lambda r: r if len(r[1].segments) >= 2 else None)(
                fetch_media_playlist(live_server.url, pid)), "two live segments", 30)
            seg = tmp_path / "seg.ts"
            seg.write_bytes(httpx.get(f"{playlist_url.rsplit('/', 1)[0]}/{media.segments[0].uri}",
                                      timeout=10).raise_for_status().content)
            with av.open(str(seg)) as container:
                codecs = {s.type: s.codec_context.name for s in container.streams}
                frames = sum(1 for _ in container.decode(audio=0))
            assert codecs.get("video") == "h264" and str(codecs.get("audio")).startswith("mp3"), codecs
            assert frames > 0
        finally:
            assert pub.wait(60) == 0, pub.stderr.read() if pub.stderr else ""
        wait_for(lambda: stream_status(c, sid)["status"] == "idle", "status idle", 60)
        asset_id = stream_status(c, sid)["recent_asset_ids"][-1]
        asset = wait_for(lambda: (lambda a: a if a["progress"]["state"] in ("completed", "errored") else None)(
            c.get(f"/video/v1/assets/{asset_id}").json()["data"]), "recording processed", 120)
        assert asset["status"] == "ready" and asset["duration"] >= 4.0, asset
