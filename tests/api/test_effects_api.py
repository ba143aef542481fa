"""Effects as an asset job over the API: a ready asset becomes a NEW asset with the effects applied
(faces hidden), linked back by passthrough; bad requests are 400s naming the field."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from face_media import astronaut
from media import FileServer
from services import VidlakeServer
from test_assets import wait_asset
from test_reframe_api import frames_at

from vidlake.analyze.faces import MediaPipeBackend
from vidlake.ffmpeg import ffmpeg_exe

pytestmark = pytest.mark.slow

W, H, FPS, SECONDS = 640, 360, 25, 2.0


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    """``face.mp4`` (the astronaut drifting right, with a tone) and ``tone.m4a`` (audio only)."""
    root = tmp_path_factory.mktemp("effects-api")
    proc = subprocess.Popen(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}",
         "-r", str(FPS), "-i", "pipe:0", "-f", "lavfi", "-i", f"sine=f=440:d={SECONDS}",
         "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(root / "face.mp4")],
        stdin=subprocess.PIPE,
    )
    assert proc.stdin is not None
    pic = astronaut(300)
    for i in range(int(SECONDS * FPS)):
        canvas = np.full((H, W, 3), 70, np.uint8)
        canvas[H - 300:, 40 + 3 * i:340 + 3 * i] = pic
        proc.stdin.write(canvas.tobytes())
    proc.stdin.close()
    assert proc.wait(timeout=120) == 0
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=330:d=1", "-c:a", "aac",
                    str(root / "tone.m4a")], check=True)
    server = FileServer(root)
    yield server
    server.close()


def wait_effects(client: httpx.Client, job_id: str, timeout_s: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    data: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = client.get(f"/video/v1/effects/{job_id}")
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        if data["status"] in ("succeeded", "failed", "dead", "cancelled"):
            return data
        time.sleep(0.2)
    raise AssertionError(f"effects {job_id} did not finish: {data}")


def test_effects_job_makes_a_new_asset_with_faces_hidden(server: VidlakeServer, clips: FileServer) -> None:
    with server.client() as c:
        source = c.post("/video/v1/assets", json={"input": [{"url": f"{clips.url}/face.mp4"}],
                                                  "playback_policy": ["public"],
                                                  "mp4_support": "capped-1080p"}).json()["data"]
        assert wait_asset(c, source["id"])["status"] == "ready"
        r = c.post(f"/video/v1/assets/{source['id']}/effects",
                   json={"effects": [{"type": "face_blur", "style": "mosaic"}, {"type": "denoise"}]})
        assert r.status_code == 202, r.text
        done = wait_effects(c, r.json()["data"]["job_id"])
        assert done["status"] == "succeeded", done
        assert done["progress"] == 100
        assert done["effects"][0] == {"type": "face_blur", "style": "mosaic", "strength": 0.8, "margin": 0.25,
                                      "keep_largest": False, "color": "#000000"}
        asset = wait_asset(c, done["asset_id"])
        assert asset["status"] == "ready", asset
        assert asset["passthrough"] == source["id"]
        assert asset["duration"] == pytest.approx(SECONDS, abs=0.25)
        assert any(t["type"] == "audio" for t in asset["tracks"])
        files = [f for f in asset["static_renditions"]["files"] if f.get("status") == "ready"]
        mp4 = httpx.get(f"{server.url}/{asset['playback_ids'][0]['id']}/{files[0]['name']}", timeout=30)
        assert mp4.status_code == 200
        detector = MediaPipeBackend()
        frames = frames_at(mp4.content, [0.2, 0.8, 1.4, 1.8])
        assert len(frames) == 4
        found = [detector.detect(f) for f in frames]
        assert not any(found), found


def test_effects_requests_are_validated(server: VidlakeServer, clips: FileServer) -> None:
    with server.client() as c:
        r = c.post("/video/v1/assets/nope/effects", json={"effects": [{"type": "beautify", "smooth": 3}]})
        assert r.status_code == 400
        assert r.json()["error"]["messages"] == ["effects[0].smooth: must be <= 1"]
        r = c.post("/video/v1/assets/nope/effects", json={"effects": [{"type": "glitter"}]})
        assert r.status_code == 400 and r.json()["error"]["messages"][0].startswith("effects[0].type:")
        assert c.post("/video/v1/assets/nope/effects", json={"effects": [{"type": "denoise"}]}).status_code == 404
        audio = c.post("/video/v1/assets", json={"input": [{"url": f"{clips.url}/tone.m4a"}],
                                                 "playback_policy": ["public"]}).json()["data"]
        assert wait_asset(c, audio["id"])["status"] == "ready"
        r = c.post(f"/video/v1/assets/{audio['id']}/effects", json={"effects": [{"type": "denoise"}]})
        assert r.status_code == 400 and r.json()["error"]["messages"][0].startswith("asset_id:")
        video = c.post("/video/v1/assets", json={"input": [{"url": f"{clips.url}/face.mp4"}],
                                                 "playback_policy": ["public"]}).json()["data"]
        assert wait_asset(c, video["id"])["status"] == "ready"
        r = c.post(f"/video/v1/assets/{video['id']}/effects",
                   json={"effects": [{"type": "background", "mode": "replace", "src": "asset:elsewhere"}]})
        assert r.status_code == 400
        assert r.json()["error"]["messages"][0].startswith("effects[0].src: cannot use 'asset:elsewhere'")
        assert c.get("/video/v1/effects/nope").status_code == 404
