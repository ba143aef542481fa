"""Face detection and tracking against ground truth: the astronaut photo of scikit-image placed at
known positions on a 640x360 canvas (its face box was labelled by hand on the 512x512 photo)."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data as skimage_data
from face_media import write_rgb_video

from vidlake.analyze.base import run_analysers
from vidlake.analyze.faces import FaceDetector, iou

W, H, FPS = 640, 360, 25
FACE_512 = (176.0, 56.0, 272.0, 172.0)  # hand-labelled face box in skimage.data.astronaut(), pixels


def astronaut(size: int) -> np.ndarray:
    """The astronaut photo scaled to ``size`` x ``size`` pixels (RGB)."""
    return np.asarray(cv2.resize(skimage_data.astronaut(), (size, size), interpolation=cv2.INTER_AREA))


def place(canvas: np.ndarray, photo: np.ndarray, x: int, y: int) -> tuple[float, float, float, float]:
    """Paste ``photo`` at (x, y) (clipped to the canvas); return the true face box in pixels."""
    h, w = photo.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(canvas.shape[1], x + w), min(canvas.shape[0], y + h)
    canvas[y0:y1, x0:x1] = photo[y0 - y:y1 - y, x0 - x:x1 - x]
    s = w / 512.0
    return (x + FACE_512[0] * s, y + FACE_512[1] * s, x + FACE_512[2] * s, y + FACE_512[3] * s)


def moving_face(path: Path, seconds: float = 3.0) -> dict[float, tuple[float, float, float, float]]:
    """A face crossing the frame left to right at 120 px/s; returns {frame time: true face box px}."""
    photo = astronaut(256)
    truth: dict[float, tuple[float, float, float, float]] = {}
    frames = []
    for i in range(int(seconds * FPS)):
        t = i / FPS
        canvas = np.full((H, W, 3), (60, 80, 100), np.uint8)
        truth[round(t, 3)] = place(canvas, photo, round(10 + 120 * t), 50)
        frames.append(canvas)
    write_rgb_video(path, frames)
    return truth


def norm(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return (box[0] / W, box[1] / H, box[2] / W, box[3] / H)


def nearest(truth: dict[float, tuple[float, float, float, float]], t: float) -> tuple[float, float, float, float]:
    key = min(truth, key=lambda k: abs(k - t))
    return truth[key]


@pytest.fixture(scope="module")
def moving_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[float, tuple[float, ...]]]:
    path = tmp_path_factory.mktemp("faces") / "moving.mp4"
    return path, moving_face(path)


@pytest.mark.parametrize("backend", ["mediapipe", "haar"])
def test_boxes_overlap_the_true_face(moving_clip: tuple[Path, dict], backend: str) -> None:
    path, truth = moving_clip
    out = run_analysers(path, [FaceDetector(backend=backend)])["faces"]
    assert out["backend"] == backend
    frames = out["frames"]
    assert len(frames) >= 10  # ~8 samples per second over 3 s
    hits = 0
    for f in frames:
        gt = norm(nearest(truth, f["time"]))
        best = max((iou(tuple(face["box"]), gt) for face in f["faces"]), default=0.0)
        hits += best > 0.3
        # no false positives far from the face
        assert all(iou(tuple(face["box"]), gt) > 0.1 for face in f["faces"])
    assert hits / len(frames) >= 0.9


def test_tracks_are_continuous_for_a_moving_face(moving_clip: tuple[Path, dict]) -> None:
    path, truth = moving_clip
    out = run_analysers(path, [FaceDetector()])["faces"]
    tracks = out["tracks"]
    assert len(tracks) == 1, [(t["start"], t["end"]) for t in tracks]
    track = tracks[0]
    times = [b["time"] for b in track["boxes"]]
    assert track["start"] <= 0.3 and track["end"] >= 2.6
    assert max(np.diff(times)) <= 0.5
    centres = [(b["box"][0] + b["box"][2]) / 2 for b in track["boxes"]]
    assert all(b > a for a, b in itertools.pairwise(centres))  # moves right
    for b in track["boxes"]:
        assert iou(tuple(b["box"]), norm(nearest(truth, b["time"]))) > 0.3


def test_zoom_and_no_face(tmp_path: Path) -> None:
    """A Ken Burns zoom on the face is followed; a face-free photo (coffee) yields nothing."""
    truth: dict[float, tuple[float, float, float, float]] = {}
    frames = []
    for i in range(50):
        t = i / FPS
        size = int(200 + 80 * t)  # 200 -> 280 px
        canvas = np.full((H, W, 3), 30, np.uint8)
        truth[round(t, 3)] = place(canvas, astronaut(size), 300 - size // 2, 20)
        frames.append(canvas)
    coffee = cv2.resize(skimage_data.coffee(), (W, H))
    frames += [np.roll(coffee, 3 * i, axis=1) for i in range(25)]
    path = write_rgb_video(tmp_path / "zoom.mp4", frames)
    out = run_analysers(path, [FaceDetector()])["faces"]
    face_part = [f for f in out["frames"] if f["time"] < 1.95]
    empty_part = [f for f in out["frames"] if f["time"] >= 2.05]
    assert face_part and empty_part
    for f in face_part:
        assert max((iou(tuple(x["box"]), norm(nearest(truth, f["time"]))) for x in f["faces"]), default=0) > 0.3
    assert all(not f["faces"] for f in empty_part)


def test_registered_kind() -> None:
    from vidlake.analyze.registry import frame_factory

    factory = frame_factory("faces")
    assert factory is not None and isinstance(factory(), FaceDetector)
