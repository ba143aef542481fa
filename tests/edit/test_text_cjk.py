"""CJK titles rendered for real: the glyphs ffmpeg draws are the font's glyphs (not .notdef boxes), and
wrapped lines stay inside ``max_width`` (ink measured in the output frame)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from edit_media import frame_at
from PIL import Image, ImageDraw, ImageFont

from vidlake.cli.doctor import check_fonts
from vidlake.edit import compile_edit, find_errors, render, text_layout, validate_edit
from vidlake.edit import fonts as fonts_mod
from vidlake.edit.fonts import FontNotFoundError, font_path

W, H = 640, 360


def _no_sources(src: str) -> Any:
    raise KeyError(src)


def _title_doc(text: str, **style: Any) -> dict[str, Any]:
    return {"timeline": {"background": "#000000", "tracks": [{"clips": [
        {"asset": {"type": "text", "text": text, "style": {"size": 72, **style}}, "start": 0, "length": 1}]}]},
        "output": {"resolution": {"width": W, "height": H}, "fps": 10}}


def _render_mask(tmp_path: Path, text: str, **style: Any) -> np.ndarray:
    out = tmp_path / f"t{abs(hash((text, tuple(style.items()))))}.mp4"
    render(validate_edit(_title_doc(text, **style), _no_sources), out, timeout_s=60)
    return frame_at(out, 0.5).astype(float).mean(axis=2) > 128


def _pillow_mask(text: str, font_file: Path, size: int = 72) -> np.ndarray:
    """The font's own rendering of ``text`` (no ffmpeg), white on black."""
    image = Image.new("L", (W * 2, H), 0)
    font = ImageFont.truetype(str(font_file), size, layout_engine=ImageFont.Layout.RAQM)
    ImageDraw.Draw(image).text((10, 10), text, fill=255, font=font)
    return np.asarray(image) > 128


def _crop(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    assert len(xs), "nothing drawn"
    return mask[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def _dilate(mask: np.ndarray) -> np.ndarray:
    out = mask.copy()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            out |= np.roll(np.roll(mask, dy, axis=0), dx, axis=1)
    return out


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    """How alike two ink masks are (0..1): each cropped to its ink and aligned at the top left, the share
    of either's ink pixels within one pixel of the other's ink (the lower of the two shares)."""
    a, b = _crop(a), _crop(b)
    h, w = max(a.shape[0], b.shape[0]) + 2, max(a.shape[1], b.shape[1]) + 2
    pa, pb = np.zeros((h, w), bool), np.zeros((h, w), bool)
    pa[1:a.shape[0] + 1, 1:a.shape[1] + 1] = a
    pb[1:b.shape[0] + 1, 1:b.shape[1] + 1] = b
    return float(min((pa & _dilate(pb)).sum() / pa.sum(), (pb & _dilate(pa)).sum() / pb.sum()))


def test_chinese_titles_are_the_fonts_glyphs_not_boxes(tmp_path: Path) -> None:
    first, second = "双十一大促", "春节快乐啊"
    drawn_1, drawn_2 = _render_mask(tmp_path, first), _render_mask(tmp_path, second)
    cjk_face = font_path("sans-sc")
    latin_face = font_path("sans")  # what the old code drew Chinese with: every character a .notdef box
    tofu_1, tofu_2 = _pillow_mask(first, latin_face), _pillow_mask(second, latin_face)
    assert _similarity(tofu_1, tofu_2) > 0.97  # boxes look alike whatever the text: the check can tell
    assert _similarity(drawn_1, _pillow_mask(first, cjk_face)) > 0.95
    assert _similarity(drawn_2, _pillow_mask(second, cjk_face)) > 0.95
    assert _similarity(drawn_1, drawn_2) < 0.5  # different texts, different glyphs
    assert _similarity(drawn_1, tofu_1) < 0.5 and _similarity(drawn_2, tofu_2) < 0.5


@pytest.mark.parametrize(("text", "font", "face"), [
    ("双十一 Sale 50%", "sans", "sans-sc"),          # mixed line: the CJK face draws the Latin part too
    ("雙十一 特賣 50%", "sans-tc", "sans-tc"),        # traditional
    ("こんにちは ラーメン", "sans-jp-bold", "sans-jp-bold"),  # kana, bold
    ("안녕하세요 Sale", "sans-bold", "sans-sc-bold"),  # hangul through the bold fallback
])
def test_scripts_render_like_the_face(tmp_path: Path, text: str, font: str, face: str) -> None:
    assert text_layout.face_for(font, text) == face
    drawn = _render_mask(tmp_path, text, font=font, size=56)
    assert _similarity(drawn, _pillow_mask(text, font_path(face), 56)) > 0.95
    assert _similarity(drawn, _pillow_mask(text, font_path("sans"), 56)) < 0.6


def test_latin_titles_keep_source_sans(tmp_path: Path) -> None:
    assert text_layout.face_for("sans", "Spring sale 50%") == "sans"
    drawn = _render_mask(tmp_path, "Spring sale 50%", size=56)
    assert _similarity(drawn, _pillow_mask("Spring sale 50%", font_path("sans"), 56)) > 0.95


def test_wrapped_cjk_lines_stay_inside_max_width(tmp_path: Path) -> None:
    text = "欢迎来到直播间，今天我们一起学习机器学习入门课程。双十一 Sale 50%，限时抢购！"
    mask = _render_mask(tmp_path, text, size=40, max_width=300)
    cols = np.nonzero(mask.any(axis=0))[0]
    width = cols.max() - cols.min() + 1
    assert 240 <= width <= 300, width  # wrapped, using most of the width, never past it
    rows = mask.any(axis=1).astype(int)
    lines = int((np.diff(rows) == 1).sum() + rows[0])
    assert lines >= 4  # one unwrapped line would be about 1,500 px wide
    # without max_width the default is the frame's width: still inside the frame
    full = _render_mask(tmp_path, text, size=40)
    cols = np.nonzero(full.any(axis=0))[0]
    assert cols.min() > 0 and cols.max() < W - 1 and cols.max() - cols.min() > 500


def test_missing_cjk_package_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fonts_mod, "CJK_FONT_DIR", tmp_path / "no-fonts")
    fonts_mod.font_path.cache_clear()
    fonts_mod.coverage.cache_clear()
    try:
        with pytest.raises(FontNotFoundError, match="apt-get install fonts-noto-cjk"):
            compile_edit(validate_edit(_title_doc("双十一"), _no_sources), tmp_path / "o.mp4")
        # Latin text does not need the CJK package
        compiled = compile_edit(validate_edit(_title_doc("Sale"), _no_sources), tmp_path / "o.mp4")
        assert "SourceSansPro-Regular" in compiled.video_graph
        cjk = next(c for c in check_fonts() if c.name == "fonts (CJK)")
        assert not cjk.ok and cjk.fix.startswith("apt-get install fonts-noto-cjk")
    finally:
        fonts_mod.font_path.cache_clear()
        fonts_mod.coverage.cache_clear()


def test_characters_no_font_has_are_reported() -> None:
    _, _, errors = find_errors(_title_doc("Sale 😀"))
    assert [str(e) for e in errors] == [
        "timeline.tracks[0].clips[0].asset.text: has characters no bundled font can draw: '😀' (U+1F600)"]
    _, _, errors = find_errors(_title_doc("x", font="sans-cn"))
    assert errors and errors[0].path == "timeline.tracks[0].clips[0].asset.style.font"
