"""Live clipping end to end: a real ffmpeg publisher over RTMP into a recorded live stream of a real
``vidlake serve``, then an edit whose clip takes 2 s of the recording (``"src": "live:<id>"``)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from services import VidlakeServer

from vidlake.ffmpeg import ffmpeg_exe

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rtmp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VidlakeServer]:
    server = VidlakeServer(tmp_path_factory.mktemp("edit-live"), rtmp=True, workers=1).start()
    yield server
    server.stop()


def publish(url: str, seconds: float) -> subprocess.Popen[bytes]:
    """A real-time ffmpeg publisher: 320x180 testsrc2 + sine, H.264 (1 s GOP) + AAC."""
    argv = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re",
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv", url]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(fn: Any, what: str, timeout_s: float = 60.0) -> Any:
    """Poll ``fn()`` until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def clip_edit(src: str, trim: float, length: float) -> dict[str, Any]:
    return {"timeline": {"tracks": [{"clips": [
                {"asset": {"type": "video", "src": src, "trim": trim}, "start": 0, "length": length}]}]},
            "output": {"resolution": {"width": 320, "height": 180}, "fps": 25}, "preview": True}


def create_stream(c: httpx.Client, **extra: Any) -> dict[str, Any]:
    r = c.post("/video/v1/live-streams", json={"playback_policy": ["public"], "latency_mode": "low", **extra})
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def errors_of(r: httpx.Response) -> str:
    assert r.status_code == 400, r.text
    return str(r.json()["error"]["messages"])


def test_live_source_errors(rtmp_server: VidlakeServer) -> None:
    with rtmp_server.client() as c:
        text = errors_of(c.post("/video/v1/edits", json=clip_edit("live:nope", 0, 1)))
        assert "timeline.tracks[0].clips[0].asset.src" in text and "no live stream 'nope'" in text
        plain = create_stream(c)
        text = errors_of(c.post("/video/v1/edits", json=clip_edit(f"live:{plain['id']}", 0, 1)))
        assert "timeline.tracks[0].clips[0].asset.src" in text and "not recorded" in text
        idle = create_stream(c, new_asset_settings={"playback_policy": ["public"]})
        text = errors_of(c.post("/video/v1/edits", json=clip_edit(f"live:{idle['id']}", 0, 1)))
        assert "has not recorded anything yet" in text


def test_clip_from_live_recording(rtmp_server: VidlakeServer, tmp_path: Path) -> None:
    with rtmp_server.client() as c:
        stream = create_stream(c, reconnect_window=0, new_asset_settings={"playback_policy": ["public"]})
        sid, src = stream["id"], f"live:{stream['id']}"
        pub = publish(f"rtmp://127.0.0.1:{rtmp_server.rtmp_port}/live/{stream['stream_key']}", seconds=6)
        try:
            wait_for(lambda: c.get(f"/video/v1/live-streams/{sid}").json()["data"]["status"] == "active",
                     "stream active")
            # Only ~6 s are ever published: 30 s is past what is recorded, reported at the clip's length.
            text = errors_of(c.post("/video/v1/edits", json=clip_edit(src, 1, 30)))
            assert "timeline.tracks[0].clips[0].length" in text and "runs past the end" in text
            # Accepted once 3 s are recorded (from the DVR window while live, else from the recording).
            created = wait_for(lambda: (lambda r: r.json()["data"] if r.status_code == 201 else None)(
                c.post("/video/v1/edits", json=clip_edit(src, 1, 2))), "3 s recorded")
        finally:
            assert pub.wait(60) == 0, pub.stderr.read() if pub.stderr else ""
        assert created["duration"] == pytest.approx(2.0)
        edit = wait_for(lambda: (lambda e: e if e["status"] not in ("queued", "rendering") else None)(
            c.get(f"/video/v1/edits/{created['id']}").json()["data"]), "edit rendered")
        assert edit["status"] == "completed", edit
        asset = wait_for(lambda: (lambda a: a if a["status"] != "preparing" else None)(
            c.get(f"/video/v1/assets/{edit['asset_id']}").json()["data"]), "edit asset ready")
        assert asset["status"] == "ready", asset
        assert asset["duration"] == pytest.approx(2.0, abs=0.15)
        pid = asset["playback_ids"][0]["id"]
        # The clip decodes: ~2 s of 25 fps video.
        mp4 = tmp_path / "clip.mp4"
        r = httpx.get(f"{rtmp_server.url}/{pid}.m3u8", timeout=10)
        assert r.status_code == 200
        subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-i", f"{rtmp_server.url}/{pid}.m3u8",
                        "-c", "copy", "-y", str(mp4)], check=True, timeout=60)
        with av.open(str(mp4)) as container:
            frames = sum(1 for _ in container.decode(video=0))
        assert 45 <= frames <= 55
