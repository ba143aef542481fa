"""Quality of the simpler effects, measured against known truth (thresholds a broken effect fails)."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest
from effects_media import FPS, apply, read_frames

from vidlake.analyze.faces import MediaPipeBackend


@pytest.fixture(scope="module")
def detector() -> MediaPipeBackend:
    return MediaPipeBackend(min_score=0.5)


def test_face_blur_hides_faces_and_leaves_the_rest(face_clip, detector, tmp_path: Path) -> None:
    src, _, boxes = face_clip
    before = read_frames(src)
    found_before = sum(bool(detector.detect(f)) for f in before)
    assert found_before >= 0.9 * len(before)  # the detector sees the face in the source
    for style in ("blur", "mosaic"):
        out = read_frames(apply(src, tmp_path / f"{style}.mp4", [{"type": "face_blur", "style": style}]))
        assert len(out) == len(before)
        found_after = sum(bool(detector.detect(f)) for f in out)
        assert found_after <= 0.05 * len(out), (style, found_after)
        for a, b, (x0, y0, x1, y1) in zip(before, out, boxes, strict=True):
            outside = np.ones(a.shape[:2], bool)
            mx, my = (x1 - x0), (y1 - y0)  # twice the margin: the covered box plus slack
            outside[max(0, y0 - my):y1 + my, max(0, x0 - mx):x1 + mx] = False
            diff = np.abs(a.astype(int) - b.astype(int))
            assert diff[outside].mean() < 2.0  # the rest of the frame: coding noise only
            assert diff[y0:y1, x0:x1].mean() > 10.0  # the face really changed


def test_background_replace_matches_the_composite_truth(composite_clip, tmp_path: Path) -> None:
    src, _, truths = composite_clip
    green = np.array([0, 255, 0])
    out = read_frames(apply(src, tmp_path / "bg.mp4", [{"type": "background", "mode": "replace",
                                                       "color": "#00ff00"}]))
    assert len(out) == len(truths)
    person_masks = []
    for i, (frame, truth) in enumerate(zip(out, truths, strict=True)):
        dist = np.abs(frame.astype(int) - green).max(axis=2)
        person = dist > 60
        person_masks.append(person)
        if i < 3:  # the temporal average needs a couple of frames to settle
            continue
        iou = (person & truth).sum() / (person | truth).sum()
        assert iou >= 0.9, (i, iou)
        far = cv2.erode((~truth).astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
        assert (dist[far] < 25).mean() >= 0.99  # outside the person: the replacement, within noise
    for a, b in itertools.pairwise(person_masks[16:]):  # still frames: no flicker
        assert (a != b).mean() < 0.01


def test_background_blur_blurs_only_behind(composite_clip, tmp_path: Path) -> None:
    src, _, truths = composite_clip
    out = read_frames(apply(src, tmp_path / "blur.mp4", [{"type": "background", "mode": "blur", "strength": 0.8}]))
    src_frames = read_frames(src)
    i = 20
    lap = lambda f: np.abs(cv2.Laplacian(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.CV_32F))  # noqa: E731
    far = cv2.erode((~truths[i]).astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool)
    inner = cv2.erode(truths[i].astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool)
    assert lap(out[i])[far].mean() < 0.3 * lap(src_frames[i])[far].mean()
    assert lap(out[i])[inner].mean() > 0.85 * lap(src_frames[i])[inner].mean()


def _motion(frames: list[np.ndarray]) -> np.ndarray:
    grey = [np.float32(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)) for f in frames]
    return np.array([np.hypot(*cv2.phaseCorrelate(a, b)[0]) for a, b in itertools.pairwise(grey)])


@pytest.mark.slow
def test_stabilize_removes_most_of_the_shake(shaken_clip, tmp_path: Path) -> None:
    src, _ = shaken_clip
    before = _motion(read_frames(src))
    after = _motion(read_frames(apply(src, tmp_path / "stab.mp4", [{"type": "stabilize", "smoothing": 2.0}])))
    assert before.mean() > 5.0  # the source really shakes
    assert after.mean() <= 0.3 * before.mean(), (before.mean(), after.mean())


def test_auto_color_balances_a_cast_and_lifts_exposure(face_clip, tmp_path: Path) -> None:
    from effects_media import write


    _, frames, _ = face_clip
    cast = [np.clip(f.astype(np.float32) * [0.55, 0.6, 0.9], 0, 255).astype(np.uint8) for f in frames]
    src = write(tmp_path / "cast.mp4", cast, FPS)
    out = read_frames(apply(src, tmp_path / "ac.mp4", [{"type": "auto_color", "smoothing": 0.1}]))
    ref = np.asarray(frames[-1], np.float32).reshape(-1, 3).mean(axis=0)
    before = np.asarray(cast[-1], np.float32).reshape(-1, 3).mean(axis=0)
    after = out[-1].reshape(-1, 3).astype(np.float32).mean(axis=0)
    spread = lambda m: float(np.ptp(m / m.mean()))  # noqa: E731
    assert spread(after) < 0.5 * spread(before)
    assert after.mean() > before.mean() + 10
    assert abs(spread(after) - spread(ref)) < spread(before)


def test_lut_denoise_sharpen_filters(face_clip, tmp_path: Path) -> None:
    src, _, _ = face_clip
    n = 2
    axis = np.linspace(0, 1, n)
    rows = [f"{1 - r:.3f} {1 - g:.3f} {1 - b:.3f}" for b in axis for g in axis for r in axis]
    cube = "TITLE \"invert\"\nLUT_3D_SIZE 2\n" + "\n".join(rows) + "\n"
    before = read_frames(src)[5].astype(np.float32)
    inv = read_frames(apply(src, tmp_path / "lut.mp4", [{"type": "lut", "cube": cube}]))[5].astype(np.float32)
    assert np.abs(inv - (255 - before)).mean() < 4
    half = read_frames(apply(src, tmp_path / "lut2.mp4", [{"type": "lut", "cube": cube, "intensity": 0.5}]))[5]
    assert np.abs(half.astype(np.float32) - 127.5).mean() < 6

    def hf(f: np.ndarray) -> float:
        g = cv2.cvtColor(f.astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32)
        return float(np.abs(g - cv2.GaussianBlur(g, (0, 0), 1.5)).mean())

    sharp = read_frames(apply(src, tmp_path / "sh.mp4", [{"type": "sharpen", "amount": 1.5}]))[5]
    assert hf(sharp) > 1.3 * hf(before)
    rng = np.random.default_rng(1)
    noisy = [np.clip(f + rng.normal(0, 8, f.shape), 0, 255).astype(np.uint8) for f in face_clip[1][:10]]
    from effects_media import write


    grainy = write(tmp_path / "noisy.mp4", noisy, FPS)
    flat = (slice(0, 60), slice(400, 640))  # backdrop only: all variation there is noise
    for method in ("hqdn3d", "nlmeans"):
        soft = read_frames(apply(grainy, tmp_path / f"{method}.mp4",
                                 [{"type": "denoise", "strength": 1, "method": method}]))[5]
        raw = read_frames(grainy)[5]
        noise = lambda f: float(f[flat].astype(np.float32).std(axis=(0, 1)).mean())  # noqa: E731
        assert noise(soft) < 0.6 * noise(raw), (method, noise(soft), noise(raw))


def test_invalid_cube_is_a_400_naming_the_field() -> None:
    from vidlake.effects import EffectsInvalid, parse_effects

    for bad, why in [("LUT_3D_SIZE 2\n0 0 0\n", "needs 8 entries"), ("TITLE x\n", "no LUT_3D_SIZE"),
                     ("LUT_3D_SIZE 2\nDOMAIN_MAX 1 1\n", "three numbers"),
                     ("LUT_1D_SIZE 4\n", "1D tables")]:
        with pytest.raises(EffectsInvalid) as info:
            parse_effects([{"type": "sharpen"}, {"type": "lut", "cube": bad}])
        assert info.value.messages[0].startswith("effects[1].cube: not a valid .cube: "), info.value.messages
        assert why in info.value.messages[0]


def test_a_dying_encoder_raises_and_models_are_shared(face_clip, tmp_path: Path) -> None:
    from vidlake.effects import models, parse_effects, render_file, stream_info
    from vidlake.effects.pipeline import Encoding
    from vidlake.ffmpeg import FFmpegError, MediaInput

    src, frames, _ = face_clip
    info = stream_info(640, 360, 25, len(frames) / 25)
    params = parse_effects([{"type": "face_blur"}])
    with pytest.raises(FFmpegError, match="encoder"):
        render_file(MediaInput.untrusted(src, "mov"), tmp_path / "x.mp4", params, info, has_audio=False,
                    work_dir=tmp_path, encoding=Encoding(preset="no-such-preset"), timeout_s=60)
    created = models.CREATED.get("face_detection", 0)
    for name in ("a.mp4", "b.mp4"):  # later runs borrow the pooled model instead of loading another
        render_file(MediaInput.untrusted(src, "mov"), tmp_path / name, params, info, has_audio=False,
                    work_dir=tmp_path, timeout_s=60)
    assert models.CREATED.get("face_detection", 0) == max(created, 1)
