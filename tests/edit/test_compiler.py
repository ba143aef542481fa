"""Compiler and renderer details: argv shape, preview, escaping, geometry, progress, time limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from edit_media import Media, frame_at, inspect, mean_rgb

from vidlake.edit import EditValidationError, compile_edit, render, validate_edit
from vidlake.edit.compiler import escape_value
from vidlake.ffmpeg import FFmpegTimeoutError


def _doc(*clips: dict[str, Any], **output: Any) -> dict[str, Any]:
    return {"timeline": {"tracks": [{"clips": list(clips)}]},
            "output": {"resolution": {"width": 320, "height": 180}, "fps": 15, **output}}


def test_argv_trims_inputs_and_exposes_the_graph(media: Media, tmp_path: Path) -> None:
    doc = _doc({"asset": {"type": "video", "src": "asset:red", "trim": 1.5}, "start": 0, "length": 2})
    compiled = compile_edit(validate_edit(doc, media.resolver()), tmp_path / "o.mp4")
    argv = compiled.argv
    assert float(argv[argv.index("-ss") + 1]) == 1.5  # input seeking, not decoding from 0
    assert argv.count("-filter_complex") == 2
    assert compiled.video_graph in compiled.filter_graph and compiled.audio_graph in compiled.filter_graph
    assert "[vout]" in compiled.video_graph and "[aout]" in compiled.audio_graph
    assert argv[argv.index("-c:v") + 1] == "libx264" and argv[-1] == str(tmp_path / "o.mp4")
    assert (compiled.width, compiled.height, compiled.fps, compiled.duration_s) == (320, 180, 15, 2)


def test_preview_is_a_third_of_the_size(media: Media, tmp_path: Path) -> None:
    doc = _doc({"asset": {"type": "video", "src": "asset:red"}, "start": 0, "length": 1})
    doc["output"] = {"resolution": "1080p", "aspect_ratio": "9:16", "fps": 30}
    compiled = compile_edit(validate_edit(doc, media.resolver()), tmp_path / "o.mp4", preview=True)
    assert (compiled.width, compiled.height, compiled.fps) == (360, 640, 15)
    assert compiled.argv[compiled.argv.index("-preset") + 1] == "ultrafast"


def test_escaping_rules() -> None:
    assert escape_value("a:b") == "a\\\\:b"
    assert escape_value("it's") == "it\\\\\\'s"
    assert escape_value("x,y[z];") == "x\\,y\\[z\\]\\;"


def test_text_with_special_characters_renders(media: Media, tmp_path: Path) -> None:
    text = "50% off: it's [new], a;b \\ c"
    doc = _doc({"asset": {"type": "color", "color": "#203040"}, "start": 0, "length": 1},
               )
    doc["timeline"]["tracks"].insert(0, {"clips": [
        {"asset": {"type": "text", "text": text, "style": {"size": 20}}, "start": 0, "length": 1},
        {"asset": {"type": "text", "text": text, "style": {"size": 20}}, "start": 0, "length": 1,
         "position": "top", "transition": {"in": "wipeleft", "duration": 0.2}},
    ]})
    doc["timeline"]["tracks"][0]["clips"][1]["start"] = 1
    doc["timeline"]["tracks"][1]["clips"][0]["length"] = 2
    out = tmp_path / "t.mp4"
    result = render(validate_edit(doc, media.resolver()), out, timeout_s=60)
    assert "expansion=none" in result.compiled.video_graph
    assert inspect(out).duration_s == pytest.approx(2, abs=0.1)
    centre = frame_at(out, 0.5)[70:110, 40:280].astype(float)
    assert centre.max() > 200  # white glyphs drawn over the dark colour


def test_cross_transition_between_different_geometry(media: Media, tmp_path: Path) -> None:
    """An image in a corner cross-fading into a full-frame video: both go through the canvas path."""
    doc = _doc(
        {"asset": {"type": "image", "src": "asset:logo"}, "start": 0, "length": 2, "fit": "none",
         "position": "topLeft"},
        {"asset": {"type": "video", "src": "asset:blue"}, "start": 1.5, "length": 2,
         "transition": {"in": "fade"}},
    )
    doc["timeline"]["background"] = "#00ff00"
    out = tmp_path / "x.mp4"
    render(validate_edit(doc, media.resolver()), out, timeout_s=60)
    early = frame_at(out, 0.5)
    assert np.abs(mean_rgb(early, (0.02, 0.02, 0.2, 0.3)) - (255, 0, 255)).max() < 40  # logo top-left
    assert np.abs(mean_rgb(early, (0.6, 0.6, 0.9, 0.9)) - (0, 255, 0)).max() < 40  # background elsewhere
    late = frame_at(out, 3.0)
    assert np.abs(mean_rgb(late) - (0, 0, 255)).max() < 40


def test_progress_reaches_100(media: Media, tmp_path: Path) -> None:
    seen: list[float] = []
    doc = _doc({"asset": {"type": "video", "src": "asset:green"}, "start": 0, "length": 2, "speed": 1.5})
    render(validate_edit(doc, media.resolver()), tmp_path / "p.mp4", on_progress=seen.append, timeout_s=60)
    assert seen and seen[-1] == 100.0 and all(0 <= p <= 100 for p in seen)
    assert inspect(tmp_path / "p.mp4").duration_s == pytest.approx(2, abs=0.1)


def test_time_limit_kills_ffmpeg(media: Media, tmp_path: Path) -> None:
    doc = _doc({"asset": {"type": "video", "src": "asset:green"}, "start": 0, "length": 3})
    with pytest.raises(FFmpegTimeoutError):
        render(validate_edit(doc, media.resolver()), tmp_path / "slow.mp4", timeout_s=0.0)


@pytest.mark.parametrize(("focus_x", "colour"), [(0.1, 0), (0.9, 2)])
def test_crop_focus_keeps_that_part_of_the_source(media: Media, tmp_path: Path, focus_x: float, colour: int) -> None:
    """A 16:9 picture cut to 9:16 keeps the side its crop_focus names (red left half, blue right half);
    the default keeps the centre, where both halves meet."""
    clip = {"asset": {"type": "image", "src": "asset:halves"}, "start": 0, "length": 1,
            "crop_focus": {"x": focus_x, "y": 0.5}}
    doc = _doc(clip, resolution={"width": 180, "height": 320})
    out = tmp_path / "o.mp4"
    render(validate_edit(doc, media.resolver()), out)
    rgb = mean_rgb(frame_at(out, 0.5), (0.05, 0.05, 0.95, 0.95))
    assert rgb[colour] > 200 and rgb[2 - colour] < 60
    centred = _doc({**clip, "crop_focus": None}, resolution={"width": 180, "height": 320})
    render(validate_edit(centred, media.resolver()), out)
    frame = frame_at(out, 0.5)
    assert mean_rgb(frame, (0.05, 0.3, 0.4, 0.7))[0] > 200 and mean_rgb(frame, (0.6, 0.3, 0.95, 0.7))[2] > 200


def test_crop_focus_needs_fit_crop(media: Media) -> None:
    clip = {"asset": {"type": "image", "src": "asset:halves"}, "start": 0, "length": 1, "fit": "contain",
            "crop_focus": {"x": 0.2, "y": 0.5}}
    with pytest.raises(EditValidationError, match=r"clips\[0\]\.crop_focus: applies to"):
        validate_edit(_doc(clip), media.resolver())
