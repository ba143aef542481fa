"""Auto-reframe over the API: a ready landscape asset with a face crossing it becomes a NEW portrait
asset (9:16) whose frames still show the face; bad requests are refused."""

from __future__ import annotations

import io
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import httpx
import numpy as np
import pytest
import skimage.data as skimage_data
from media import FileServer
from services import VidlakeServer
from test_assets import wait_asset

from vidlake.ffmpeg import ffmpeg_exe

pytestmark = pytest.mark.slow

W, H, FPS, SECONDS = 640, 360, 25, 3.0
PHOTO = 240  # the astronaut photo is scaled to PHOTO x PHOTO pixels
FACE_512 = (176, 56, 272, 172)  # hand-labelled face box in skimage.data.astronaut() (512 px), pixels
TOP = 60  # y of the photo's top edge in the frame, pixels


def photo() -> np.ndarray:
    """The astronaut photo at PHOTO x PHOTO pixels (RGB)."""
    return np.asarray(cv2.resize(skimage_data.astronaut(), (PHOTO, PHOTO), interpolation=cv2.INTER_AREA))


def face_patch() -> np.ndarray:
    """The face region of :func:`photo` (RGB), the template the reframed frames must contain."""
    s = PHOTO / 512.0
    x0, y0, x1, y1 = (round(v * s) for v in FACE_512)
    return photo()[y0:y1, x0:x1]


def photo_left(t: float) -> int:
    """Left edge of the photo at time ``t`` seconds: left to right across the frame (pixels)."""
    return round(10 + (W - PHOTO - 20) * min(1.0, t / SECONDS))


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    """A 3 s 640x360 H.264/AAC clip: the astronaut's face moves left to right over a gradient."""
    root = tmp_path_factory.mktemp("reframe-api")
    ramp = np.linspace(40, 160, W).astype(np.uint8)
    pic = photo()
    proc = subprocess.Popen(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}",
         "-r", str(FPS), "-i", "pipe:0", "-f", "lavfi", "-i", f"sine=f=440:d={SECONDS}",
         "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(root / "face.mp4")],
        stdin=subprocess.PIPE,
    )
    assert proc.stdin is not None
    for i in range(int(SECONDS * FPS)):
        canvas = np.empty((H, W, 3), np.uint8)
        canvas[:, :, 0] = ramp[None, :]
        canvas[:, :, 1] = 90
        canvas[:, :, 2] = ramp[::-1][None, :]
        x = photo_left(i / FPS)
        canvas[TOP:TOP + PHOTO, x:x + PHOTO] = pic
        proc.stdin.write(canvas.tobytes())
    proc.stdin.close()
    assert proc.wait(timeout=120) == 0
    server = FileServer(root)
    yield server
    server.close()


def wait_reframe(client: httpx.Client, job_id: str, timeout_s: float = 180) -> dict[str, Any]:
    """Poll the reframe until its job ends."""
    deadline = time.monotonic() + timeout_s
    data: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = client.get(f"/video/v1/reframes/{job_id}")
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        if data["status"] in ("succeeded", "failed", "dead", "cancelled"):
            return data
        time.sleep(0.2)
    raise AssertionError(f"reframe {job_id} did not finish: {data}")


def frames_at(mp4: bytes, times: list[float]) -> list[np.ndarray]:
    """RGB frames (H x W x 3) of an MP4 nearest each time (seconds)."""
    out: list[np.ndarray] = []
    with av.open(io.BytesIO(mp4)) as container:
        stream = container.streams.video[0]
        wanted = list(times)
        for frame in container.decode(stream):
            if frame.time is not None and wanted and frame.time >= wanted[0]:
                out.append(frame.to_ndarray(format="rgb24"))
                wanted.pop(0)
    return out


def face_score(frame: np.ndarray, template: np.ndarray) -> float:
    """Best normalised cross-correlation of the face template in ``frame`` (scaled to 360 px high)."""
    scale = H / frame.shape[0]
    if abs(scale - 1.0) > 1e-3:
        frame = cv2.resize(frame, (round(frame.shape[1] * scale), H), interpolation=cv2.INTER_AREA)
    result = cv2.matchTemplate(frame.astype(np.float32), template.astype(np.float32), cv2.TM_CCOEFF_NORMED)
    return float(result.max())


def test_reframe_makes_a_portrait_asset_that_keeps_the_face(server: VidlakeServer, face_clip: FileServer,
                                                             tmp_path: Path) -> None:
    with server.client() as c:
        source = c.post("/video/v1/assets", json={"input": [{"url": f"{face_clip.url}/face.mp4"}],
                                                  "playback_policy": ["public"], "mp4_support": "capped-1080p",
                                                  "passthrough": "src"}).json()["data"]
        assert wait_asset(c, source["id"])["status"] == "ready"

        r = c.post(f"/video/v1/assets/{source['id']}/reframe", json={"aspect_ratio": "9:16"})
        assert r.status_code == 202, r.text
        queued = r.json()["data"]
        assert queued["source_asset_id"] == source["id"] and queued["aspect_ratio"] == "9:16"
        assert queued["status"] == "queued"
        done = wait_reframe(c, queued["job_id"])
        assert done["status"] == "succeeded", done
        new_id = done["asset_id"]
        assert new_id != source["id"]

        asset = wait_asset(c, new_id)
        assert asset["status"] == "ready", asset
        assert asset["passthrough"] == "src"
        assert [p["policy"] for p in asset["playback_ids"]] == ["public"]
        video = next(t for t in asset["tracks"] if t["type"] == "video")
        assert video["max_height"] > video["max_width"]
        assert video["max_width"] / video["max_height"] == pytest.approx(9 / 16, abs=0.02)
        assert any(t["type"] == "audio" for t in asset["tracks"])
        assert asset["duration"] == pytest.approx(SECONDS, abs=0.25)

        files = [f for f in asset["static_renditions"]["files"] if f.get("status") == "ready"]
        assert files, asset["static_renditions"]
        pid = asset["playback_ids"][0]["id"]
        mp4 = httpx.get(f"{server.url}/{pid}/{files[0]['name']}", timeout=30)
        assert mp4.status_code == 200
        times = [0.4, 1.5, 2.6]
        frames = frames_at(mp4.content, times)
        assert len(frames) == len(times)
        template = face_patch()
        for t, frame in zip(times, frames, strict=True):
            assert frame.shape[0] > frame.shape[1]
            score = face_score(frame, template)
            assert score > 0.8, f"face not found in the reframed frame at {t} s (score {score:.3f})"
        # the source itself does NOT fit the face into a fixed centred 9:16 window all the time:
        # the window must have moved (the face starts near the left edge and ends near the right)
        cw = round(H * 9 / 16)
        centre = (W - cw) // 2
        assert photo_left(0.4) + PHOTO * FACE_512[0] / 512 < centre
        assert photo_left(2.6) + PHOTO * FACE_512[2] / 512 > centre + cw

        # with a stored "faces" analysis, a 1:1 reframe reuses it instead of detecting again
        analysis = c.post("/video/v1/analyses", json={"asset_id": source["id"], "kinds": ["faces"]})
        assert analysis.status_code == 201, analysis.text
        deadline = time.monotonic() + 120
        state = ""
        while time.monotonic() < deadline and state not in ("completed", "errored"):
            state = c.get(f"/video/v1/analyses/{analysis.json()['data']['id']}").json()["data"]["status"]
            time.sleep(0.2)
        assert state == "completed"
        r = c.post(f"/video/v1/assets/{source['id']}/reframe", json={"aspect_ratio": "1:1",
                                                                     "playback_policy": "signed"})
        assert r.status_code == 202, r.text
        square = wait_reframe(c, r.json()["data"]["job_id"])
        assert square["status"] == "succeeded", square
        job = c.get(f"/system/v1/jobs/{square['job_id']}").json()["data"]
        assert job["result"]["reused_faces"] is True and job["result"]["face_fraction"] > 0.5
        asset = wait_asset(c, square["asset_id"])
        assert asset["status"] == "ready", asset
        assert [p["policy"] for p in asset["playback_ids"]] == ["signed"]
        video = next(t for t in asset["tracks"] if t["type"] == "video")
        assert video["max_width"] == pytest.approx(video["max_height"], abs=2)


def test_reframe_requests_are_validated(server: VidlakeServer) -> None:
    with server.client() as c:
        r = c.post("/video/v1/assets/nope/reframe", json={"aspect_ratio": "9:16"})
        assert r.status_code == 404
        r = c.post("/video/v1/assets/nope/reframe", json={"aspect_ratio": "3:7"})
        assert r.status_code == 400
        assert r.json()["error"]["messages"][0].startswith("aspect_ratio:")
        r = c.post("/video/v1/assets/nope/reframe", json={"aspect_ratio": "9:16", "colour": "red"})
        assert r.status_code == 400 and "colour" in r.json()["error"]["messages"][0]
        assert c.get("/video/v1/reframes/nope").status_code == 404
        jobs = c.get("/system/v1/jobs").json()["data"]
        other = next((j for j in jobs if j["kind"] != "asset.reframe"), None)
        if other is not None:  # a job id of another kind is not a reframe
            assert c.get(f"/video/v1/reframes/{other['id']}").status_code == 404


def test_failed_reframe_leaves_no_asset(server: VidlakeServer, face_clip: FileServer) -> None:
    with server.client() as c:
        source = c.post("/video/v1/assets", json={"input": [{"url": f"{face_clip.url}/face.mp4"}],
                                                  "playback_policy": ["public"]}).json()["data"]
        assert wait_asset(c, source["id"])["status"] == "ready"
        stored = [p for p in server.data_dir.rglob("*") if p.is_file() and f"/assets/{source['id']}/source" in
                  p.as_posix()]
        assert stored, "the pulled source file was not found in local storage"
        for path in stored:  # the source file is lost: the reframe cannot succeed
            path.write_bytes(b"not a video")
        before = {a["id"] for a in c.get("/video/v1/assets", params={"limit": 100}).json()["data"]}
        files_before = set(server.data_dir.rglob("reframe-*.mp4"))
        r = c.post(f"/video/v1/assets/{source['id']}/reframe", json={"aspect_ratio": "1:1"})
        assert r.status_code == 202, r.text
        done = wait_reframe(c, r.json()["data"]["job_id"])
        assert done["status"] in ("failed", "dead"), done
        assert "asset_id" not in done and done.get("error")
        after = {a["id"] for a in c.get("/video/v1/assets", params={"limit": 100}).json()["data"]}
        assert after == before
        assert set(server.data_dir.rglob("reframe-*.mp4")) == files_before
