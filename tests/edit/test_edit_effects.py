"""``effects`` on video clips: validated with field paths, pre-rendered, then composited as usual."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from edit_media import Media, frame_at, inspect, mean_rgb

from vidlake.edit import EditValidationError, render, validate_edit

INVERT = "LUT_3D_SIZE 2\n" + "\n".join(f"{1 - r} {1 - g} {1 - b}" for b in (0, 1) for g in (0, 1) for r in (0, 1))


def _doc(*clips: dict[str, Any]) -> dict[str, Any]:
    return {"timeline": {"tracks": [{"clips": list(clips)}]},
            "output": {"resolution": {"width": 320, "height": 180}, "fps": 15}}


def test_clip_effects_are_rendered_on_the_used_part_only(media: Media, tmp_path: Path) -> None:
    doc = _doc({"asset": {"type": "video", "src": "asset:red", "trim": 1.0}, "start": 0, "length": 1,
                "effects": [{"type": "lut", "cube": INVERT}]},
               {"asset": {"type": "video", "src": "asset:red"}, "start": 1, "length": 1})
    out = tmp_path / "fx.mp4"
    render(validate_edit(doc, media.resolver()), out, timeout_s=120)
    inverted, plain = mean_rgb(frame_at(out, 0.5)), mean_rgb(frame_at(out, 1.5))
    assert np.allclose(inverted, [0, 255, 255], atol=25), inverted  # red inverted is cyan
    assert np.allclose(plain, [255, 0, 0], atol=25), plain  # the other clip of the same source is untouched
    facts = inspect(out)
    assert facts.duration_s == pytest.approx(2.0, abs=0.15)
    assert facts.has_audio


def test_clip_effects_errors_name_the_field(media: Media) -> None:
    doc = _doc({"asset": {"type": "video", "src": "asset:red"}, "start": 0, "length": 1,
                "effects": [{"type": "beautify", "smooth": 2}, {"type": "background", "mode": "replace",
                                                                 "src": "asset:missing"}]},
               {"asset": {"type": "color"}, "start": 1, "length": 1, "effects": [{"type": "denoise"}]})
    with pytest.raises(EditValidationError) as info:
        validate_edit(doc, media.resolver())
    errs = [str(e) for e in info.value.errors]
    assert "timeline.tracks[0].clips[0].effects[0].smooth: must be <= 1" in errs
    assert "timeline.tracks[0].clips[1].effects: applies to video clips only" in errs
