"""Tables of viewer-experience analytics (``vidlake.analytics``): raw beacon events and rolled-up views.

Kept apart from :mod:`vidlake.db.models` (same ``Base``, same metadata) to keep modules small.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vidlake.core.clock import now
from vidlake.db.models import Base


class ViewerEvent(Base):
    """One playback event of a viewer as a mux-embed beacon carried it (``vidlake.analytics``).

    ``data`` keeps the event with the SDK's abbreviated keys, as received; ``seq`` is its
    ``view_sequence_number`` (``xsqno``), unique within a view, so a beacon sent twice is stored once.
    ``viewer_time``: the SDK's clock (Unix milliseconds); ``received_at``: the server's (Unix seconds).
    ``user_agent`` is kept on the first event of each beacon only. ``rolled_up`` turns True once the
    roll-up job folded the event into its :class:`VideoView`."""

    __tablename__ = "viewer_events"
    __table_args__ = (UniqueConstraint("environment_id", "view_id", "seq", name="uq_viewer_events_view_seq"),
                      Index("ix_viewer_events_pending", "rolled_up", "id"),
                      Index("ix_viewer_events_received", "received_at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    environment_id: Mapped[str] = mapped_column(String(64))
    view_id: Mapped[str] = mapped_column(String(128))
    seq: Mapped[int] = mapped_column(BigInteger)
    event: Mapped[str] = mapped_column(String(64))
    viewer_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    received_at: Mapped[float] = mapped_column(Float, default=now)
    user_agent: Mapped[str | None] = mapped_column(String(512), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rolled_up: Mapped[bool] = mapped_column(Boolean, default=False)


class VideoView(Base):
    """One view (mux-embed's ``view_id``) rolled up from its :class:`ViewerEvent` rows.

    ``state`` is the view's data with the SDK's full key names, merged in sequence order (the SDK sends
    only what changed). Times: ``view_start``/``view_end``/``updated_at`` Unix seconds; ``*_ms`` columns
    milliseconds. Percentages and scores are fractions (0-1). Dimension columns are ``None`` when unknown.
    """

    __tablename__ = "video_views"
    __table_args__ = (Index("ix_video_views_env_start", "environment_id", "view_start"),
                      Index("ix_video_views_env_viewer", "environment_id", "viewer_id"))

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    environment_id: Mapped[str] = mapped_column(String(64))
    viewer_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    view_start: Mapped[float] = mapped_column(Float)
    view_end: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, default=now)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    ended: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A play was attempted (the SDK sent ``viewstart``) or the view failed: only such views count.
    started: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    asset_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    playback_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    live_stream_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    video_title: Mapped[str | None] = mapped_column(String(255), nullable=True)
    browser: Mapped[str | None] = mapped_column(String(64), nullable=True)
    operating_system: Mapped[str | None] = mapped_column(String(64), nullable=True)
    player_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    watch_time_ms: Mapped[float] = mapped_column(Float, default=0.0)
    playing_time_ms: Mapped[float] = mapped_column(Float, default=0.0)
    video_startup_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    player_startup_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    rebuffer_count: Mapped[int] = mapped_column(Integer, default=0)
    rebuffer_duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    rebuffer_percentage: Mapped[float] = mapped_column(Float, default=0.0)
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    exit_before_start: Mapped[bool] = mapped_column(Boolean, default=False)
    max_upscale: Mapped[float | None] = mapped_column(Float, nullable=True)
    avg_upscale: Mapped[float | None] = mapped_column(Float, nullable=True)
    playback_success_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    startup_time_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    smoothness_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    video_quality_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    viewer_experience_score: Mapped[float | None] = mapped_column(Float, nullable=True)
