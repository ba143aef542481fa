"""The timeline document: what a business sends to have a new video rendered.

An :class:`Edit` is ``{"timeline": ..., "output": ...}``. The timeline holds a background colour, an
optional soundtrack and a list of tracks; each track holds clips; each clip shows one asset (a layer
whose kind is keyed by ``type``: video, image, audio, text, color, caption) from ``start`` for ``length``
seconds. **Track 0 is drawn on top**; later tracks are drawn underneath it, and the background colour
under everything.

Every field states its unit and default. All models forbid unknown fields, so a typo is an error,
and :func:`edit_json_schema` exports the JSON Schema for API docs and clients.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
SRC_PATTERN = r"^(asset:[A-Za-z0-9_.\-]+|live:[A-Za-z0-9_.\-]+|https://\S+)$"

#: Transitions between two overlapping clips of one track, or into/out of a single clip
#: (through transparency). The names are ffmpeg ``xfade`` transitions.
TRANSITIONS: tuple[str, ...] = (
    "fade",
    "fadeblack",
    "fadewhite",
    "dissolve",
    "wipeleft",
    "wiperight",
    "wipeup",
    "wipedown",
    "slideleft",
    "slideright",
    "slideup",
    "slidedown",
    "smoothleft",
    "smoothright",
    "smoothup",
    "smoothdown",
    "circleopen",
    "circleclose",
    "circlecrop",
    "rectcrop",
    "radial",
    "pixelize",
    "zoomin",
    "hblur",
    "distance",
    "diagtl",
    "diagtr",
    "diagbl",
    "diagbr",
)

TransitionName = Literal[
    "fade", "fadeblack", "fadewhite", "dissolve", "wipeleft", "wiperight", "wipeup", "wipedown",
    "slideleft", "slideright", "slideup", "slidedown", "smoothleft", "smoothright", "smoothup",
    "smoothdown", "circleopen", "circleclose", "circlecrop", "rectcrop", "radial", "pixelize",
    "zoomin", "hblur", "distance", "diagtl", "diagtr", "diagbl", "diagbr",
]  # fmt: skip

#: Colour filters applied to a visual clip.
FilterName = Literal["greyscale", "blur", "boost", "contrast", "darken", "lighten", "muted", "negative", "sepia"]
FILTERS: tuple[str, ...] = FilterName.__args__  # type: ignore[attr-defined]

#: Motion effects (Ken Burns): slow zoom or pan over the clip for its whole length.
EffectName = Literal["zoomIn", "zoomOut", "slideLeft", "slideRight", "slideUp", "slideDown"]
EFFECTS: tuple[str, ...] = EffectName.__args__  # type: ignore[attr-defined]

Position = Literal["center", "top", "topRight", "right", "bottomRight", "bottom", "bottomLeft", "left", "topLeft"]
POSITIONS: tuple[str, ...] = Position.__args__  # type: ignore[attr-defined]

Fit = Literal["crop", "cover", "contain", "none"]

#: Fonts that ship with Vidlake's packages (see :mod:`vidlake.edit.fonts`): Source Sans Pro (the
#: ``font-source-sans-pro`` wheel) and Noto Sans CJK regular/bold per region (Debian's ``fonts-noto-cjk``).
FontName = Literal[
    "sans", "sans-bold", "sans-semibold", "sans-light", "sans-italic", "sans-black",
    "sans-sc", "sans-sc-bold", "sans-tc", "sans-tc-bold", "sans-hk", "sans-hk-bold",
    "sans-jp", "sans-jp-bold", "sans-kr", "sans-kr-bold",
]  # fmt: skip
FONTS: tuple[str, ...] = FontName.__args__  # type: ignore[attr-defined]

#: Characters of one caption cue.
MAX_CUE_CHARS = 500

Seconds = Annotated[float, Field(ge=0)]
Src = Annotated[str, Field(pattern=SRC_PATTERN, description="`asset:<id>`, `live:<id>` or an https:// URL")]


def _check_color(value: str) -> str:
    if not HEX_COLOR.match(value):
        raise ValueError("must be a colour like #rrggbb or #rrggbbaa")
    return value


Color = Annotated[str, AfterValidator(_check_color)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class VideoAsset(_Model):
    """A video file. Its audio (if any) is mixed in at ``volume``."""

    type: Literal["video"] = "video"
    src: Src
    trim: Seconds = Field(0.0, description="seconds skipped at the start of the source; default 0")
    volume: float = Field(1.0, ge=0, le=10, description="linear gain of the clip's audio, 0 mutes; default 1")


class ImageAsset(_Model):
    """A still image (PNG/JPEG), shown for the clip's length. PNG transparency is kept."""

    type: Literal["image"] = "image"
    src: Src


class AudioAsset(_Model):
    """An audio file, heard from the clip's start for its length; draws nothing."""

    type: Literal["audio"] = "audio"
    src: Src
    trim: Seconds = Field(0.0, description="seconds skipped at the start of the source; default 0")
    volume: float = Field(1.0, ge=0, le=10, description="linear gain, 0 mutes; default 1")
    fade_in: Seconds = Field(0.0, description="seconds of fade-in from silence; default 0")
    fade_out: Seconds = Field(0.0, description="seconds of fade-out to silence at the clip's end; default 0")


class _TextLook(_Model):
    """What titles and captions share: face, colours, line alignment and spacing (pixels)."""

    font: FontName = Field("sans", description="a bundled font (Source Sans Pro, Noto Sans CJK); characters "
                           "the font lacks (CJK) are drawn with its Noto Sans CJK counterpart; default sans")
    color: Color = Field("#ffffff", description="text colour #rrggbb[aa]; default #ffffff")
    background: Color | None = Field(None, description="box colour behind the text #rrggbb[aa]; default none")
    align: Literal["left", "center", "right"] = Field("center", description="line alignment; default center")
    line_spacing: int = Field(0, ge=0, le=500, description="extra pixels between lines; default 0")


class TextStyle(_TextLook):
    """How a text clip looks. Sizes are pixels at the output resolution (scaled down in previews)."""

    size: int = Field(64, ge=4, le=1000, description="font size in pixels; default 64")
    padding: int = Field(16, ge=0, le=500, description="pixels between the text and its box edge; default 16")
    max_width: int | None = Field(None, ge=16, le=7680, description="pixels a line may span before it wraps "
                                  "(CJK between characters, Latin at spaces); default the frame width "
                                  "minus twice the padding")


class TextAsset(_Model):
    """A text title drawn with a bundled font. ``\\n`` in ``text`` starts a new line."""

    type: Literal["text"] = "text"
    text: str = Field(..., min_length=1, max_length=2000)
    style: TextStyle = Field(default_factory=TextStyle)


class CaptionCue(_Model):
    """One caption: ``text`` shown from ``start`` to ``end`` seconds, counted from the clip's start."""

    start: float = Field(..., ge=0, description="seconds from the clip's start (after trim)")
    end: float = Field(..., gt=0, description="seconds from the clip's start; after start")
    text: str = Field(..., min_length=1, max_length=MAX_CUE_CHARS, description="`\\n` starts a new line")


class CaptionStyle(_TextLook):
    """How burned captions look. Sizes are pixels at the output resolution (scaled down in previews)."""

    size: int = Field(48, ge=8, le=400, description="font size in pixels; default 48")
    outline: int = Field(3, ge=0, le=50, description="outline width in pixels, 0 for none; default 3")
    outline_color: Color = Field("#000000", description="outline colour; default #000000")
    padding: int = Field(10, ge=0, le=200, description="pixels between the text and its box edge; default 10")
    position: Literal["bottom", "top", "center"] = Field("bottom", description="where cues sit; default bottom")
    margin: int = Field(40, ge=0, le=2000, description="pixels from the frame's top/bottom edge; default 40")
    max_width: int | None = Field(None, ge=16, le=7680, description="pixels a line may span before it wraps; "
                                  "default 90% of the frame width")


class CaptionAsset(_Model):
    """Captions burned into the picture: inline ``cues``, or ``src`` naming an asset whose text track
    (``track_id``, else the track in ``language_code``, else its first text track) supplies them."""

    type: Literal["caption"] = "caption"
    cues: list[CaptionCue] | None = Field(None, description="inline cues, in time order, not overlapping")
    src: str | None = Field(None, pattern=r"^asset:[A-Za-z0-9_.\-]+$", description="`asset:<id>` with a text track")
    track_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    language_code: str | None = Field(None, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    trim: Seconds = Field(0.0, description="seconds of cues skipped at the start (like a video's trim); default 0")
    style: CaptionStyle = Field(default_factory=CaptionStyle)


class ColorAsset(_Model):
    """A solid colour filling the clip's frame (use ``scale``/``position`` for a smaller box)."""

    type: Literal["color"] = "color"
    color: Color = Field("#000000", description="#rrggbb or #rrggbbaa; default #000000")



Asset = Annotated[VideoAsset | ImageAsset | AudioAsset | TextAsset | ColorAsset | CaptionAsset,
                  Field(discriminator="type")]


class Transition(_Model):
    """Transitions of a clip. ``in``/``out`` name a transition (see :data:`TRANSITIONS`).

    When a clip overlaps the previous clip of its track, the overlap is a cross transition between
    them (ffmpeg ``xfade``) named by this clip's ``in`` (else the previous clip's ``out``, else
    ``fade``) and lasting as long as the overlap. Otherwise ``in``/``out`` transition the clip
    from/to transparency over ``duration`` seconds, revealing the tracks underneath.
    """

    in_: TransitionName | None = Field(None, alias="in", description="transition at the clip's start")
    out: TransitionName | None = Field(None, description="transition at the clip's end")
    duration: float = Field(0.5, gt=0, le=10, description="seconds of each in/out transition; default 0.5")


class Offset(_Model):
    """Shift from ``position``, as a fraction of the output frame: x>0 moves right, y>0 moves up."""

    x: float = Field(0.0, ge=-2, le=2, description="fraction of frame width; default 0")
    y: float = Field(0.0, ge=-2, le=2, description="fraction of frame height; default 0")


class Focus(_Model):
    """The point of the source kept nearest the frame's centre when ``fit`` is ``crop``, as fractions of
    the source's width and height (0, 0 top left); the crop never leaves the source."""

    x: float = Field(0.5, ge=0, le=1, description="fraction of the source width; default 0.5 (centre)")
    y: float = Field(0.5, ge=0, le=1, description="fraction of the source height; default 0.5 (centre)")


class Clip(_Model):
    """One asset on a track from ``start`` for ``length`` seconds."""

    asset: Asset
    start: float = Field(..., ge=0, description="seconds from the timeline's start")
    length: float = Field(..., gt=0, description="seconds on the timeline")
    transition: Transition | None = None
    fit: Fit = Field(
        "crop",
        description="crop: fill the frame keeping aspect, cut the overflow (default); cover: stretch to "
        "fill; contain: fit inside keeping aspect; none: the source's own pixel size",
    )
    crop_focus: Focus | None = Field(None, description="with fit crop: the source point kept in view (a face); "
                                     "default the centre")
    scale: float = Field(1.0, gt=0, le=10, description="size multiplier applied after fit; default 1")
    position: Position = Field("center", description="anchor in the frame; default center")
    offset: Offset = Field(default_factory=Offset)
    opacity: float = Field(1.0, ge=0, le=1, description="0 transparent .. 1 opaque; default 1")
    speed: float = Field(1.0, ge=0.25, le=4, description="playback rate of video/audio; default 1")
    filter: FilterName | None = Field(None, description="colour filter; default none")
    effect: EffectName | None = Field(None, description="Ken Burns motion; default none")
    effects: list[dict[str, Any]] = Field(
        default_factory=list, max_length=8,
        description="video effects of a video clip (docs/effects.md), rendered before compositing; default none",
    )

    @property
    def end(self) -> float:
        """Seconds from the timeline's start at which the clip ends."""
        return self.start + self.length


class Track(_Model):
    """A layer of clips. Tracks listed first are drawn on top."""

    clips: list[Clip] = Field(..., min_length=1)


class Soundtrack(_Model):
    """Music under the whole timeline, cut at the timeline's end."""

    src: Src
    trim: Seconds = Field(0.0, description="seconds skipped at the start of the source; default 0")
    volume: float = Field(1.0, ge=0, le=10, description="linear gain; default 1")
    fade_in: Seconds = Field(0.0, description="seconds of fade-in at the start; default 0")
    fade_out: Seconds = Field(0.0, description="seconds of fade-out before the timeline's end; default 0")


class Timeline(_Model):
    """Background, soundtrack and tracks (track 0 on top)."""

    background: Color = Field("#000000", description="colour under all tracks; default #000000")
    soundtrack: Soundtrack | None = None
    tracks: list[Track] = Field(..., min_length=1)



class Size(_Model):
    """An explicit output size in pixels (both even)."""

    width: int = Field(..., ge=16, le=7680)
    height: int = Field(..., ge=16, le=7680)


RESOLUTION_HEIGHTS: dict[str, int] = {"1080p": 1080, "720p": 720, "480p": 480, "360p": 360}


class Output(_Model):
    """The rendered file. ``resolution`` is a preset (its short side) or an explicit size."""

    resolution: Literal["1080p", "720p", "480p", "360p"] | Size = Field(
        "1080p", description="preset (short side in pixels) or {width, height}; default 1080p"
    )
    aspect_ratio: Literal["16:9", "9:16", "1:1"] = Field(
        "16:9", description="shape for presets (ignored with an explicit size); default 16:9"
    )
    fps: int = Field(30, ge=1, le=120, description="frames per second; default 30")
    format: Literal["mp4"] = Field("mp4", description="container; H.264 + AAC in MP4; default mp4")

    def size(self) -> tuple[int, int]:
        """Output (width, height) in pixels, both even."""
        if isinstance(self.resolution, Size):
            return self.resolution.width, self.resolution.height
        short = RESOLUTION_HEIGHTS[self.resolution]
        long = _even(short * 16 / 9)
        if self.aspect_ratio == "16:9":
            return long, short
        if self.aspect_ratio == "9:16":
            return short, long
        return short, short


class Edit(_Model):
    """The whole document: ``{"timeline": ..., "output": ...}``."""

    timeline: Timeline
    output: Output = Field(default_factory=Output)

    def duration(self) -> float:
        """Seconds of the rendered video: the end of the last clip."""
        return max((c.end for t in self.timeline.tracks for c in t.clips), default=0.0)


def _even(value: float) -> int:
    """Round to the nearest even integer >= 2 (H.264 4:2:0 needs even sizes)."""
    return max(2, round(value / 2) * 2)


def edit_json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Edit` (by alias: ``transition.in``)."""
    return Edit.model_json_schema(by_alias=True)
