"""Shot quality meter on lavfi clips with known truth: blurred seconds, dark and flat pictures, still
and moving pictures; the result is JSON-ready and runs in one decode with the other analysers."""

from __future__ import annotations

import itertools
import json
import statistics
from typing import Any

import numpy as np
import pytest

from vidlake.analyze import registry
from vidlake.analyze.base import run_analysers
from vidlake.analyze.quality import FrozenFrameDetector
from vidlake.analyze.service import check_kinds
from vidlake.analyze.shot_quality import (
    ShotQualityMeter,
    blurred_intervals,
    sharpness_and_centre,
    summarize_interval,
)

FIELDS = ("times", "sharpness", "luma", "dark", "bright", "motion", "contrast", "centre")
STILL = "trim=end_frame=1,loop=loop=-1:size=1,setpts=N/25/TB"


def _meter(path: Any, *, fast: bool = True, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = run_analysers(path, [ShotQualityMeter(**kw)], fast=fast)["shot_quality"]
    return out


def _whole(result: dict[str, Any]) -> dict[str, float]:
    summary = summarize_interval(result, 0.0, 1e9)
    assert summary is not None
    return summary


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "full"])
def test_blurred_seconds_are_found(make_clip: Any, fast: bool) -> None:
    # testsrc2 sharp for 0-2 s, the same picture with a Gaussian blur (sigma 4 px) for 2-4 s, sharp again.
    clip = make_clip("blur.mp4", "testsrc2", seconds=6.0, size="640x360",
                     extra=("-vf", "gblur=sigma=4:enable='between(t,2,4)'"))
    out = _meter(clip, fast=fast)
    (run,) = blurred_intervals(out)
    assert run["start"] == pytest.approx(2.0, abs=0.3) and run["end"] == pytest.approx(4.0, abs=0.3)
    sharp, blurred, again = (summarize_interval(out, a, b) for a, b in ((0, 2), (2, 4), (4, 6)))
    assert sharp is not None and blurred is not None and again is not None
    assert blurred["sharpness"] < 0.35 * sharp["sharpness"] and blurred["sharpness"] < 0.35 * again["sharpness"]
    assert run["sharpness"] < 0.35 * sharp["sharpness"]
    # Blur barely changes exposure: luma and contrast stay close.
    assert blurred["luma"] == pytest.approx(sharp["luma"], abs=0.03)
    assert blurred["contrast"] > 0.8 * sharp["contrast"]


def test_a_wholly_blurred_file_is_not_flagged_but_measures_low(make_clip: Any) -> None:
    sharp = make_clip("sharp.mp4", "testsrc2", seconds=2.0, size="640x360")
    soft = make_clip("soft.mp4", "testsrc2", seconds=2.0, size="640x360", extra=("-vf", "gblur=sigma=4"))
    soft_out = _meter(soft)
    assert blurred_intervals(soft_out) == []  # relative to its own median: callers compare across files
    assert _whole(soft_out)["sharpness"] < 0.35 * _whole(_meter(sharp))["sharpness"]


@pytest.mark.parametrize("scale", ["640:360", "854:480", "1920:1080"])
def test_sharpness_hardly_depends_on_resolution(make_clip: Any, scale: str) -> None:
    # The same pictures at 720p and scaled to another size (frames arrive at 180, 240, 180 px).
    hd = make_clip("hd.mp4", "testsrc2", seconds=1.0, size="1280x720")
    other = make_clip("other.mp4", "testsrc2", seconds=1.0, size="1280x720", extra=("-vf", f"scale={scale}"))
    ratio = _whole(_meter(hd))["sharpness"] / _whole(_meter(other))["sharpness"]
    assert 0.5 < ratio < 2.0, ratio


@pytest.mark.parametrize(
    ("source", "vf", "check"),
    [
        ("color=black", None, lambda s: s["luma"] < 0.02 and s["dark"] > 0.98 and s["bright"] == 0),
        ("color=white", None, lambda s: s["luma"] > 0.98 and s["bright"] > 0.98 and s["dark"] == 0),
        ("testsrc2", "eq=brightness=-0.45", lambda s: s["luma"] < 0.15 and s["dark"] > 0.4),
        ("testsrc2", None, lambda s: 0.3 < s["luma"] < 0.7 and s["dark"] < 0.05 and s["bright"] < 0.05),
    ],
    ids=["black", "white", "dim", "normal"],
)
def test_exposure(make_clip: Any, source: str, vf: str | None, check: Any) -> None:
    clip = make_clip("exposure.mp4", source, seconds=1.5, size="640x360", extra=("-vf", vf) if vf else ())
    summary = _whole(_meter(clip))
    assert check(summary), summary


def test_flat_colour_has_no_sharpness_nor_contrast(make_clip: Any) -> None:
    summary = _whole(_meter(make_clip("flat.mp4", "color=gray", seconds=1.5, size="640x360")))
    assert summary["sharpness"] < 0.01 and summary["contrast"] < 0.01 and summary["motion"] < 0.002
    textured = _whole(_meter(make_clip("pattern.mp4", "testsrc2", seconds=1.5, size="640x360")))
    assert textured["sharpness"] > 100 * max(summary["sharpness"], 1e-4) and textured["contrast"] > 0.15


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "full"])
def test_motion_of_still_and_moving_pictures(make_clip: Any, fast: bool) -> None:
    still = _meter(make_clip("still.mp4", "testsrc2", seconds=3.0, size="640x360", extra=("-vf", STILL)), fast=fast)
    moving_clip = make_clip("moving.mp4", "testsrc2", seconds=3.0, size="640x360")
    moving = _meter(moving_clip, fast=fast)
    assert max(still["motion"]) < 0.002
    assert statistics.median(moving["motion"]) > 0.02
    # Per second: the same pictures sampled 2 or 8 times a second measure about the same motion.
    slow, quick = (_whole(_meter(moving_clip, fast=fast, sample_fps=f))["motion"] for f in (2.0, 8.0))
    assert quick == pytest.approx(slow, rel=0.3)


def test_result_is_compact_json(make_clip: Any) -> None:
    out = _meter(make_clip("json.mp4", "testsrc2", seconds=3.0, size="320x240"))
    back = json.loads(json.dumps(out))
    assert back == out and back["sample_fps"] == 4.0
    lengths = {len(out[k]) for k in FIELDS}
    assert len(lengths) == 1
    times = out["times"]
    # About 4 samples per second by frame time, never two closer than a quarter second.
    assert 2.5 * 3 <= len(times) <= 4 * 3 + 1
    assert all(b - a >= 0.25 - 1e-3 for a, b in itertools.pairwise(times))
    assert all(0.0 <= v <= 1.0 for k in ("luma", "dark", "bright", "contrast") for v in out[k])
    assert all(v == round(v, 4) for k in FIELDS for v in out[k])
    assert summarize_interval(out, 10.0, 20.0) is None


def test_one_decode_with_the_frozen_detector(make_clip: Any) -> None:
    clip = make_clip("mixed.mp4", "testsrc2", seconds=4.0, size="640x360",
                     extra=("-vf", "split[a][b];[a][b]freezeframes=first=50:last=99:replace=49"))
    out = run_analysers(clip, [ShotQualityMeter(), FrozenFrameDetector()], fast=False)
    (frozen,) = out["frozen"]["intervals"]
    assert frozen["start"] == pytest.approx(1.96, abs=0.1)
    quality = out["shot_quality"]
    moving = summarize_interval(quality, 0.3, 1.9)
    still = summarize_interval(quality, frozen["start"] + 0.3, frozen["end"])
    assert moving is not None and still is not None
    assert still["motion"] < 0.002 < moving["motion"]
    assert out["video"]["frames"] == 100


def test_registered_as_a_frame_analysis() -> None:
    assert check_kinds(["shot_quality", "frozen"]) == ["shot_quality", "frozen"]
    factory = registry.frame_factory("shot_quality")
    assert factory is not None and factory().name == "shot_quality"
    with pytest.raises(ValueError):
        ShotQualityMeter(sample_fps=0)


def _textured(h: int, w: int, box: tuple[slice, slice] | None) -> np.ndarray:
    """A 0..1 luma image: mid grey, with a noise texture inside ``box`` (everywhere when ``None``)."""
    rng = np.random.default_rng(7)
    y = np.full((h, w), 0.5, np.float32)
    noise = rng.uniform(0.1, 0.9, (h, w)).astype(np.float32)
    if box is None:
        return noise
    y[box] = noise[box]
    return y


@pytest.mark.parametrize(("box", "low", "high"), [
    ((slice(60, 120), slice(120, 200)), 0.9, 1.0),  # a subject in the middle of a plain background
    ((slice(0, 40), slice(0, 60)), 0.0, 0.05),  # detail only in a corner
    (None, 0.2, 0.3),  # detail everywhere: the central quarter's share
])
def test_centre_is_where_the_detail_is(box: tuple[slice, slice] | None, low: float, high: float) -> None:
    _, centre = sharpness_and_centre(_textured(180, 320, box))
    assert low <= centre <= high, centre
    assert sharpness_and_centre(np.full((180, 320), 0.4, np.float32))[1] == 0.25  # flat: no detail anywhere


def test_centre_is_measured_and_summarised(make_clip: Any) -> None:
    out = _meter(make_clip("centre.mp4", "testsrc2", seconds=2.0, size="320x240"))
    assert len(out["centre"]) == len(out["times"]) and all(0.0 <= v <= 1.0 for v in out["centre"])
    summary = summarize_interval(out, 0.0, 2.0)
    assert summary is not None and "centre" in summary
    old = {k: v for k, v in out.items() if k != "centre"}  # stored before centre was measured
    assert "centre" not in (summarize_interval(old, 0.0, 2.0) or {})
