"""Smart cover against a clip with known segments: black, blurred face, sharp photo without a face,
sharp face, fade to black. The cover must land on a steady frame of the sharp face."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data as skimage_data
from face_media import write_rgb_video

from vidlake.analyze.base import run_analysers
from vidlake.analyze.cover import SmartCover, laplacian_variance
from vidlake.analyze.faces import FaceDetector

W, H, FPS = 640, 360, 25


def face_frame() -> np.ndarray:
    canvas = np.full((H, W, 3), (90, 110, 130), np.uint8)
    canvas[20:340, 160:480] = cv2.resize(skimage_data.astronaut(), (320, 320), interpolation=cv2.INTER_AREA)
    return canvas


# Segments (seconds): black [0, 1), blurred face [1, 2), sharp coffee [2, 3), sharp face [3, 4.2),
# fade of the face to black [4.2, 4.8).
SHARP_FACE = (3.0, 4.2)


@pytest.fixture(scope="module")
def cover_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    face = face_frame()
    blurred = cv2.GaussianBlur(face, (0, 0), 6)
    coffee = np.ascontiguousarray(cv2.resize(skimage_data.coffee(), (W, H), interpolation=cv2.INTER_AREA))
    frames = [np.zeros((H, W, 3), np.uint8)] * FPS + [blurred] * FPS + [coffee] * FPS + [face] * 30
    frames += [(face * (1 - (i + 1) / 15)).astype(np.uint8) for i in range(15)]
    return write_rgb_video(tmp_path_factory.mktemp("cover") / "cover.mp4", frames)


def test_test_clip_is_what_it_claims() -> None:
    """The no-face photo is sharper than the face photo, so only the face term can pick the face."""
    coffee = cv2.resize(skimage_data.coffee(), (W, H), interpolation=cv2.INTER_AREA)
    grey = lambda rgb: cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)  # noqa: E731
    face = face_frame()
    assert laplacian_variance(grey(coffee)) > 0.5 * laplacian_variance(grey(face))
    assert laplacian_variance(grey(cv2.GaussianBlur(face, (0, 0), 6))) < 0.2 * laplacian_variance(grey(face))


def test_cover_prefers_the_sharp_face(cover_clip: Path) -> None:
    out = run_analysers(cover_clip, [SmartCover()])["cover"]
    assert SHARP_FACE[0] <= out["time"] < SHARP_FACE[1], out
    assert out["breakdown"]["face_count"] >= 1
    times = [c["time"] for c in out["candidates"]]
    assert len(times) >= 3
    assert all(abs(a - b) >= 1.0 - 1e-6 for i, a in enumerate(times) for b in times[i + 1:])
    for c in out["candidates"]:
        assert not c["time"] < 1.0 or c["score"] == 0.0  # black frames are rejected outright


def test_scores_reject_black_and_fade(cover_clip: Path) -> None:
    cover = SmartCover(faces=False)
    run_analysers(cover_clip, [cover])
    parts = cover.scores()
    t = np.array(cover.times)
    score = parts["score"]
    black = t < 0.95
    fade = (t > 4.3) & (t < 4.75)
    steady_coffee = (t > 2.2) & (t < 2.8)
    steady_face = (t > 3.2) & (t < 4.0)
    assert black.any() and fade.any() and steady_face.any()
    assert np.all(score[black] == 0.0)
    assert score[fade].max() < 0.6 * score[steady_face].min()
    # blurred frames lose to the sharp ones on sharpness
    blurred = (t > 1.2) & (t < 1.8)
    assert parts["sharpness"][blurred].max() < parts["sharpness"][steady_face].min()
    # without faces, the best is a steady sharp frame (coffee or face), never black/blur/fade
    best = float(t[np.argmax(score)])
    assert bool(steady_coffee[np.argmax(score)] or steady_face[np.argmax(score)]), best


def test_shared_face_detector(cover_clip: Path) -> None:
    """One detector for both results: the cover reads the faces found by the run's detector."""
    faces = FaceDetector()
    out = run_analysers(cover_clip, [faces, SmartCover(faces=faces)])
    assert SHARP_FACE[0] <= out["cover"]["time"] < SHARP_FACE[1]
    assert any(f["faces"] for f in out["faces"]["frames"])


def test_registered_kind() -> None:
    from vidlake.analyze.registry import frame_factory

    factory = frame_factory("cover")
    assert factory is not None and isinstance(factory(), SmartCover)
