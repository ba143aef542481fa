"""Asset request schemas (Mux's ``CreateAssetRequest`` subset Vidlake implements)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from vidlake.api.schemas.common import StrictModel

PlaybackPolicy = Literal["public", "signed"]
Mp4Support = Literal["none", "standard", "capped-1080p", "audio-only", "audio-only,capped-1080p"]
MaxTier = Literal["1080p", "1440p", "2160p"]


class GeneratedSubtitles(StrictModel):
    """One caption track to generate from the asset's audio (Mux's ``AssetGeneratedSubtitleSettings``)."""

    language_code: str = Field("en", min_length=2, max_length=35, description="zh, en or another Whisper language.")
    name: str | None = Field(None, max_length=200)
    passthrough: str | None = Field(None, max_length=255)
    transcription_vocabulary_ids: list[str] | None = Field(None, max_length=5)


class InputSettings(StrictModel):
    """One input. Vidlake takes one video input by URL (``asset:`` ids are not supported yet)."""

    url: str = Field(min_length=1, max_length=2048)
    generated_subtitles: list[GeneratedSubtitles] | None = Field(None, max_length=10)


class StaticRenditionRequest(StrictModel):
    """A static rendition to produce: ``highest`` (MP4, capped at 1080p) or ``audio-only`` (M4A)."""

    resolution: Literal["highest", "audio-only"]
    passthrough: str | None = Field(None, max_length=255)


class StaticRenditionCreate(StrictModel):
    """``POST /assets/{id}/static-renditions``: ``highest``, ``audio-only`` or a named resolution (the
    rung whose short side is that many pixels)."""

    resolution: Literal["highest", "audio-only", "2160p", "1440p", "1080p", "720p", "540p", "480p", "360p",
                        "270p"]
    passthrough: str | None = Field(None, max_length=255)


class Mp4SupportUpdate(StrictModel):
    """Legacy ``PUT /assets/{id}/mp4-support``."""

    mp4_support: Mp4Support


class MasterAccessUpdate(StrictModel):
    """``PUT /assets/{id}/master-access``."""

    master_access: Literal["temporary", "none"]


class AssetSettings(StrictModel):
    """Fields shared by asset creation and an upload's ``new_asset_settings``."""

    playback_policy: list[PlaybackPolicy] | None = Field(None, max_length=5)
    playback_policies: list[PlaybackPolicy] | None = Field(None, max_length=5)
    passthrough: str | None = Field(None, max_length=255)
    mp4_support: Mp4Support | None = None
    static_renditions: list[StaticRenditionRequest] | None = Field(None, max_length=4)
    max_resolution_tier: MaxTier | None = None
    normalize_audio: bool | None = None
    video_quality: Literal["basic", "plus", "premium"] | None = None
    encoding_tier: Literal["smart", "baseline", "premium"] | None = None
    master_access: Literal["none"] | None = None
    test: bool | None = None
    per_title_encode: bool | None = None
    analyses: list[str] | None = Field(
        None, max_length=16, description="Vidlake: analysis kinds to run when the asset is ready (GET "
        "/video/v1/analyses/kinds lists them).")
    copy_overlays: bool | None = Field(None, description="Accepted for SDK compatibility; overlays are not supported.")

    @field_validator("analyses")
    @classmethod
    def _known_analyses(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        from vidlake.analyze.registry import kinds

        known = kinds()
        unknown = [k for k in value if k not in known]
        if unknown:
            raise ValueError(f"unknown kind(s) {', '.join(unknown)}; known: {', '.join(known)}")
        return list(dict.fromkeys(value))

    @field_validator("playback_policy", "playback_policies", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def pipeline_request(self) -> dict[str, Any]:
        """The plain dict ``vod.assets.create_asset`` takes."""
        data = self.model_dump(exclude_none=True)
        policies = list(dict.fromkeys((data.pop("playback_policy", None) or []) +
                                      (data.pop("playback_policies", None) or [])))
        data["playback_policy"] = policies
        data.pop("input", None)
        if "static_renditions" in data:
            data["static_renditions"] = [r["resolution"] for r in data["static_renditions"]]
        return data


class AssetCreate(AssetSettings):
    """``POST /video/v1/assets``."""

    input: list[InputSettings] = Field(min_length=1, max_length=1)

    @model_validator(mode="before")
    @classmethod
    def _inputs_alias(cls, data: Any) -> Any:
        """Mux accepts ``inputs`` as another name for ``input``."""
        if isinstance(data, dict) and "inputs" in data and "input" not in data:
            data = {**data, "input": data["inputs"]}
            del data["inputs"]
        return data


class PlaybackIdCreate(StrictModel):
    """``POST /video/v1/assets/{id}/playback-ids``."""

    policy: PlaybackPolicy = "public"


class AssetUpdate(StrictModel):
    """``PATCH /video/v1/assets/{id}``."""

    passthrough: str | None = Field(None, max_length=255)
