"""Layer geometry: how many pixels a clip's layer has, shared by the compiler (which builds it) and the
validator (which bounds it before any ffmpeg starts).

All sizes are render pixels. ``ref`` is render pixels per document pixel (1 for a full render, about 1/3
for a preview).
"""

from __future__ import annotations

from vidlake.edit.timeline import CaptionAsset, Clip, ColorAsset, ImageAsset, TextAsset, VideoAsset


def even(value: float) -> int:
    """Round to the nearest even integer >= 2 (H.264 4:2:0 needs even sizes)."""
    return max(2, round(value / 2) * 2)


def fit_size(clip: Clip, width: int, height: int, src_w: int, src_h: int, ref: float = 1.0) -> tuple[int, int]:
    """The layer (w, h) of ``clip`` on a ``width`` x ``height`` frame, for a ``src_w`` x ``src_h``
    source, after ``fit`` and ``scale``."""
    if clip.fit in ("crop", "cover"):
        return even(width * clip.scale), even(height * clip.scale)
    # contain: fit inside the frame; none: the source's own pixel size
    factor = (min(width / src_w, height / src_h) if clip.fit == "contain" else ref) * clip.scale
    return even(src_w * factor), even(src_h * factor)


def crop_filters(clip: Clip, src_w: int, src_h: int, sw: int, sh: int) -> list[str]:
    """Scale a ``src_w`` x ``src_h`` source to cover ``sw`` x ``sh`` and cut the overflow, keeping
    ``clip.crop_focus`` (default the centre) as near the middle as the source allows (pixels)."""
    cover = [f"scale={sw}:{sh}:force_original_aspect_ratio=increase"]
    if clip.crop_focus is None or src_w <= 0 or src_h <= 0:
        return [*cover, f"crop={sw}:{sh}", "setsar=1"]
    factor = max(sw / src_w, sh / src_h)
    scaled_w, scaled_h = max(sw, round(src_w * factor)), max(sh, round(src_h * factor))
    x = min(max(0, round(clip.crop_focus.x * scaled_w - sw / 2)), scaled_w - sw)
    y = min(max(0, round(clip.crop_focus.y * scaled_h - sh / 2)), scaled_h - sh)
    return [*cover, f"crop={sw}:{sh}:{x}:{y}", "setsar=1"]


def headroom(clip: Clip) -> int:
    """How many times the layer size an image is scaled to before ``zoompan`` (sub-pixel motion)."""
    return 2 if clip.effect and isinstance(clip.asset, ImageAsset) else 1


def is_direct_text(clip: Clip) -> bool:
    """Text that needs no stream of its own: drawn straight onto the composite (no transition, or fades).
    Caption clips always are (they take no transition)."""
    tr = clip.transition
    return isinstance(clip.asset, TextAsset | CaptionAsset) and (
        tr is None or (tr.in_ in (None, "fade") and tr.out in (None, "fade")))


#: A video clip's decoder and its buffers weigh about this many of its source frames (measured: 25
#: clips of a 1080p video took as much address space as about 100 full-frame 1080p colour layers).
DECODE_FRAMES = 3


def layer_pixels(clip: Clip, width: int, height: int, src: tuple[int, int] | None) -> int:
    """Pixels of ``clip``'s layer on a ``width`` x ``height`` output: the scaled layer (twice each side
    with zoompan headroom), or the full frame for text with a transition of its own. ``src`` is the
    source's (width, height); None when unknown (then only source-independent fits are counted). 0 for
    audio and for text drawn straight onto the composite."""
    asset = clip.asset
    if isinstance(asset, TextAsset):
        return 0 if is_direct_text(clip) else width * height
    if isinstance(asset, ColorAsset):
        w, h = fit_size(clip, width, height, width, height)
    elif isinstance(asset, VideoAsset | ImageAsset):
        if src is None:
            if clip.fit not in ("crop", "cover"):
                return 0
            src = (width, height)
        w, h = fit_size(clip, width, height, src[0], src[1])
    else:
        return 0
    m = headroom(clip)
    return w * m * h * m


def decode_pixels(clip: Clip, src: tuple[int, int] | None) -> int:
    """Pixels a video clip's decoder holds besides its layer (:data:`DECODE_FRAMES` source frames)."""
    if not isinstance(clip.asset, VideoAsset) or src is None:
        return 0
    return DECODE_FRAMES * src[0] * src[1]
