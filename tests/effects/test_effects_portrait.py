"""Quality of beautify and sticker on a real face (the astronaut, moving), thresholds from issue 14."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from effects_media import FPS, apply, read_frames, write
from face_media import astronaut
from skimage.metrics import structural_similarity

from vidlake.effects import landmarks as lm
from vidlake.effects.beautify import skin_mask

W, H = 640, 360


@pytest.fixture(scope="module")
def portrait_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 frames of the astronaut's face large (about 170 px wide), drifting 2 px a frame."""
    big = astronaut(900)
    frames = [np.ascontiguousarray(big[40:40 + H, 130 + 2 * i:130 + 2 * i + W]) for i in range(12)]
    return write(tmp_path_factory.mktemp("portrait") / "portrait.mp4", frames, FPS)


@pytest.fixture(scope="module")
def mesh():  # type: ignore[no-untyped-def]
    import mediapipe as mp

    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as fm:
        def points(frame: np.ndarray) -> np.ndarray:
            res = fm.process(frame)
            assert res.multi_face_landmarks, "no face found"
            return np.array([(p.x * frame.shape[1], p.y * frame.shape[0])
                             for p in res.multi_face_landmarks[0].landmark], np.float32)
        yield points


def _grey(f: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _hf(f: np.ndarray, where: np.ndarray) -> float:
    g = _grey(f)
    return float(((g - cv2.GaussianBlur(g, (0, 0), 2.0)) ** 2)[where].mean())


def _edges(f: np.ndarray, where: np.ndarray) -> float:
    g = _grey(f)
    return float(np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))[where].mean())


def test_beautify_smooths_skin_keeps_features_and_surroundings(portrait_clip: Path, mesh, tmp_path: Path) -> None:
    src = read_frames(portrait_clip)
    out = read_frames(apply(portrait_clip, tmp_path / "b.mp4", [{"type": "beautify", "smooth": 0.6}]))
    assert len(out) == len(src)
    for i in (4, 8, 11):
        pts = mesh(src[i])
        face_w = lm.face_width(pts)
        skin = skin_mask(src[i], pts, face_w) > 0.9
        assert skin.sum() > 2000  # the measure covers real skin
        drop = 1 - _hf(out[i], skin) / _hf(src[i], skin)
        assert drop >= 0.30, (i, drop)
        face = lm.region_mask(src[i].shape[:2], pts, lm.FACE_OVAL, grow=0.2).astype(bool)
        _, ssim = structural_similarity(_grey(src[i]), _grey(out[i]), data_range=255, full=True)
        assert ssim[~face].mean() >= 0.98
        for region in (lm.LEFT_EYE, lm.RIGHT_EYE, lm.LIPS):
            where = lm.region_mask(src[i].shape[:2], pts, region).astype(bool)
            assert _edges(out[i], where) >= 0.9 * _edges(src[i], where), region


def test_slim_moves_the_jaw_inward_by_the_fraction(portrait_clip: Path, mesh, tmp_path: Path) -> None:
    src = read_frames(portrait_clip)
    out = read_frames(apply(portrait_clip, tmp_path / "s.mp4", [{"type": "beautify", "smooth": 0, "brighten": 0,
                                                                 "whiten": 0, "slim": 0.6}]))
    ratios = []
    for i in (6, 9, 11):
        a, b = mesh(src[i]), mesh(out[i])
        ratios.append(np.linalg.norm(b[172] - b[397]) / np.linalg.norm(a[172] - a[397]))
    expected = 1 - 0.10 * 0.6
    assert abs(float(np.mean(ratios)) - expected) <= 0.025, ratios


def test_sticker_follows_the_nose(portrait_clip: Path, mesh, tmp_path: Path) -> None:
    sticker = np.zeros((40, 40, 4), np.uint8)
    sticker[:, :, 0], sticker[:, :, 3] = 255, 255  # opaque pure red
    png = tmp_path / "red.png"
    cv2.imwrite(str(png), cv2.cvtColor(sticker, cv2.COLOR_RGBA2BGRA))
    src = read_frames(portrait_clip)
    out = read_frames(apply(portrait_clip, tmp_path / "st.mp4",
                            [{"type": "sticker", "src": "asset:red", "anchor": "nose", "scale": 0.3}],
                            load=lambda s: png))
    for i in (3, 11):
        pts = mesh(src[i])
        red = (out[i][:, :, 0] > 200) & (out[i][:, :, 1] < 60) & (out[i][:, :, 2] < 60)
        ys, xs = np.nonzero(red)
        assert len(xs) > 0.5 * (0.3 * lm.face_width(pts)) ** 2  # about the requested size
        centre = np.array([xs.mean(), ys.mean()])
        assert np.linalg.norm(centre - pts[lm.NOSE_TIP]) < 0.08 * lm.face_width(pts)
