"""Auto-reframe against ground truth: a face crossing a 640x360 frame must stay whole inside the
planned 9:16 / 1:1 window, the window must move smoothly, and the render must follow the plan."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import skimage.data as skimage_data
from face_media import write_rgb_video

from vidlake.analyze.base import run_analysers
from vidlake.analyze.crop_plan import crop_size, parse_aspect, plan_crop
from vidlake.analyze.faces import FaceDetector
from vidlake.analyze.reframe import reframe

W, H, FPS, SECONDS = 640, 360, 25, 3.2
FACE_512 = (176.0, 56.0, 272.0, 172.0)  # hand-labelled face box in skimage.data.astronaut(), pixels
PHOTO = 240


def face_x(t: float) -> int:
    """Left edge (pixels) of the photo at time t: right, then back left (a face crossing the frame)."""
    return round(10 + 300 * t if t < 1.3 else 400 - 110 * (t - 1.3))


def true_box(t: float) -> tuple[float, float, float, float]:
    s = PHOTO / 512.0
    x, y = face_x(t), 60
    return (x + FACE_512[0] * s, y + FACE_512[1] * s, x + FACE_512[2] * s, y + FACE_512[3] * s)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    photo = np.asarray(cv2.resize(skimage_data.astronaut(), (PHOTO, PHOTO), interpolation=cv2.INTER_AREA))
    ramp = np.linspace(40, 160, W).astype(np.uint8)  # a textured background, so a wrong crop shows
    frames = []
    for i in range(int(SECONDS * FPS)):
        canvas = np.empty((H, W, 3), np.uint8)
        canvas[:, :, 0] = ramp[None, :]
        canvas[:, :, 1] = 90
        canvas[:, :, 2] = ramp[::-1][None, :]
        x = face_x(i / FPS)
        canvas[60:60 + PHOTO, x:x + PHOTO] = photo
        frames.append(canvas)
    return write_rgb_video(tmp_path_factory.mktemp("reframe") / "clip.mp4", frames, crf=18)


@pytest.fixture(scope="module")
def faces(clip: Path) -> dict:
    return run_analysers(clip, [FaceDetector()])["faces"]


def frame_times() -> np.ndarray:
    return np.arange(int(SECONDS * FPS)) / FPS


@pytest.mark.parametrize("aspect", ["9:16", "1:1"])
def test_plan_keeps_the_face_inside_without_jitter(faces: dict, aspect: str) -> None:
    plan = plan_crop(W, H, SECONDS, aspect, faces_result=faces)
    cw, ch = plan.crop_width, plan.crop_height
    assert (cw, ch) == crop_size(W, H, parse_aspect(aspect))
    assert ch == H and abs(cw / ch - parse_aspect(aspect)) < 0.02
    ts = frame_times()
    xs, ys = plan.at(ts)
    boxes = np.array([true_box(t) for t in ts])
    inside = (xs <= boxes[:, 0] + 1) & (xs + cw >= boxes[:, 2] - 1) & (ys <= boxes[:, 1]) & (ys + ch >= boxes[:, 3])
    assert inside.mean() >= 0.95, ts[~inside]
    assert np.all((xs >= 0) & (xs + cw <= W))
    # no jitter: the face moves up to 12 px per frame; the window never jumps more than that
    assert np.abs(np.diff(xs)).max() <= 14.0
    # and it follows: the window centre moves with the face centre
    face_centre = (boxes[:, 0] + boxes[:, 2]) / 2
    assert np.corrcoef(xs + cw / 2, face_centre)[0, 1] > (0.8 if aspect == "9:16" else 0.5)


def test_static_face_gives_a_locked_window(faces: dict) -> None:
    """Detector noise on a still face must not move the window at all."""
    rng = np.random.default_rng(1)
    box = np.array(true_box(0.0)) / [W, H, W, H]
    frames = [{"time": t, "faces": [{"box": list(box + rng.normal(0, 0.004, 4)), "score": 0.9, "track": 0}]}
              for t in np.arange(0, 3, 0.125)]
    result = {"sample_fps": 8.0, "frames": frames,
              "tracks": [{"id": 0, "start": 0.0, "end": frames[-1]["time"], "count": len(frames),
                          "boxes": [{"time": f["time"], **f["faces"][0]} for f in frames]}]}
    plan = plan_crop(W, H, 3.0, "9:16", faces_result=result)
    xs, _ = plan.at(np.arange(0, 3, 0.04))
    assert np.ptp(xs) < 0.5
    assert xs[0] <= box[0] * W and xs[0] + plan.crop_width >= box[2] * W


def test_no_faces_falls_back_to_centre_or_motion(faces: dict) -> None:
    plan = plan_crop(W, H, 2.0, "9:16", faces_result={"sample_fps": 8.0, "frames": [], "tracks": []})
    xs, _ = plan.at(np.arange(0, 2, 0.04))
    assert np.allclose(xs, (W - plan.crop_width) / 2, atol=1)
    motion = {"samples": [{"time": t, "x": 0.85, "y": 0.5, "strength": 0.05} for t in np.arange(0, 2, 0.1)]}
    plan = plan_crop(W, H, 2.0, "9:16", motion_result=motion)
    xs, _ = plan.at(np.arange(0.5, 2, 0.04))
    centre = xs + plan.crop_width / 2
    assert np.all(np.abs(centre - min(0.85 * W, W - plan.crop_width / 2)) < 25)


def test_render_follows_the_plan(clip: Path, faces: dict, tmp_path: Path) -> None:
    out = tmp_path / "vertical.mp4"
    result = reframe(clip, out, "9:16", faces_result=faces)
    assert out.is_file() and result.path == out
    assert result.face_fraction > 0.9
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (result.width, result.height)
        assert abs(result.width / result.height - 9 / 16) < 0.02
        decoded = [(float(f.time), f.to_ndarray(format="rgb24")) for f in container.decode(stream)]
    assert len(decoded) >= int(SECONDS * FPS) - 2
    face_patch = None
    photo = np.asarray(cv2.resize(skimage_data.astronaut(), (PHOTO, PHOTO), interpolation=cv2.INTER_AREA))
    s = PHOTO / 512.0
    face_patch = photo[int(FACE_512[1] * s):int(FACE_512[3] * s), int(FACE_512[0] * s):int(FACE_512[2] * s)]
    found = 0
    checked = 0
    for t, img in decoded[::5]:
        x, _ = result.plan.at(t)
        # the face appears in the output where the plan puts it
        score = cv2.matchTemplate(img, np.ascontiguousarray(face_patch), cv2.TM_CCOEFF_NORMED)
        _, best, _, loc = cv2.minMaxLoc(score)
        bx0 = true_box(t)[0] - float(x[0])
        checked += 1
        found += best > 0.7 and abs(loc[0] - bx0) <= 4
    assert found / checked >= 0.95, (found, checked)


def test_reframe_analyses_when_not_given_faces(clip: Path, tmp_path: Path) -> None:
    result = reframe(clip, tmp_path / "square.mp4", "1:1")
    assert (result.width, result.height) == (360, 360)
    assert result.face_fraction > 0.9
