"""The table of web inputs (``vidlake.webinput``): a web page rendered by a real Chromium and streamed
into a live stream.

Kept apart from :mod:`vidlake.db.models` (same ``Base``, same metadata) to keep modules small.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vidlake.core.clock import now
from vidlake.db.models import Base


class WebInput(Base):
    """A web input. ``status``: idle → launching → streaming → idle (``shutdown``, ``timeout`` seconds
    after the launch, or the page's browser failing three times in a row).

    ``owner`` is the runner (one per ``vidlake serve`` with ingest) that runs it while launching or
    streaming, with ``owner_seen_at`` (Unix seconds) renewed every second: a runner that stops renewing
    (a killed machine) loses it to another after ``vidlake.webinput.runner.OWNER_STALE_S``.
    ``reload_requested``: ``PUT .../reload`` counter, compared with ``reloads_done`` by the runner."""

    __tablename__ = "web_inputs"
    __table_args__ = (Index("ix_web_inputs_env_created", "environment_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    live_stream_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    resolution: Mapped[str] = mapped_column(String(16), default="1920x1080")
    timeout: Mapped[int] = mapped_column(Integer, default=3600)
    auto_launch: Mapped[bool] = mapped_column(Boolean, default=False)
    passthrough: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="idle", index=True)
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    owner_seen_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    launched_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    reload_requested: Mapped[int] = mapped_column(Integer, default=0)
    reloads_done: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now)
    deleted_at: Mapped[float | None] = mapped_column(Float, nullable=True)
