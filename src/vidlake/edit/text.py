"""Text clips and caption clips as ffmpeg ``drawtext`` filters: position, size, colour, box, fades (sizes in
render pixels). Each text is laid out first (:func:`vidlake.edit.text_layout.layout_text`: one face for the
whole text, its CJK counterpart when the Latin face lacks a character, lines broken at ``max_width``)."""

from __future__ import annotations

from dataclasses import dataclass

from vidlake.edit.captions_burn import Cue, caption_source_key, clip_windows, inline_cues, parse_cues, sendcmd_commands
from vidlake.edit.filters import color, filter_text, num
from vidlake.edit.text_layout import face_for, layout_text
from vidlake.edit.timeline import CaptionAsset, Clip, TextAsset
from vidlake.edit.validate import SourceInfo


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
    max_width = style.max_width * scale if style.max_width else frame.width - 2 * pad
    block = layout_text(asset.text, style.font, max(1, round(style.size * scale)), max(1.0, max_width))
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
        "fontfile": str(block.font_file),
        "text": block.text,
        "expansion": "none",
        "fontsize": block.size_px,
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


def caption_cues(asset: CaptionAsset, sources: dict[str, SourceInfo]) -> list[Cue]:
    """A caption clip's cues: inline, or parsed from its text track (resolved at validation)."""
    if asset.cues is not None:
        return inline_cues(asset)
    text = sources[caption_source_key(asset)].text
    assert text is not None  # validation checked it
    return parse_cues(text)


def caption_filters(clip: Clip, asset: CaptionAsset, frame: Frame, cues: list[Cue], name: str,
                    script: str) -> tuple[list[str], str]:
    """A caption clip as ONE drawtext (named ``name``, like ``drawtext@cap3``, off at first) and a
    ``sendcmd`` reading ``script`` that sets its text and turns it on at each cue's start and off at its
    end (timeline seconds, start inclusive, end exclusive). Returns the filters and the script's text
    (both empty when no cue falls inside the clip).

    One instance, not one per cue: each drawtext maps the 16 MB CJK face and keeps its own glyph cache
    (100 cues as 100 instances: 2.4 GB of address space, 290 MB anonymous memory). The script is a file,
    not a filter argument: 2,000 cues exceed the 128 KiB one argument may have. ``script`` is a path the
    compiler chooses beside the output (never from the document); ffmpeg opens it directly (``sendcmd``
    maps the file, so the inputs' protocol whitelist does not apply). See :mod:`vidlake.edit.captions_burn`."""
    windows = clip_windows(cues, clip.start, clip.length, asset.trim)
    if not windows:
        return [], ""
    style = asset.style
    scale = frame.ref
    size = max(1, round(style.size * scale))
    max_width = max(1.0, style.max_width * scale if style.max_width else frame.width * 0.9)
    face = face_for(style.font, "".join(c.text for c in windows))  # one face for every cue
    blocks = [layout_text(c.text, face, size, max_width) for c in windows]
    margin = style.margin * scale
    options: dict[str, str | float | int] = {
        "fontfile": str(blocks[0].font_file), "text": blocks[0].text, "expansion": "none", "fontsize": size,
        "fontcolor": color(style.color), "line_spacing": round(style.line_spacing * scale),
        "text_align": {"left": "L", "center": "C", "right": "R"}[style.align], "x": "(w-text_w)/2",
        "y": {"bottom": f"h-text_h-{num(margin)}", "top": num(margin), "center": "(h-text_h)/2"}[style.position],
        "enable": "0",
    }
    if style.outline:
        options.update(borderw=max(1, round(style.outline * scale)), bordercolor=color(style.outline_color))
    if style.background:
        options.update(box="1", boxcolor=color(style.background), boxborderw=round(style.padding * scale))
    if clip.opacity < 1:
        options["alpha"] = num(clip.opacity)
    shown = [(num(c.start), num(c.end), b.text) for c, b in zip(windows, blocks, strict=True)]
    commands = sendcmd_commands(name, shown)
    return [filter_text("sendcmd", f=script), filter_text(name, **options)], commands


def direct_filters(clip: Clip, frame: Frame, sources: dict[str, SourceInfo], name: str,
                   script: str) -> tuple[list[str], str]:
    """The filters drawing a text or caption clip straight onto the composite, and the text of the
    ``sendcmd`` script a caption clip reads from ``script`` (``""`` for a text clip). ``name``: the
    caption's drawtext instance (see :func:`caption_filters`)."""
    if isinstance(clip.asset, CaptionAsset):
        return caption_filters(clip, clip.asset, frame, caption_cues(clip.asset, sources), name, script)
    assert isinstance(clip.asset, TextAsset)
    return [drawtext(clip, clip.asset, frame, (clip.start, clip.end))], ""
