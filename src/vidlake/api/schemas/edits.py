"""Edit and template request schemas (``/video/v1/edits``, ``/video/v1/templates``).

The edit document itself (``timeline``, ``output``) is validated by :mod:`vidlake.edit.validate`,
whose errors name the field (``timeline.tracks[1].clips[3].start: must be >= 0``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from vidlake.api.schemas.common import StrictModel

PlaybackPolicy = Literal["public", "signed"]


class EditCreate(StrictModel):
    """``POST /video/v1/edits``: an edit document, or ``template_id`` + ``merge`` values.

    ``preview`` renders a fast low-resolution draft; ``playback_policy``, ``passthrough`` and
    ``mp4_support`` are the new asset's settings.
    """

    timeline: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    template_id: str | None = Field(None, max_length=64)
    merge: dict[str, Any] | None = None
    preview: bool = False
    passthrough: str | None = Field(None, max_length=255)
    playback_policy: list[PlaybackPolicy] | None = Field(None, max_length=5)
    mp4_support: Literal["none", "standard", "capped-1080p"] | None = None

    @field_validator("playback_policy", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_source(self) -> EditCreate:
        if self.template_id is None and self.timeline is None:
            raise ValueError("either timeline (an edit document) or template_id is required")
        if self.template_id is not None and (self.timeline is not None or self.output is not None):
            raise ValueError("give either template_id (with merge) or timeline/output, not both")
        if self.merge is not None and self.template_id is None:
            raise ValueError("merge needs a template_id")
        return self

    def document(self) -> dict[str, Any]:
        """The edit document (``timeline`` and, when given, ``output``)."""
        doc: dict[str, Any] = {"timeline": self.timeline}
        if self.output is not None:
            doc["output"] = self.output
        return doc

    def asset_request(self) -> dict[str, Any]:
        """The new asset's settings, as ``vod.assets.create_asset`` takes them."""
        out: dict[str, Any] = {"playback_policy": list(dict.fromkeys(self.playback_policy or ["public"]))}
        if self.passthrough is not None:
            out["passthrough"] = self.passthrough
        if self.mp4_support is not None:
            out["mp4_support"] = self.mp4_support
        return out


class TemplateCreate(StrictModel):
    """``POST /video/v1/templates``: a name and an edit document with ``{{placeholders}}``.

    The document is ``edit`` (as in ``examples/templates/*.json``, which can be posted as they are)
    or ``timeline`` + ``output`` at the top level. ``defaults`` fill missing merge values;
    ``placeholders`` (descriptions) and ``example`` are accepted and ignored.
    """

    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    edit: dict[str, Any] | None = None
    timeline: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    defaults: dict[str, Any] = Field(default_factory=dict)
    placeholders: dict[str, str] | None = None
    example: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_document(self) -> TemplateCreate:
        if (self.edit is None) == (self.timeline is None):
            raise ValueError("give exactly one of edit (an edit document) or timeline")
        if self.edit is not None and not isinstance(self.edit.get("timeline"), dict):
            raise ValueError("edit.timeline: is required")
        return self

    def document(self) -> dict[str, Any]:
        """The edit document with its placeholders."""
        if self.edit is not None:
            return self.edit
        doc: dict[str, Any] = {"timeline": self.timeline}
        if self.output is not None:
            doc["output"] = self.output
        return doc
