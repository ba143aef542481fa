"""Live stream request schemas (Mux's ``CreateLiveStreamRequest`` subset Vidlake implements)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from vidlake.api.schemas.assets import AssetSettings, PlaybackPolicy, StaticRenditionRequest
from vidlake.api.schemas.common import StrictModel


class SimulcastTargetCreate(StrictModel):
    """``POST .../simulcast-targets``: restream to ``{url}/{stream_key}`` (rtmp:// or rtmps://)."""

    url: str = Field(min_length=8, max_length=2048, pattern=r"^rtmps?://")
    stream_key: str | None = Field(None, max_length=255)
    passthrough: str | None = Field(None, max_length=255)


class LiveSubtitleSettings(StrictModel):
    """One entry of a live stream's ``generated_subtitles`` (Mux's
    ``LiveStreamGeneratedSubtitleSettings``)."""

    name: str | None = Field(None, max_length=255)
    passthrough: str | None = Field(None, max_length=255)
    language_code: str = Field("en", max_length=35)
    transcription_vocabulary_ids: list[str] | None = Field(None, max_length=10)


class GeneratedSubtitlesUpdate(StrictModel):
    """``PUT /video/v1/live-streams/{id}/generated-subtitles``: the list replaces the old one ([] removes
    it); it applies from the next live session."""

    generated_subtitles: list[LiveSubtitleSettings] = Field(max_length=1)


class EmbeddedSubtitleSettings(StrictModel):
    """One CEA-608 channel the publisher carries in its H.264 (SEI user data, ATSC A/53), as Mux's
    ``LiveStreamEmbeddedSubtitleSettings``: declared in the master playlist as closed captions."""

    name: str | None = Field(None, max_length=255)
    passthrough: str | None = Field(None, max_length=255)
    language_code: str = Field("en", min_length=2, max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
    language_channel: Literal["cc1", "cc2", "cc3", "cc4"] = "cc1"


def _distinct_channels(entries: list[EmbeddedSubtitleSettings] | None) -> list[EmbeddedSubtitleSettings] | None:
    channels = [e.language_channel for e in entries or []]
    for i, channel in enumerate(channels):
        if channel in channels[:i]:
            raise ValueError(f"language_channel {channel} is listed twice (entry {i})")
    return entries


class EmbeddedSubtitlesUpdate(StrictModel):
    """``PUT /video/v1/live-streams/{id}/embedded-subtitles``: the list replaces the old one ([] removes
    it); it applies from the next live session."""

    embedded_subtitles: list[EmbeddedSubtitleSettings] = Field(max_length=4)

    _channels = field_validator("embedded_subtitles")(_distinct_channels)


class LiveStreamCreate(StrictModel):
    """``POST /video/v1/live-streams``. Times in seconds."""

    playback_policy: list[PlaybackPolicy] | None = Field(None, max_length=5)
    playback_policies: list[PlaybackPolicy] | None = Field(None, max_length=5)
    new_asset_settings: AssetSettings | None = None
    reconnect_window: float = Field(60.0, ge=0, le=1800)
    latency_mode: Literal["standard", "reduced", "low"] | None = None
    reduced_latency: bool | None = None
    low_latency: bool | None = None
    max_continuous_duration: int = Field(43200, ge=60, le=43200)
    passthrough: str | None = Field(None, max_length=255)
    test: bool | None = None
    audio_only: bool | None = Field(None, description="Accepted for SDK compatibility.")
    use_slate_for_standard_latency: bool | None = Field(None, description="Accepted; no slate is inserted.")
    simulcast_targets: list[SimulcastTargetCreate] | None = Field(None, max_length=6)
    effects: list[Any] | None = Field(None, description="Video effects of every publish (docs/effects.md); "
                                      "checked by vidlake.effects.registry.parse_effects.")
    generated_subtitles: list[LiveSubtitleSettings] | None = Field(None, max_length=1)
    embedded_subtitles: list[EmbeddedSubtitleSettings] | None = Field(None, max_length=4)

    _channels = field_validator("embedded_subtitles")(_distinct_channels)

    @field_validator("playback_policy", "playback_policies", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def service_request(self) -> dict[str, Any]:
        """The plain dict ``live.streams.create_live_stream`` takes."""
        mode = self.latency_mode or ("low" if self.low_latency else "reduced" if self.reduced_latency else "standard")
        return {
            "playback_policy": list(dict.fromkeys((self.playback_policy or []) + (self.playback_policies or []))),
            "new_asset_settings": self.new_asset_settings.pipeline_request() if self.new_asset_settings else None,
            "reconnect_window": self.reconnect_window,
            "latency_mode": mode,
            "max_continuous_duration": self.max_continuous_duration,
            "passthrough": self.passthrough,
            "test": bool(self.test),
            "simulcast_targets": [t.model_dump() for t in self.simulcast_targets or []],
            "effects": self.effects or None,
            "embedded_subtitles": [e.model_dump() for e in self.embedded_subtitles or []] or None,
        }


class LiveStreamUpdate(StrictModel):
    """``PATCH /video/v1/live-streams/{id}``: only the fields sent change. Times in seconds."""

    passthrough: str | None = Field(None, max_length=255)
    latency_mode: Literal["standard", "reduced", "low"] | None = None
    reconnect_window: float | None = Field(None, ge=0, le=1800)
    max_continuous_duration: int | None = Field(None, ge=60, le=43200)
    use_slate_for_standard_latency: bool | None = Field(None, description="Accepted; no slate is inserted.")
    effects: list[Any] | None = Field(None, description="Video effects of the publishes from now on; "
                                      "null or [] removes them.")

    def changes(self) -> dict[str, Any]:
        """The fields sent (a null ``passthrough`` or ``effects`` clears it; other nulls change nothing)."""
        sent = self.model_dump(include=self.model_fields_set)
        out = {k: v for k, v in sent.items() if v is not None or k in ("passthrough", "effects")}
        if "effects" in out and not out["effects"]:
            out["effects"] = None
        return out


class NewAssetStaticRenditions(StrictModel):
    """``PUT .../new-asset-settings/static-renditions``: the recorded assets' static renditions."""

    static_renditions: list[StaticRenditionRequest] = Field(max_length=2)
