"""Database tables (SQLAlchemy 2). Instants are float Unix seconds; ids are random strings.

State changes happen in explicit functions (``jobs.queue``, ``events.outbox`` ...), never in hooks here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from vidlake.core.clock import now


class Base(DeclarativeBase):
    """Declarative base of every Vidlake table."""


class Environment(Base):
    """A tenant boundary: every resource belongs to exactly one environment."""

    __tablename__ = "environments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[float] = mapped_column(Float, default=now)
    #: The public key players put in their beacons (mux-embed's ``env_key``); made on first use.
    data_env_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)


class AccessToken(Base):
    """An API credential: id + secret (stored as a SHA-256 hex digest), sent as HTTP Basic."""

    __tablename__ = "access_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    secret_hash: Mapped[str] = mapped_column(String(64))
    permission: Mapped[str] = mapped_column(String(16), default="full")  # full | read_only
    created_at: Mapped[float] = mapped_column(Float, default=now)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Job(Base):
    """A durable unit of work. This row is the truth about the job, whatever executor runs it."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "state", "run_at"),
        Index("ix_jobs_lease", "state", "lease_expires_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_at: Mapped[float] = mapped_column(Float, default=now)
    timeout_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    dispatched_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Event(Base):
    """An event, stored before any delivery (the outbox)."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float, default=now, index=True)


class WebhookEndpoint(Base):
    """Where an environment's events are POSTed, and the secret that signs them."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[float] = mapped_column(Float, default=now)


class WebhookDelivery(Base):
    """One event to one endpoint; delivered by a ``webhook.deliver`` job."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), index=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Asset(Base):
    """A video (or audio) asset. ``status``: preparing → ready | errored.

    ``settings`` keeps the creation request (``mp4_support``, ``static_renditions``,
    ``max_resolution_tier``, ``normalize_audio``...); ``tracks`` and ``probe`` are filled by processing.
    ``hls_prefix`` points at the committed HLS output in storage; ``hls_complete`` is False while the
    ladder is still encoding (EVENT playlists) and True once the VOD playlists are final.
    ``master_access`` ``none`` | ``temporary``; ``master_status`` preparing → ready → deleted (or errored)
    for the temporary master MP4, kept until ``master_expires_at`` (Unix seconds) and downloaded with
    the unguessable ``master_token`` in its URL.
    """

    __tablename__ = "assets"
    __table_args__ = (Index("ix_assets_env_created", "environment_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="preparing")
    errors: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    passthrough: Mapped[str | None] = mapped_column(String(255), nullable=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    input_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    upload_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    live_stream_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    source_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    aspect_ratio: Mapped[str | None] = mapped_column(String(16), nullable=True)
    resolution_tier: Mapped[str | None] = mapped_column(String(16), nullable=True)
    max_stored_frame_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    tracks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    probe: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    hls_prefix: Mapped[str | None] = mapped_column(Text, nullable=True)
    hls_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    static_renditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    images_prefix: Mapped[str | None] = mapped_column(Text, nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now)
    ready_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    deleted_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    master_access: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    master_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    master_expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    master_token: Mapped[str | None] = mapped_column(String(64), nullable=True)


class PlaybackId(Base):
    """A public or signed playback id of an asset (or, later, a live stream)."""

    __tablename__ = "playback_ids"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    asset_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    live_stream_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    policy: Mapped[str] = mapped_column(String(16), default="public")  # public | signed
    created_at: Mapped[float] = mapped_column(Float, default=now)


class Upload(Base):
    """A direct upload: ``status`` waiting → asset_created | errored | cancelled | timed_out.

    Bytes arrive by one PUT, chunked PUTs with ``Content-Range`` (UpChunk) or tus 1.0.0 PATCHes, into
    a staging file; ``offset`` bytes are durable. ``length`` is the total size once known.
    """

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    new_asset_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cors_origin: Mapped[str | None] = mapped_column(Text, nullable=True)
    timeout_s: Mapped[float] = mapped_column(Float, default=3600.0)
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    length: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tus_metadata: Mapped[str | None] = mapped_column(Text, nullable=True)
    asset_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    expires_at: Mapped[float] = mapped_column(Float, default=now)


class SigningKey(Base):
    """An RS256 key pair's public half; the private key is returned once on creation."""

    __tablename__ = "signing_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    public_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float, default=now)


class LiveStream(Base):
    """A live stream: publishers push to ``rtmp://host:port/app/{stream_key}``.

    ``status``: idle → active → idle, or disabled. ``new_asset_settings`` is ``None`` when the stream is
    not recorded. ``reconnect_window`` and ``max_continuous_duration`` are seconds. ``hls_prefix`` is
    the storage prefix of the current live HLS output (``None`` when nothing plays).
    ``complete_requested_at`` (Unix seconds) is set by ``PUT .../complete``: the ingest process that owns
    the session, wherever it runs, ends the sessions opened before it (see :mod:`vidlake.live.control`).
    ``effects``: the video effects every publish from now on goes through (``None``: none; see
    :mod:`vidlake.effects.live_worker`).
    """

    __tablename__ = "live_streams"
    __table_args__ = (Index("ix_live_streams_env_created", "environment_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    stream_key: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="idle")
    passthrough: Mapped[str | None] = mapped_column(String(255), nullable=True)
    new_asset_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reconnect_window: Mapped[float] = mapped_column(Float, default=60.0)
    latency_mode: Mapped[str] = mapped_column(String(16), default="standard")
    max_continuous_duration: Mapped[int] = mapped_column(Integer, default=43200)
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    active_asset_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recent_asset_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    hls_prefix: Mapped[str | None] = mapped_column(Text, nullable=True)
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    complete_requested_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    effects: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)  #: validated live effects
    #: live captions: ``[{"language_code", "name", "transcription_vocabulary_ids", "passthrough"}]``
    generated_subtitles: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    #: CEA-608 channels the publisher embeds: ``[{"name", "language_code", "language_channel", "passthrough"}]``
    embedded_subtitles: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now)
    deleted_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class SimulcastTarget(Base):
    """Where a live stream is restreamed without re-encoding: ``{url}/{stream_key}`` (RTMP/RTMPS).

    ``status``: idle → starting → broadcasting → idle, or errored.
    """

    __tablename__ = "simulcast_targets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    live_stream_id: Mapped[str] = mapped_column(ForeignKey("live_streams.id", ondelete="CASCADE"), index=True)
    environment_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(Text)
    stream_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    passthrough: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="idle")
    created_at: Mapped[float] = mapped_column(Float, default=now)


class Edit(Base):
    """A render of a timeline document into a new asset (``vidlake.edit``).

    ``status``: queued → rendering → completed | errored | cancelled. ``document`` is the edit
    document as rendered (templates already filled); ``request`` keeps the new asset's settings
    (``playback_policy``, ``passthrough``); ``details`` holds ``filter_graph`` once compiled;
    ``duration`` is the output's length in seconds; ``progress`` is percent (0-100).
    """

    __tablename__ = "edits"
    __table_args__ = (Index("ix_edits_env_created", "environment_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    preview: Mapped[bool] = mapped_column(Boolean, default=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    template_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    asset_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    errors: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Template(Base):
    """A stored edit document with ``{{placeholders}}``; ``defaults`` fill missing merge values."""

    __tablename__ = "templates"
    __table_args__ = (Index("ix_templates_env_created", "environment_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    defaults: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    placeholders: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[float] = mapped_column(Float, default=now)


class Analysis(Base):
    """An analysis run over an asset: ``kinds`` requested, ``status`` queued → running → completed |
    errored. Full results live in storage (``result_key``); ``summary`` keeps the small parts
    (best cover time, scene count, quality flags) for listing and for the asset."""

    __tablename__ = "analyses"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    asset_id: Mapped[str] = mapped_column(String(64), index=True)
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    errors: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    result_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class TranscriptionVocabulary(Base):
    """Phrases (brand and product names, course terms) that bias caption recognition (Mux's
    transcription vocabularies); ``phrases`` is a list of strings."""

    __tablename__ = "transcription_vocabularies"
    __table_args__ = (Index("ix_transcription_vocabularies_env_created", "environment_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phrases: Mapped[list[str]] = mapped_column(JSON, default=list)
    passthrough: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now)


class PlaybackRestriction(Base):
    """Who may play the signed playback ids whose tokens name it (``playback_restriction_id`` claim).

    ``referrer``: ``allowed_domains`` (host names, ``*.`` wildcards, ``*`` for any) and
    ``allow_no_referrer``; ``user_agent``: ``allow_no_user_agent`` and ``allow_high_risk_user_agent``.
    """

    __tablename__ = "playback_restrictions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    referrer: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    user_agent: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now)


class DeliveryUsage(Base):
    """Media seconds delivered by the HLS routes, summed per hour: one row per environment, asset,
    live stream, hour and resolution tier (``tier_720p`` ... ``tier_audio_only``). ``hour``: Unix
    seconds of the start of the hour; ``asset_id``/``live_stream_id`` are ``""`` when absent (so the
    unique key has no NULL); ``seconds``: media seconds (segment durations), not wall time."""

    __tablename__ = "delivery_usage"
    __table_args__ = (UniqueConstraint("environment_id", "asset_id", "live_stream_id", "hour", "tier",
                                       name="uq_delivery_usage_key"),
                      Index("ix_delivery_usage_env_hour", "environment_id", "hour"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    environment_id: Mapped[str] = mapped_column(String(64))
    asset_id: Mapped[str] = mapped_column(String(64), default="")
    live_stream_id: Mapped[str] = mapped_column(String(64), default="")
    hour: Mapped[int] = mapped_column(BigInteger)
    tier: Mapped[str] = mapped_column(String(16))
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


class ConsoleUser(Base):
    """A person who signs in to the console: email + an argon2id password hash; ``permission`` as tokens'."""

    __tablename__ = "console_users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    permission: Mapped[str] = mapped_column(String(16), default="full")  # full | read_only
    created_at: Mapped[float] = mapped_column(Float, default=now)
    disabled_at: Mapped[float | None] = mapped_column(Float, nullable=True)
