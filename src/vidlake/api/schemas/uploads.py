"""Schemas for direct uploads (``/video/v1/uploads``), shaped like Mux's ``Upload`` objects.

Request models are strict: unknown fields and wrong JSON types are 400 errors that name the field.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vidlake.api.schemas.assets import AssetSettings
from vidlake.vod.uploads import DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S, MIN_TIMEOUT_S

#: Asset creation fields that make no sense for a direct upload (the upload is the input).
_NOT_FOR_UPLOADS = ("input", "inputs", "url", "advanced_playback_policies")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AssetMeta(_Strict):
    """Free-form descriptive fields kept with the request."""

    title: str | None = Field(None, max_length=512)
    creator_id: str | None = Field(None, max_length=128)
    external_id: str | None = Field(None, max_length=128)


class NewAssetSettings(AssetSettings):
    """The asset created once the upload is complete: the asset creation fields without inputs, plus
    ``copy_overlays`` (sent by Mux's SDKs by default; ignored) and ``meta`` (kept). Strict JSON types."""

    model_config = ConfigDict(extra="forbid", strict=True)

    copy_overlays: bool | None = None
    meta: AssetMeta | None = None

    @model_validator(mode="before")
    @classmethod
    def _refuse_inputs(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for name in _NOT_FOR_UPLOADS:
                if name in value:
                    raise ValueError(f"{name}: not supported for direct uploads (the uploaded file is the input)")
        return value


class UploadCreate(_Strict):
    """``POST /video/v1/uploads``."""

    new_asset_settings: NewAssetSettings = Field(default_factory=NewAssetSettings)
    cors_origin: str | None = Field(None, max_length=2048,
                                    description="Browser origin allowed to send the bytes, or '*'.")
    timeout: int = Field(DEFAULT_TIMEOUT_S, ge=MIN_TIMEOUT_S, le=MAX_TIMEOUT_S,
                         description="Seconds the upload URL stays valid before the upload times out.")
    test: bool = False

    @field_validator("cors_origin")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        if value is None or value == "*":
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") \
                or parts.query or parts.fragment:
            raise ValueError("must be '*' or an origin such as https://example.com")
        return f"{parts.scheme}://{parts.netloc}".lower()


class UploadError(BaseModel):
    """Why an upload errored."""

    type: str
    message: str


class UploadPublic(BaseModel):
    """A direct upload (Mux's ``Upload``)."""

    id: str
    timeout: int = Field(description="Seconds the upload URL is valid after creation.")
    status: Literal["waiting", "asset_created", "errored", "cancelled", "timed_out"]
    new_asset_settings: dict[str, Any]
    asset_id: str | None = None
    error: UploadError | None = None
    cors_origin: str | None = None
    url: str = Field(description="Where to send the bytes: PUT, Content-Range chunks or tus (no token needed).")
    test: bool
