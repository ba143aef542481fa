"""Stream control across processes: what the ingest owner must do to its live sessions, read from the
database.

The API may run in a process (or on a machine) other than the one holding a publisher's connection.
API routes therefore record every control request in the database (a new stream key, ``disabled``,
``deleted_at``, ``complete_requested_at``) and also call the ingest owner directly when it happens to
live in the same process (instant). Every ingest owner reconciles its sessions with the database every
:data:`RECONCILE_S` seconds, so the request takes effect wherever the publisher is connected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidlake.db.models import LiveStream

#: How often an ingest owner reads the control state of its sessions (seconds).
RECONCILE_S = 1.0

Action = Literal["kick", "complete"]


@dataclass(frozen=True)
class SessionRef:
    """What reconciliation needs to know of a live session: its stream, the key its publisher used,
    whether a publisher is connected, and when the session opened (Unix seconds)."""

    stream_id: str
    stream_key: str
    connected: bool
    opened_at: float


@dataclass(frozen=True)
class ControlAction:
    """``kick``: cut the publisher using ``stream_key`` (its key was reset); ``complete``: cut the
    publisher if any and end the session now (stream completed, disabled or deleted)."""

    stream_id: str
    stream_key: str
    action: Action
    reason: str


def reconcile(session: Session, refs: list[SessionRef]) -> list[ControlAction]:
    """The actions the owner of ``refs`` must take (one query for all of them)."""
    if not refs:
        return []
    rows = {s.id: s for s in session.scalars(select(LiveStream).where(
        LiveStream.id.in_([r.stream_id for r in refs])))}
    actions: list[ControlAction] = []
    for ref in refs:
        stream = rows.get(ref.stream_id)
        if stream is None or stream.deleted_at is not None:
            actions.append(ControlAction(ref.stream_id, ref.stream_key, "complete", "deleted"))
        elif stream.status == "disabled":
            actions.append(ControlAction(ref.stream_id, ref.stream_key, "complete", "disabled"))
        elif stream.complete_requested_at is not None and stream.complete_requested_at >= ref.opened_at:
            actions.append(ControlAction(ref.stream_id, ref.stream_key, "complete", "completed"))
        elif ref.connected and stream.stream_key != ref.stream_key:
            actions.append(ControlAction(ref.stream_id, ref.stream_key, "kick", "stream key reset"))
    return actions
