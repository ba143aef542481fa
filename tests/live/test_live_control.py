"""Reconciliation of live sessions with the control state in the database (both database backends)."""

from __future__ import annotations

import time

from vidlake.db.models import Environment, LiveStream
from vidlake.db.session import Database
from vidlake.live import streams
from vidlake.live.control import ControlAction, SessionRef, reconcile


def _streams(db: Database, n: int) -> list[tuple[str, str]]:
    with db.session() as session:
        session.add(Environment(id="env1", name="test"))
        session.flush()
        made = [streams.create_live_stream(session, "env1", {"playback_policy": ["public"]}) for _ in range(n)]
        return [(s.id, s.stream_key) for s in made]


def _ref(stream: tuple[str, str], *, connected: bool = True, opened_at: float | None = None) -> SessionRef:
    return SessionRef(stream[0], stream[1], connected, time.time() if opened_at is None else opened_at)


def test_reconcile_reports_each_kind_of_request(db: Database) -> None:
    quiet, reset, disabled, deleted, completed, reset_idle = _streams(db, 6)
    refs = [_ref(quiet), _ref(reset), _ref(disabled), _ref(deleted), _ref(completed, opened_at=time.time() - 5),
            _ref(reset_idle, connected=False)]
    with db.session() as session:
        assert reconcile(session, refs) == []
        get = session.get
        streams.reset_stream_key(session, get(LiveStream, reset[0]))
        streams.reset_stream_key(session, get(LiveStream, reset_idle[0]))
        streams.disable(session, get(LiveStream, disabled[0]))
        streams.delete_live_stream(session, get(LiveStream, deleted[0]))
        streams.request_complete(session, get(LiveStream, completed[0]))
    with db.session() as session:
        actions = reconcile(session, refs)
    assert actions == [
        ControlAction(reset[0], reset[1], "kick", "stream key reset"),
        ControlAction(disabled[0], disabled[1], "complete", "disabled"),
        ControlAction(deleted[0], deleted[1], "complete", "deleted"),
        ControlAction(completed[0], completed[1], "complete", "completed"),
    ]


def test_an_old_complete_request_does_not_end_a_new_session(db: Database) -> None:
    (stream,) = _streams(db, 1)
    with db.session() as session:
        streams.request_complete(session, session.get(LiveStream, stream[0]))
    time.sleep(0.01)
    with db.session() as session:
        assert reconcile(session, [_ref(stream)]) == []
