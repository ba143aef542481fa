"""The table of one-click creations and live highlights (``vidlake.create``).

Kept apart from :mod:`vidlake.db.models` (same ``Base``, same metadata) to keep modules small.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from vidlake.core.clock import now
from vidlake.db.models import Base


class Creation(Base):
    """A creation: inputs (assets, live recordings) and music in, an ordinary edit (or, in ``highlights``
    mode, one edit per clip) and its asset out.

    ``status``: queued → analysing → rendering → completed | errored | cancelled. ``request`` is the
    validated request; ``plan`` the decisions (the beat grid used, every candidate shot with its scores,
    the chosen ones with their reasons, the dropped ones with why); ``edit_ids`` the edits made (one, or
    one per highlight clip); ``progress`` percent (0-100) of the whole creation."""

    __tablename__ = "creations"
    __table_args__ = (Index("ix_creations_env_created", "environment_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16), default="video")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    edit_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    errors: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
