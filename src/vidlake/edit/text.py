"""Text clips as ffmpeg ``drawtext`` filters: position, size, colour, box, fades (sizes in render pixels)."""

from __future__ import annotations

from dataclasses import dataclass

from vidlake.edit.filters import color, filter_text, num
from vidlake.edit.fonts import font_path
from vidlake.edit.timeline import Clip, TextAsset


@dataclass(frozen=True)
class Frame:
    """The render frame: ``width`` x ``height`` pixels, ``ref`` render pixels per document pixel."""

    width: int
    height: int
    ref: float


def drawtext(clip: Clip, asset: TextAsset, frame: Frame, enable: tuple[float, float] | None) -> str:
    """A drawtext filter for a text clip on ``frame``; ``enable`` = (start, end) seconds when drawing
    straight onto the composite (then the fade transitions and opacity become an alpha expression)."""
    style = asset.style
    scale = frame.ref * clip.scale
    pad = style.padding * scale if style.background else 0.0
    pos = clip.position
    if pos in ("left", "topLeft", "bottomLeft"):
        x = f"{num(pad)}"
    elif pos in ("right", "topRight", "bottomRight"):
        x = f"w-text_w-{num(pad)}"
    else:
        x = "(w-text_w)/2"
    if pos in ("top", "topLeft", "topRight"):
        y = f"{num(pad)}"
    elif pos in ("bottom", "bottomLeft", "bottomRight"):
        y = f"h-text_h-{num(pad)}"
    else:
        y = "(h-text_h)/2"
    x = f"{x}+{num(clip.offset.x * frame.width)}"
    y = f"{y}-{num(clip.offset.y * frame.height)}"
    options: dict[str, str | float | int] = {
        "fontfile": str(font_path(style.font)),
        "text": asset.text,
        "expansion": "none",
        "fontsize": max(1, round(style.size * scale)),
        "fontcolor": color(style.color),
        "line_spacing": round(style.line_spacing * scale),
        "text_align": {"left": "L", "center": "C", "right": "R"}[style.align],
        "x": x,
        "y": y,
    }
    if style.background:
        options.update(box="1", boxcolor=color(style.background), boxborderw=max(0, round(pad)))
    if enable is not None:
        start, end = enable
        options["enable"] = f"between(t,{num(start)},{num(end)})"
        alpha = text_alpha(clip, start, end)
        if alpha != "1":
            options["alpha"] = alpha
    return filter_text("drawtext", **options)

def text_alpha(clip: Clip, start: float, end: float) -> str:
    """The alpha expression of directly drawn text: its fades (seconds ``start``..``end``) and opacity."""
    terms: list[str] = []
    tr = clip.transition
    if tr and tr.in_ == "fade":
        terms.append(f"min(1,max(0,(t-{num(start)})/{num(tr.duration)}))")
    if tr and tr.out == "fade":
        terms.append(f"min(1,max(0,({num(end)}-t)/{num(tr.duration)}))")
    if clip.opacity < 1:
        terms.append(num(clip.opacity))
    return "*".join(terms) if terms else "1"
