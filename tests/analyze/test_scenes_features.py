"""The shot features' fast numpy forms agree with their plain definitions."""

from __future__ import annotations

import numpy as np
import pytest

from vidlake.analyze import shot_features as sf


def _frames(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("shape", [(3, 60, 107, 3), (2, 72, 128, 3), (2, 160, 285, 3), (1, 5, 9, 3),
                                   (1, 1200, 1100, 3)])
def test_thumbnails_are_rounded_block_means(shape: tuple[int, ...]) -> None:
    frames = _frames(shape)
    b, h, w, _ = shape
    k = max(1, w // sf.THUMB_W)
    rows, cols = max(1, h // k), w // k
    kh = min(k, h)
    blocks = frames[:, : rows * kh, : cols * k].reshape(b, rows, kh, cols, k, 3).astype(np.float64)
    expected = np.floor(blocks.mean(axis=(2, 4)) + 0.5).astype(np.uint8)
    assert np.array_equal(sf.thumbnails(frames), expected)


def test_thumb_distance_is_the_mean_absolute_difference() -> None:
    a, b = _frames((20, 300), 1), _frames((20, 300), 2)
    expected = np.abs(a.astype(np.float64) - b).mean(axis=1) / 255.0
    got = sf.thumb_distance(a, b)
    assert got.dtype == np.float32
    assert np.allclose(got, expected, rtol=1e-6)
    assert sf.thumb_distance(a[0], a[0]) == 0.0


def test_batch_features_match_their_definitions() -> None:
    frames = _frames((4, 30, 40, 3), 3)
    hists, luma, lit, edges, yi = sf._batch(frames, full_range=False)
    y = frames[..., 0].astype(np.int64)
    steps = np.abs(np.diff(y, axis=2))
    for i in range(4):
        luma_h = np.bincount(y[i].ravel() >> 3, minlength=sf.LUMA_BINS) / y[i].size
        cb = (np.clip(frames[i, ..., 1].astype(np.int64), 64, 191) - 64) >> 4
        cr = (np.clip(frames[i, ..., 2].astype(np.int64), 64, 191) - 64) >> 4
        chroma_h = np.bincount((cb * sf.CHROMA_BINS + cr).ravel(), minlength=sf.CHROMA_BINS**2) / y[i].size
        tex_h = np.bincount(sf._TEXTURE_LUT[steps[i].ravel()], minlength=sf.TEXTURE_BINS) / steps[i].size
        assert np.allclose(hists[i], np.concatenate([luma_h, chroma_h, tex_h]), atol=1e-6)
        assert luma[i] == pytest.approx((y[i].mean() - 16.0) / 219.0, abs=1e-6)
        assert edges[i] == pytest.approx(steps[i].mean() / 255.0, abs=1e-6)
        assert lit[i] == pytest.approx(hists[i, (int(16 + sf.BRIGHT_LEVEL * 219) >> 3) + 1 : sf.LUMA_BINS].sum())
    assert np.array_equal(yi, frames[..., 0].astype(np.int16))
