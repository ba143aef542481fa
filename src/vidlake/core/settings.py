"""Vidlake settings: environment variables (``VIDLAKE_*``) and an optional ``vidlake.toml``.

Settings are built by the app factory or the CLI, never at import time. Every field is documented in
``docs/configuration.md``; the names below are the environment variable names without the prefix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """All of Vidlake's settings. Units are in the field names or descriptions."""

    model_config = SettingsConfigDict(
        env_prefix="VIDLAKE_",
        extra="forbid",
        toml_file=os.environ.get("VIDLAKE_CONFIG", "vidlake.toml"),
        validate_default=True,
    )

    # --- network ---------------------------------------------------------------------------------
    http_host: str = Field("127.0.0.1", description="Address the HTTP API binds to.")
    http_port: int = Field(8000, ge=0, le=65535, description="HTTP API port (0 = any free port).")
    rtmp_port: int = Field(1935, ge=0, le=65535,
                           description="RTMP ingest port (0 disables live ingest, SRT included).")
    live_effects_max_lag_s: float = Field(
        3.0, gt=0, le=60,
        description="Seconds a live stream's video effects may fall behind real time before they are dropped "
                    "for the rest of the publish (the stream goes on without them; see docs/effects.md).")
    srt_port: int = Field(
        8890, ge=0, le=65535,
        description="SRT ingest port (UDP; 0 disables SRT). Needs libsrt (Debian: libsrt1.5-openssl) "
        "and live ingest on (VIDLAKE_RTMP_PORT).",
    )
    web_inputs_max: int = Field(
        2, ge=0, le=64,
        description="Web inputs this `serve` (with live ingest) runs at once: each is a Chromium, a virtual "
        "display and an x264 encoder, about one core at 720p30 (0: this process runs none).")
    chromium: str = Field(
        "", description="Chromium binary for web inputs (default: `chromium` on the PATH, Debian's package).")
    public_url: str = Field(
        "",
        description="Base URL clients use to reach this server (for upload and playback URLs). "
        "Defaults to http://{http_host}:{http_port}.",
    )

    # --- state -----------------------------------------------------------------------------------
    data_dir: Path = Field(Path("./data"), description="Directory for the embedded database and local storage.")
    database_url: str = Field(
        "", description="SQLAlchemy URL. Default: SQLite at {data_dir}/vidlake.db. PostgreSQL: "
        "postgresql+psycopg://user:pass@host/db."
    )
    storage_url: str = Field(
        "", description="file:///abs/path or s3://bucket?endpoint=http://host:port&region=us-east-1. "
        "Default: file://{data_dir}/storage."
    )

    # --- jobs ------------------------------------------------------------------------------------
    executor: Literal["local", "celery"] = Field("local", description="Where jobs run.")
    broker_url: str = Field("redis://127.0.0.1:6379/0", description="Celery broker (executor=celery).")
    workers: int = Field(2, ge=0, le=64, description="Local worker processes started by `vidlake serve`.")
    job_lease_s: float = Field(30.0, gt=0, description="Seconds a claimed job is held without a heartbeat.")
    job_max_attempts: int = Field(5, ge=1, le=100, description="Attempts before a job is dead.")
    job_backoff_base_s: float = Field(2.0, ge=0, description="First retry delay; doubles per attempt.")
    job_backoff_max_s: float = Field(600.0, ge=0, description="Upper bound of the retry delay.")
    job_poll_s: float = Field(0.2, gt=0, description="Longest idle wait between claims (seconds).")
    job_modules: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Extra Python modules that register job kinds (comma list)."
    )

    # --- security --------------------------------------------------------------------------------
    bootstrap_token: str = Field(
        "", description="ID:SECRET. On start, if no access token exists, create this one."
    )
    allow_private_networks: bool = Field(
        False, description="Allow webhooks and URL pulls to loopback/private/link-local addresses."
    )
    max_json_body_bytes: int = Field(1_048_576, ge=1024, description="Largest JSON request body (bytes).")

    # --- media -----------------------------------------------------------------------------------
    ffmpeg: str = Field("", description="ffmpeg binary to use instead of the imageio-ffmpeg wheel's.")
    media_max_bytes: int = Field(50 * 1024**3, ge=1, description="Largest accepted media file (bytes).")
    media_max_duration_s: float = Field(12 * 3600.0, gt=0, description="Longest accepted media (seconds).")
    media_max_pixels: int = Field(7680 * 4320, ge=1, description="Largest accepted frame (width x height).")
    media_max_streams: int = Field(32, ge=1, description="Most streams accepted in one file.")
    pull_timeout_s: float = Field(3600.0, gt=0, description="Time limit of a URL pull (seconds).")
    x264_preset: str = Field("veryfast", description="x264 preset for VOD renditions (speed vs size).")
    ffmpeg_threads: int = Field(0, ge=0, le=256, description="Threads per ffmpeg process (0 = ffmpeg decides).")
    ffmpeg_memory_limit_bytes: int = Field(
        4 * 1024**3, ge=256 * 1024**2,
        description="Address-space limit of every ffmpeg Vidlake starts (bytes); one that needs more fails.")

    # --- speech ----------------------------------------------------------------------------------
    speech_model_dir: Path | None = Field(
        None, description="Folder where the Whisper model is assembled from its wheels on first use "
        "(145 MB, SHA-256 checked). Default: $XDG_CACHE_HOME/vidlake/models (~/.cache/vidlake/models).",
    )
    speech_threads: int = Field(2, ge=1, le=64, description="CPU threads of the caption engine per process.")
    subtitle_max_bytes: int = Field(
        8 * 1024**2, ge=1024, description="Largest subtitle file (SRT/WebVTT) accepted for a text track (bytes).",
    )

    # --- viewer analytics (QoE) -------------------------------------------------------------------
    analytics_max_beacon_bytes: int = Field(
        600_000, ge=1024, le=16 * 1024**2,
        description="Largest mux-embed beacon the collector (POST /) accepts (bytes); larger ones get 413.")
    analytics_max_beacon_events: int = Field(1000, ge=1, le=100_000,
                                             description="Most events in one beacon; more get 400.")
    analytics_beacon_domain: str = Field(
        "", description="Host[:port] the player page tells mux-embed to send beacons to (its "
        "beaconCollectionDomain). Default: the page's own host. mux-embed uses plain http only for "
        "localhost[:port], https otherwise.")
    analytics_rollup_interval_s: float = Field(
        5.0, gt=0, le=3600, description="How often new beacon events are rolled up into views (seconds).")
    analytics_view_timeout_s: float = Field(
        900.0, gt=0, description="A view that sent nothing for this long is over (seconds).")
    analytics_event_retention_s: float = Field(
        7 * 86400.0, gt=0, description="How long raw beacon events are kept after their roll-up (seconds).")

    # --- operations ------------------------------------------------------------------------------
    log_level: str = Field("INFO", description="Python logging level.")
    log_format: Literal["json", "text"] = Field("text", description="Log line format.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @field_validator("job_modules", mode="before")
    @classmethod
    def _split_modules(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("bootstrap_token")
    @classmethod
    def _check_bootstrap(cls, value: str) -> str:
        if value:
            token_id, sep, secret = value.partition(":")
            if not sep or not token_id or len(secret) < 16:
                raise ValueError("must be ID:SECRET with a secret of at least 16 characters")
        return value

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'vidlake.db'}"
        if not self.storage_url:
            self.storage_url = f"file://{self.data_dir / 'storage'}"
        if not self.public_url:
            self.public_url = f"http://{self.http_host}:{self.http_port}"
        self.public_url = self.public_url.rstrip("/")
        return self

    @property
    def bootstrap_pair(self) -> tuple[str, str] | None:
        """The bootstrap token as (id, secret), or None."""
        if not self.bootstrap_token:
            return None
        token_id, _, secret = self.bootstrap_token.partition(":")
        return token_id, secret


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, ``vidlake.toml`` and explicit overrides."""
    return Settings(**overrides)
