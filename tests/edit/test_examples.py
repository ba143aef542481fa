"""Every example timeline and template renders, and the result shows what the document says."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from edit_media import EXAMPLES, Media, audio_rms, frame_at, inspect, mean_rgb

from vidlake.edit import Edit, apply_template, render, validate_edit

TIMELINES = sorted((EXAMPLES / "timelines").glob("*.json"))
TEMPLATES = sorted((EXAMPLES / "templates").glob("*.json"))

#: Ground truth per example: (seconds, box as fractions (x0, y0, x1, y1), expected RGB).
#: PiP boxes follow the geometry of the 426x240 preview of a 1280x720 output (see the JSON).
COLOR_CHECKS: dict[str, list[tuple[float, tuple[float, float, float, float], tuple[int, int, int]]]] = {
    "cuts_transitions.json": [
        (1.5, (0.3, 0.3, 0.7, 0.7), (255, 0, 0)),
        (4.0, (0.3, 0.3, 0.7, 0.7), (0, 255, 0)),
        (7.0, (0.3, 0.3, 0.7, 0.7), (0, 0, 255)),
    ],
    "picture_in_picture.json": [
        (2.0, (0.45, 0.3, 0.8, 0.6), (0, 255, 0)),  # main video (boosted green)
        (2.0, (0.08, 0.68, 0.33, 0.9), (255, 0, 0)),  # red picture-in-picture, bottom left
        (2.0, (0.9, 0.06, 0.96, 0.17), (204, 51, 204)),  # magenta logo at opacity 0.8 over green
    ],
    "soundtrack.json": [
        (1.5, (0.3, 0.3, 0.7, 0.7), (255, 0, 0)),
        (4.5, (0.3, 0.3, 0.7, 0.7), (255, 255, 0)),
    ],
    "text_title.json": [(2.0, (0.0, 0.0, 0.25, 0.25), (0, 0, 255))],
    "captions_cjk.json": [(2.0, (0.3, 0.3, 0.7, 0.6), (0, 0, 255))],
    "product_promo.json": [(2.0, (0.4, 0.4, 0.6, 0.6), (255, 128, 0)), (2.0, (0.0, 0.4, 0.05, 0.6), (30, 30, 80))],
    "course_intro.json": [(1.0, (0.0, 0.0, 0.2, 0.2), (10, 61, 98))],
    "highlight_reel.json": [
        (1.0, (0.3, 0.2, 0.7, 0.5), (255, 0, 0)),
        (4.0, (0.3, 0.2, 0.7, 0.5), (0, 255, 0)),
        (6.5, (0.3, 0.2, 0.7, 0.5), (0, 0, 255)),
    ],
}
COLOR_TOLERANCE = 40.0


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if "edit" in data:  # a template: fill it with its example values
        return apply_template(data, data["example"])
    return data


def _check_render(media: Media, name: str, doc: dict[str, Any], out: Path) -> None:
    result = render(validate_edit(doc, media.resolver()), out, preview=True, timeout_s=120)
    info = inspect(out)
    expected = Edit.model_validate(doc).duration()
    assert abs(info.duration_s - expected) <= 1 / result.compiled.fps + 0.05, (info.duration_s, expected)
    assert (info.width, info.height) == (result.compiled.width, result.compiled.height)
    assert info.has_audio
    for t, box, rgb in COLOR_CHECKS.get(name, []):
        got = mean_rgb(frame_at(out, t), box)
        assert np.abs(got - np.array(rgb)).max() <= COLOR_TOLERANCE, f"{name} at {t}s {box}: {got} != {rgb}"


@pytest.mark.parametrize("path", TIMELINES, ids=lambda p: p.name)
def test_example_timeline_renders(media: Media, tmp_path: Path, path: Path) -> None:
    _check_render(media, path.name, _load(path), tmp_path / "out.mp4")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_example_template_renders(media: Media, tmp_path: Path, path: Path) -> None:
    _check_render(media, path.name, _load(path), tmp_path / "out.mp4")


def test_examples_exist() -> None:
    assert len(TIMELINES) >= 5 and len(TEMPLATES) >= 3


def test_text_is_drawn_where_placed(media: Media, tmp_path: Path) -> None:
    doc = _load(EXAMPLES / "timelines" / "text_title.json")
    bare = copy.deepcopy(doc)
    bare["timeline"]["tracks"] = [t for t in bare["timeline"]["tracks"]
                                  if t["clips"][0]["asset"]["type"] != "text"]
    render(validate_edit(doc, media.resolver()), tmp_path / "text.mp4", preview=True, timeout_s=120)
    render(validate_edit(bare, media.resolver()), tmp_path / "bare.mp4", preview=True, timeout_s=120)
    with_text = frame_at(tmp_path / "text.mp4", 2.0).astype(float)
    without = frame_at(tmp_path / "bare.mp4", 2.0).astype(float)
    diff = np.abs(with_text - without)
    h, w = diff.shape[:2]

    def region(x0: float, y0: float, x1: float, y1: float) -> float:
        return float(diff[int(y0 * h): int(y1 * h), int(x0 * w): int(x1 * w)].mean())

    assert region(0.35, 0.4, 0.65, 0.6) > 40  # the centred title with its black box
    assert region(0.04, 0.78, 0.35, 0.95) > 5  # the bottom-left caption (wiped in by then)
    assert region(0.0, 0.0, 0.25, 0.25) < 3  # nothing drawn in the top-left corner
    assert region(0.75, 0.0, 1.0, 0.25) < 3
    # before the title fades in there is no difference in the centre
    early = np.abs(frame_at(tmp_path / "text.mp4", 0.1).astype(float)
                   - frame_at(tmp_path / "bare.mp4", 0.1).astype(float))
    assert early[int(0.4 * h): int(0.6 * h), int(0.35 * w): int(0.65 * w)].mean() < 3


def test_ken_burns_moves_and_filter_applies(media: Media, tmp_path: Path) -> None:
    out = tmp_path / "kb.mp4"
    doc = _load(EXAMPLES / "timelines" / "ken_burns.json")
    render(validate_edit(doc, media.resolver()), out, preview=True, timeout_s=120)
    a, b = frame_at(out, 0.2).astype(float), frame_at(out, 2.0).astype(float)
    assert np.abs(a - b).mean() > 5  # the zoom changed the picture
    grey = frame_at(out, 4.5).astype(float)  # second clip: greyscale filter
    assert np.abs(grey[..., 0] - grey[..., 1]).mean() < 8 and np.abs(grey[..., 1] - grey[..., 2]).mean() < 8
    assert np.abs(a[..., 0] - a[..., 2]).mean() > 30  # the first clip is in colour


def test_soundtrack_fades(media: Media, tmp_path: Path) -> None:
    out = tmp_path / "sound.mp4"
    doc = _load(EXAMPLES / "timelines" / "soundtrack.json")
    render(validate_edit(doc, media.resolver()), out, preview=True, timeout_s=120)
    middle = audio_rms(out, 3.0, 3.8)
    assert middle > 0.02  # 0.8 x the 1/8-amplitude lavfi sine
    assert audio_rms(out, 5.6, 6.0) < 0.5 * middle  # fade-out over the last 2 s
    assert audio_rms(out, 0.0, 0.2) < 0.5 * middle  # fade-in over the first 1 s
    # the 880 Hz audio clip (1 s to 2.5 s) adds to the mix
    assert audio_rms(out, 1.5, 2.2) > audio_rms(out, 3.0, 3.8)
