"""Semantic validation of a timeline document, with errors that point at the field.

Every problem is reported (not just the first) as a :class:`FieldError` whose ``path`` uses the
document's own spelling, e.g. ``timeline.tracks[1].clips[3].start: must be >= 0``.

Sources are looked up through a caller-supplied :class:`Resolver`: ``resolve(src) -> SourceInfo``.
It raises :class:`ResolveError` (or ``KeyError``/``LookupError``/``OSError``/``ValueError``) for an
unknown asset id, an asset of another environment, a URL that may not be fetched...; the message is
reported at the clip's ``asset.src``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from vidlake.core.messages import field_message
from vidlake.edit.captions_burn import CueError, caption_source_key, cue_problems, inline_cues, parse_cues
from vidlake.edit.fonts import FontNotFoundError
from vidlake.edit.geometry import decode_pixels, layer_pixels
from vidlake.edit.text_layout import missing_characters
from vidlake.edit.timeline import AudioAsset, CaptionAsset, Clip, Edit, ImageAsset, TextAsset, VideoAsset
from vidlake.effects.registry import EffectsInvalid, parse_effects

#: Seconds of slack allowed when a clip reaches the very end of its source (container rounding).
END_TOLERANCE_S = 0.05


@dataclass(frozen=True)
class SourceInfo:
    """A resolved source: a local ``path`` ffmpeg can read, its ``duration_s`` in seconds (``None``
    for still images), whether it has video/audio streams, and its ``width``/``height`` in pixels.

    ``demuxer``: the pinned ffmpeg demuxer (``-f``) for the file, from the probe (see
    :class:`vidlake.ffmpeg.MediaInput`); ``"hls"`` only for Vidlake's own HLS output. None: chosen from
    the file's signature or extension when the command is built. A caption clip's text track resolves to a
    source whose ``text`` is its WebVTT document."""

    path: str
    duration_s: float | None
    has_video: bool
    has_audio: bool
    width: int | None = None
    height: int | None = None
    demuxer: str | None = None
    text: str | None = None


class ResolveError(LookupError):
    """Raised by a resolver for a source it cannot (or may not) provide."""


class Resolver(Protocol):
    """Maps a clip's ``src`` (``asset:<id>``, ``live:<id>``, ``https://...``) to a :class:`SourceInfo`."""

    def __call__(self, src: str) -> SourceInfo: ...


#: Bytes of ffmpeg address space one counted layer pixel takes (see :class:`Limits`).
BYTES_PER_LAYER_PIXEL = 20


@dataclass(frozen=True)
class Limits:
    """What one render may ask for: pixels, seconds, frames per second, frames.

    The work of a render grows with the frames it makes and the pixels its layers hold, not only with
    the output size: ``scale`` 10 on a 1600x1600 output made a 16000x16000 layer that took ffmpeg to
    1.65 GB for two frames, and memory grew linearly with such layers. So, besides the output:
    ``max_layer_pixels`` bounds one clip's layer after ``fit`` and ``scale`` (with zoompan headroom),
    ``max_total_layer_pixels`` the sum over all visual clips (with what video decoders hold, see
    :func:`vidlake.edit.geometry.decode_pixels`), ``max_frames`` duration x fps, and ``max_text_px`` the
    rendered font size (``style.size`` x ``scale``; glyphs are rasterised at it).

    The total is sized for ffmpeg's memory limit (:data:`BYTES_PER_LAYER_PIXEL`): 99 full-frame 1080p
    colour layers (205 million pixels) needed between 3 and 4 GiB of address space; 25 clips of a 1080p
    video (207 million counted) ran under 4 GiB, 35 (290 million) did not.
    """

    max_width: int = 3840
    max_height: int = 3840
    max_duration_s: float = 600.0
    max_fps: int = 60
    max_clips: int = 100
    max_layer_pixels: int = 4096 * 4096
    max_total_layer_pixels: int = 4 * 1024**3 // BYTES_PER_LAYER_PIXEL
    max_frames: int = 600 * 60
    max_text_px: int = 1000


@dataclass(frozen=True)
class FieldError:
    """One problem: ``path`` like ``timeline.tracks[0].clips[2].length`` and a short ``message``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class EditValidationError(ValueError):
    """The document is not renderable; ``errors`` lists every problem found."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("invalid edit:\n" + "\n".join(f"  {e}" for e in errors))


@dataclass(frozen=True)
class ValidatedEdit:
    """A document that passed validation with every source it uses resolved (keyed by ``src``)."""

    edit: Edit
    sources: dict[str, SourceInfo] = field(default_factory=dict)


_ASSET_TAGS = {"video", "image", "audio", "text", "color", "caption"}


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    prev: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif prev == "asset" and part in _ASSET_TAGS:
            pass  # the discriminator branch, not a field
        elif "[" in part or part[:1].isupper():
            pass  # a union branch such as "literal['1080p',...]" or "Size"
        else:
            out += f".{part}" if out else part
        prev = part
    return out


def _message(err: Mapping[str, Any]) -> str:
    if err["type"] == "string_pattern_mismatch":
        return "must be asset:<id>, live:<id> or an https:// URL"
    return field_message(err)


def _from_pydantic(exc: ValidationError) -> list[FieldError]:
    merged: dict[str, list[str]] = {}
    for err in exc.errors():
        merged.setdefault(_path(err["loc"]), []).append(_message(err))
    return [FieldError(p, " or ".join(dict.fromkeys(msgs))) for p, msgs in merged.items()]


def _clip_path(ti: int, ci: int) -> str:
    return f"timeline.tracks[{ti}].clips[{ci}]"


def _resolve(
    src: str, where: str, resolver: Resolver, cache: dict[str, SourceInfo], errors: list[FieldError]
) -> SourceInfo | None:
    if src in cache:
        return cache[src]
    try:
        info = resolver(src)
    except (LookupError, OSError, ValueError) as exc:
        detail = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        errors.append(FieldError(where, f"cannot use source {src!r}: {detail}"))
        return None
    cache[src] = info
    return info


def _check_transitions(clip: Clip, where: str, errors: list[FieldError]) -> None:
    tr = clip.transition
    if tr is None:
        return
    count = (tr.in_ is not None) + (tr.out is not None)
    if count and tr.duration * count > clip.length + 1e-9:
        errors.append(
            FieldError(f"{where}.transition.duration",
                       f"{count} x {tr.duration:g} s of transitions do not fit in the clip's {clip.length:g} s")
        )


def _check_clip_kind(clip: Clip, where: str, errors: list[FieldError]) -> None:
    asset = clip.asset
    if isinstance(asset, AudioAsset):
        for name in ("filter", "effect", "transition"):
            if getattr(clip, name) is not None:
                errors.append(FieldError(f"{where}.{name}", "does not apply to an audio clip"))
    if isinstance(asset, TextAsset) and clip.effect is not None:
        errors.append(FieldError(f"{where}.effect", "does not apply to a text clip"))
    if clip.crop_focus is not None and (clip.fit != "crop" or not isinstance(asset, VideoAsset | ImageAsset)):
        errors.append(FieldError(f"{where}.crop_focus", "applies to video and image clips with fit crop only"))
    if isinstance(asset, TextAsset) and not asset.text.strip():
        errors.append(FieldError(f"{where}.asset.text", "must not be blank"))
    elif isinstance(asset, TextAsset):
        _check_glyphs(asset.style.font, asset.text, f"{where}.asset.text", errors)


def _check_glyphs(font: str, text: str, where: str, errors: list[FieldError]) -> None:
    """Characters no bundled face draws (they would render as boxes). Skipped when the CJK font package is
    missing: the render then fails naming the package."""
    try:
        missing = missing_characters(font, text)
    except FontNotFoundError:
        return
    if missing:
        shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in missing[:5])
        errors.append(FieldError(where, f"has characters no bundled font can draw: {shown}"))


#: Clip fields a caption clip does not use (its style places the cues).
_NOT_FOR_CAPTIONS = ("transition", "filter", "effect", "fit", "scale", "position", "offset", "speed", "crop_focus")


def _check_caption(clip: Clip, where: str, resolver: Resolver | None, cache: dict[str, SourceInfo],
                   errors: list[FieldError]) -> None:
    asset = clip.asset
    assert isinstance(asset, CaptionAsset)
    for name in _NOT_FOR_CAPTIONS:
        if name in clip.model_fields_set:
            errors.append(FieldError(f"{where}.{name}", "does not apply to a caption clip (see asset.style)"))
    if (asset.cues is None) == (asset.src is None):
        errors.append(FieldError(f"{where}.asset", "needs either cues or src (an asset with a text track)"))
        return
    if asset.cues is not None:
        for name in ("track_id", "language_code"):
            if getattr(asset, name) is not None:
                errors.append(FieldError(f"{where}.asset.{name}", "applies only with src"))
        for rel, message in cue_problems(inline_cues(asset)):
            errors.append(FieldError(f"{where}.asset.{rel}", message))
        for n, cue in enumerate(asset.cues):
            _check_glyphs(asset.style.font, cue.text, f"{where}.asset.cues[{n}].text", errors)
        return
    if resolver is None:
        return
    info = _resolve(caption_source_key(asset), f"{where}.asset.src", resolver, cache, errors)
    if info is None:
        return
    if info.text is None:
        errors.append(FieldError(f"{where}.asset.src", f"source {asset.src!r} has no text track"))
        return
    try:
        cues = parse_cues(info.text)
    except CueError as exc:
        errors.append(FieldError(f"{where}.asset.src", f"text track of {asset.src!r}: {exc}"))
        return
    for rel, message in cue_problems(cues)[:5]:
        errors.append(FieldError(f"{where}.asset.src", f"text track of {asset.src!r}: {rel}: {message}"))


def _check_effects(clip: Clip, where: str, resolver: Resolver | None, cache: dict[str, SourceInfo],
                   errors: list[FieldError]) -> None:
    """``effects`` of a clip: video clips only, every entry valid, every ``src`` resolvable."""
    if not clip.effects:
        return
    if not isinstance(clip.asset, VideoAsset):
        errors.append(FieldError(f"{where}.effects", "applies to video clips only"))
        return
    try:
        params = parse_effects(clip.effects, field=f"{where}.effects")
    except EffectsInvalid as exc:
        errors.extend(FieldError(*m.split(": ", 1)) for m in exc.messages)
        return
    for i, p in enumerate(params):
        src = getattr(p, "src", None)
        if src is not None and resolver is not None:
            info = _resolve(src, f"{where}.effects[{i}].src", resolver, cache, errors)
            if info is not None and not info.has_video:
                errors.append(FieldError(f"{where}.effects[{i}].src", f"source {src!r} has no picture"))


def _check_sources(
    clip: Clip, where: str, resolver: Resolver, cache: dict[str, SourceInfo], errors: list[FieldError]
) -> None:
    asset = clip.asset
    if not isinstance(asset, VideoAsset | ImageAsset | AudioAsset):
        return
    info = _resolve(asset.src, f"{where}.asset.src", resolver, cache, errors)
    if info is None:
        return
    if isinstance(asset, VideoAsset | ImageAsset) and not info.has_video:
        errors.append(FieldError(f"{where}.asset.src", f"source {asset.src!r} has no picture"))
        return
    if isinstance(asset, VideoAsset | ImageAsset) and not (info.width and info.height):
        errors.append(FieldError(f"{where}.asset.src", f"source {asset.src!r} has no known width/height"))
    if isinstance(asset, AudioAsset) and not info.has_audio:
        errors.append(FieldError(f"{where}.asset.src", f"source {asset.src!r} has no audio"))
        return
    if isinstance(asset, VideoAsset | AudioAsset):
        if info.duration_s is None:
            errors.append(FieldError(f"{where}.asset.src", f"source {asset.src!r} has no known duration"))
            return
        needed = asset.trim + clip.length * clip.speed
        if needed > info.duration_s + END_TOLERANCE_S:
            errors.append(
                FieldError(f"{where}.length",
                           f"runs past the end of its source: trim {asset.trim:g} s + length {clip.length:g} s"
                           f" x speed {clip.speed:g} = {needed:g} s > source duration {info.duration_s:g} s")
            )


def _check_work(edit: Edit, limits: Limits, sources: dict[str, SourceInfo], errors: list[FieldError]) -> None:
    """Bound what the graph will hold: pixels per layer, pixels of all layers, rendered font size."""
    width, height = edit.output.size()
    total = width * height  # the background
    for ti, track in enumerate(edit.timeline.tracks):
        for ci, clip in enumerate(track.clips):
            where = _clip_path(ti, ci)
            asset = clip.asset
            info = sources.get(asset.src) if isinstance(asset, VideoAsset | ImageAsset) else None
            src = (info.width, info.height) if info is not None and info.width and info.height else None
            pixels = layer_pixels(clip, width, height, src)
            total += pixels + decode_pixels(clip, src)
            if pixels > limits.max_layer_pixels:
                errors.append(FieldError(f"{where}.scale",
                                         f"makes a layer of {pixels} pixels (fit {clip.fit}, scale {clip.scale:g}), "
                                         f"above the limit of {limits.max_layer_pixels} pixels per layer"))
            if isinstance(asset, TextAsset) and asset.style.size * clip.scale > limits.max_text_px:
                errors.append(FieldError(f"{where}.scale",
                                         f"text of size {asset.style.size} at scale {clip.scale:g} is "
                                         f"{asset.style.size * clip.scale:g} px, above the limit {limits.max_text_px}"))
    if total > limits.max_total_layer_pixels:
        errors.append(FieldError("timeline.tracks", f"the clips' layers and video decoders hold {total} pixels in "
                                                    f"all, above the limit of {limits.max_total_layer_pixels}; use "
                                                    "fewer or smaller clips"))


def _check_track_overlaps(clips: list[Clip], ti: int, errors: list[FieldError]) -> None:
    order = sorted(range(len(clips)), key=lambda i: clips[i].start)
    for pos in range(1, len(order)):
        prev_i, cur_i = order[pos - 1], order[pos]
        prev, cur = clips[prev_i], clips[cur_i]
        overlap = prev.end - cur.start
        if overlap <= 1e-6:
            continue
        where = f"{_clip_path(ti, cur_i)}.start"
        if isinstance(prev.asset, AudioAsset) or isinstance(cur.asset, AudioAsset):
            continue  # audio clips draw nothing; overlapping sounds simply mix
        if overlap >= min(prev.length, cur.length) - 1e-6:
            errors.append(FieldError(where, f"overlaps clip [{prev_i}] of this track by {overlap:g} s; an "
                                            "overlap is a transition and must be shorter than both clips"))
        elif pos >= 2 and clips[order[pos - 2]].end > cur.start + 1e-6:
            errors.append(FieldError(where, "overlaps two earlier clips of this track; at most two clips may "
                                            "overlap at once"))


def _check_output(edit: Edit, limits: Limits, errors: list[FieldError]) -> None:
    width, height = edit.output.size()
    if width % 2 or height % 2:
        errors.append(FieldError("output.resolution", f"width and height must be even, got {width}x{height}"))
    if width > limits.max_width:
        errors.append(FieldError("output.resolution", f"width {width} px is above the limit {limits.max_width}"))
    if height > limits.max_height:
        errors.append(FieldError("output.resolution",
                                 f"height {height} px is above the limit {limits.max_height}"))
    if edit.output.fps > limits.max_fps:
        errors.append(FieldError("output.fps", f"{edit.output.fps} is above the limit {limits.max_fps}"))
    duration = edit.duration()
    if duration > limits.max_duration_s:
        errors.append(FieldError("timeline", f"lasts {duration:g} s, above the limit {limits.max_duration_s:g} s"))
    frames = math.ceil(duration * edit.output.fps)
    if frames > limits.max_frames:
        errors.append(FieldError("output.fps", f"{duration:g} s at {edit.output.fps} fps is {frames} frames, above "
                                               f"the limit of {limits.max_frames}"))
    clips = sum(len(t.clips) for t in edit.timeline.tracks)
    if clips > limits.max_clips:
        errors.append(FieldError("timeline.tracks", f"{clips} clips is above the limit {limits.max_clips}"))
    if not any(not isinstance(c.asset, AudioAsset) for t in edit.timeline.tracks for c in t.clips):
        errors.append(FieldError("timeline.tracks",
                                 "needs at least one visual clip (video, image, text, color, caption)"))


def find_errors(
    data: Mapping[str, Any] | Edit, resolver: Resolver | None = None, limits: Limits | None = None
) -> tuple[Edit | None, dict[str, SourceInfo], list[FieldError]]:
    """Check ``data`` and return ``(edit or None, resolved sources, every error found)``.

    Without a ``resolver`` the sources are not checked (structure, timing and limits still are).
    """
    limits = limits or Limits()
    try:
        edit = data if isinstance(data, Edit) else Edit.model_validate(data)
    except ValidationError as exc:
        return None, {}, _from_pydantic(exc)
    errors: list[FieldError] = []
    cache: dict[str, SourceInfo] = {}
    for ti, track in enumerate(edit.timeline.tracks):
        for ci, clip in enumerate(track.clips):
            where = _clip_path(ti, ci)
            if isinstance(clip.asset, CaptionAsset):
                _check_caption(clip, where, resolver, cache, errors)
            _check_clip_kind(clip, where, errors)
            _check_transitions(clip, where, errors)
            if resolver is not None:
                _check_sources(clip, where, resolver, cache, errors)
            _check_effects(clip, where, resolver, cache, errors)
        _check_track_overlaps(track.clips, ti, errors)
    sound = edit.timeline.soundtrack
    if sound is not None:
        if sound.fade_in + sound.fade_out > edit.duration() + 1e-9:
            errors.append(FieldError("timeline.soundtrack.fade_out",
                                     f"fade_in + fade_out exceed the timeline's {edit.duration():g} s"))
        if resolver is not None:
            info = _resolve(sound.src, "timeline.soundtrack.src", resolver, cache, errors)
            if info is not None and not info.has_audio:
                errors.append(FieldError("timeline.soundtrack.src", f"source {sound.src!r} has no audio"))
            elif info is not None and info.duration_s is not None and sound.trim >= info.duration_s:
                errors.append(FieldError("timeline.soundtrack.trim",
                                         f"{sound.trim:g} s is past the source's end ({info.duration_s:g} s)"))
    _check_output(edit, limits, errors)
    _check_work(edit, limits, cache, errors)
    return edit, cache, errors


def validate_edit(
    data: Mapping[str, Any] | Edit, resolver: Resolver, limits: Limits | None = None
) -> ValidatedEdit:
    """Parse and check ``data``; return it with its sources resolved or raise
    :class:`EditValidationError` listing every problem."""
    edit, sources, errors = find_errors(data, resolver, limits)
    if errors or edit is None:
        raise EditValidationError(errors)
    return ValidatedEdit(edit=edit, sources=sources)
