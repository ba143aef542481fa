"""Creation request schema (``POST /video/v1/creations``): one-click videos and live highlights.

Shape checks live here (400 naming the field); checks against the library (inputs of this environment,
ready, long enough; the music's length) are in :mod:`vidlake.create.service`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from vidlake.api.schemas.common import NewAssetOptions, StrictModel

Style = Literal["energetic", "calm", "vlog", "product"]
AspectRatio = Literal["9:16", "1:1", "16:9"]
Language = Literal["zh", "en"]
#: Shortest and longest creation (seconds).
MIN_DURATION_S, MAX_DURATION_S = 15.0, 180.0
#: Shortest and longest highlight clip (seconds).
MIN_CLIP_S, MAX_CLIP_S = 15.0, 60.0


class CreationInput(StrictModel):
    """One input: ``asset:<id>`` or ``live:<live_stream_id>`` (its most recent recording), optionally
    limited to ``length`` seconds from ``trim`` seconds in."""

    src: str = Field(..., min_length=7, max_length=80)
    trim: float = Field(0.0, ge=0, le=86_400, description="seconds skipped at the input's start")
    length: float | None = Field(None, gt=0, le=86_400, description="seconds of the input used (default: the rest)")

    @field_validator("src")
    @classmethod
    def _scheme(cls, value: str) -> str:
        scheme, _, ident = value.partition(":")
        if scheme not in ("asset", "live") or not ident or len(ident) > 64:
            raise ValueError("must be asset:<asset id> or live:<live stream id>")
        return value


class CreationMusic(StrictModel):
    """The music under the video: ``asset:<id>`` (any asset with an audio track), its ``volume`` (0..2)."""

    src: str = Field(..., min_length=7, max_length=80, pattern=r"^asset:[A-Za-z0-9_-]{1,64}$")
    volume: float = Field(0.8, ge=0, le=2, description="linear gain of the music (default 0.8)")


class CreationCreate(NewAssetOptions):
    """``POST /video/v1/creations``. ``mode`` ``video`` (default): one video of ``duration`` seconds cut to
    ``music``; ``highlights``: ``count`` clips of ``clip_duration`` seconds (15-60) from one live stream or
    recording, each its own asset."""

    inputs: list[CreationInput] = Field(..., min_length=1, max_length=20)
    music: CreationMusic | None = None
    duration: float = Field(30.0, ge=MIN_DURATION_S, le=MAX_DURATION_S, description="seconds of the video")
    aspect_ratio: AspectRatio = "9:16"
    style: Style = "energetic"
    title: str | None = Field(None, max_length=80)
    captions: Language | None = None
    language: Language = "zh"
    resolution: Literal["1080p", "720p", "480p", "360p"] = "720p"
    mp4_support: Literal["none", "standard", "capped-1080p"] | None = None
    mode: Literal["video", "highlights"] = "video"
    count: int = Field(3, ge=1, le=10, description="highlights: how many clips")
    clip_duration: float | None = Field(None, ge=MIN_CLIP_S, le=MAX_CLIP_S,
                                        description="highlights: seconds per clip (default: by content, 15-60)")
    keywords: list[str] = Field(default_factory=list, max_length=50,
                                description="highlights: words that mark a moment (product names, 上链接)")

    @model_validator(mode="after")
    def _mode_fields(self) -> CreationCreate:
        if self.mode == "highlights" and len(self.inputs) != 1:
            raise ValueError("inputs: highlights are cut from one live stream or recording")
        if self.title is not None and not self.title.strip():
            raise ValueError("title: must not be blank")
        for i, word in enumerate(self.keywords):
            if not word.strip() or len(word) > 40:
                raise ValueError(f"keywords[{i}]: 1-40 characters")
        return self
