"""The job table's state machine. Every transition is one conditional UPDATE, so any number of
workers and reapers on any number of machines can race safely.

::

    queued ──claim──► running ──complete──► succeeded
      ▲                  │ ├──fail (permanent)──► failed
      │                  │ ├──fail / lease expired, attempts left──► queued (run_at = now + backoff)
      │                  │ ├──fail / lease expired, no attempts left──► dead
      │                  │ └──cancel seen──► cancelled
      └──release (graceful shutdown; the attempt is not counted)
    queued ──cancel──► cancelled
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import Conflict, NotFound
from vidlake.core.ids import new_id
from vidlake.db.models import Job
from vidlake.db.session import ENQUEUED_KEY, Database, is_postgres
from vidlake.jobs import registry
from vidlake.jobs.policy import backoff_s

log = logging.getLogger(__name__)

STATES = ("queued", "running", "succeeded", "failed", "cancelled", "dead")
FINAL_STATES = ("succeeded", "failed", "cancelled", "dead")
_ERROR_LIMIT = 4000


@dataclass(frozen=True)
class ClaimedJob:
    """Plain data about a job a worker holds: what a handler is given (never an ORM object)."""

    id: str
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    environment_id: str | None
    timeout_s: float | None
    lease_owner: str


def worker_identity() -> str:
    """A lease owner name unique to this process: host:pid:random."""
    return f"{socket.gethostname()}:{os.getpid()}:{new_id(6)}"


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    environment_id: str | None = None,
    max_attempts: int | None = None,
    delay_s: float = 0.0,
    timeout_s: float | None = None,
    priority: int = 0,
    idempotency_key: str | None = None,
) -> str:
    """Add a job in ``session`` (committed with the caller's other changes); returns its id.

    With ``idempotency_key``, enqueuing the same key again returns the existing job's id.
    ``max_attempts`` defaults to the kind's policy, else ``VIDLAKE_JOB_MAX_ATTEMPTS``.
    """
    if max_attempts is None:
        max_attempts = registry.default_max_attempts(kind)
    if idempotency_key is not None:
        existing = session.scalar(select(Job.id).where(Job.idempotency_key == idempotency_key))
        if existing:
            return existing
    job = Job(
        id=new_id(),
        environment_id=environment_id,
        kind=kind,
        payload=payload or {},
        state="queued",
        priority=priority,
        attempts=0,
        max_attempts=max_attempts,
        run_at=now() + delay_s,
        timeout_s=timeout_s,
        idempotency_key=idempotency_key,
        created_at=now(),
        progress=0.0,
        cancel_requested=False,
    )
    session.add(job)
    if idempotency_key is not None:
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            existing = session.scalar(select(Job.id).where(Job.idempotency_key == idempotency_key))
            if existing:
                return existing
            raise
    session.info.setdefault(ENQUEUED_KEY, []).append(job.id)
    return job.id


def claim(db: Database, owner: str, kinds: list[str], lease_s: float, job_id: str | None = None) -> ClaimedJob | None:
    """Take the next due job of ``kinds`` (or exactly ``job_id``) for ``owner``; None if none is free."""
    with db.session() as session:
        t = now()
        query = select(Job.id).where(Job.state == "queued", Job.run_at <= t)
        if job_id is not None:
            query = query.where(Job.id == job_id)
        else:
            query = query.where(Job.kind.in_(kinds)).order_by(Job.priority.desc(), Job.run_at)
            # PostgreSQL: SKIP LOCKED hands each claimer a different row, so one is enough. SQLite
            # serialises writers; a few candidates let a loser of the race try the next one.
            query = query.limit(1 if is_postgres(db.engine) else 8)
        if is_postgres(db.engine):
            query = query.with_for_update(skip_locked=True)
        candidates = list(session.scalars(query))
        for candidate in candidates:
            result = session.execute(
                update(Job)
                .where(Job.id == candidate, Job.state == "queued")
                .values(
                    state="running",
                    lease_owner=owner,
                    lease_expires_at=t + lease_s,
                    attempts=Job.attempts + 1,
                    started_at=func.coalesce(Job.started_at, t),
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                row = session.get(Job, candidate, populate_existing=True)
                assert row is not None
                return ClaimedJob(
                    id=row.id,
                    kind=row.kind,
                    payload=dict(row.payload or {}),
                    attempt=row.attempts,
                    max_attempts=row.max_attempts,
                    environment_id=row.environment_id,
                    timeout_s=row.timeout_s,
                    lease_owner=owner,
                )
    return None


def heartbeat(db: Database, job: ClaimedJob, lease_s: float, progress: float | None = None) -> tuple[bool, bool]:
    """Renew ``job``'s lease. Returns (still ours, cancel requested)."""
    values: dict[str, Any] = {"lease_expires_at": now() + lease_s}
    if progress is not None:
        values["progress"] = max(0.0, min(100.0, progress))
    with db.session() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.lease_owner == job.lease_owner, Job.state == "running")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False, False
        cancel = session.scalar(select(Job.cancel_requested).where(Job.id == job.id))
        return True, bool(cancel)


def _finish(db: Database, job: ClaimedJob, then: Callable[[Session], None] | None = None, **values: Any) -> bool:
    """Fenced final write of ``job``; ``then(session)`` runs in the same transaction if it applied."""
    with db.session() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.lease_owner == job.lease_owner, Job.state == "running")
            .values(lease_owner=None, lease_expires_at=None, **values)
            .execution_options(synchronize_session=False)
        )
        applied = bool(result.rowcount == 1)  # type: ignore[attr-defined]
        if applied and then is not None:
            then(session)
        return applied


def complete(db: Database, job: ClaimedJob, result: dict[str, Any] | None) -> bool:
    """Mark ``job`` succeeded with ``result`` and run its kind's ``after_success`` hooks in the same
    transaction. False if the lease was lost first."""
    return _finish(db, job, lambda session: registry.run_success_hooks(session, job.kind, job.payload, result),
                   state="succeeded", result=result, progress=100.0, finished_at=now())


def fail(
    db: Database, job: ClaimedJob, error: str, *, permanent: bool, backoff_base_s: float, backoff_max_s: float
) -> str | None:
    """Record a failed attempt: retry later, or end ``failed``/``dead``. Returns the new state."""
    error = error[-_ERROR_LIMIT:]
    extra: dict[str, Any]
    if permanent:
        state, extra = "failed", {"finished_at": now()}
    elif job.attempt >= job.max_attempts:
        state, extra = "dead", {"finished_at": now()}
    else:
        state, extra = "queued", {"run_at": now() + backoff_s(job.attempt, backoff_base_s, backoff_max_s),
                                  "dispatched_at": None}
    ok = _finish(db, job, state=state, last_error=error, **extra)
    if ok and state == "queued":
        _notify(db, [job.id])
    return state if ok else None


def mark_cancelled(db: Database, job: ClaimedJob) -> bool:
    """The running job saw its cancel request and stopped."""
    return _finish(db, job, state="cancelled", finished_at=now())


def release(db: Database, job: ClaimedJob) -> bool:
    """Give a running job back (graceful shutdown): queued again, this attempt not counted."""
    ok = _finish(db, job, state="queued", attempts=Job.attempts - 1, run_at=now(), dispatched_at=None)
    if ok:
        _notify(db, [job.id])
    return ok


def defer(db: Database, job: ClaimedJob, delay_s: float, reason: str) -> bool:
    """Queue a running job again in ``delay_s`` seconds without counting this attempt (the handler said
    "not yet": :class:`~vidlake.jobs.errors.JobDeferred`)."""
    ok = _finish(db, job, state="queued", attempts=Job.attempts - 1, run_at=now() + max(0.0, delay_s),
                 dispatched_at=None, last_error=f"deferred: {reason}"[-_ERROR_LIMIT:])
    if ok:
        _notify(db, [job.id])
    return ok


def run_now(session: Session, idempotency_key: str) -> str | None:
    """Make the queued job with ``idempotency_key`` due now (in ``session``; dispatched by the caller's
    commit hook or the maintenance loop); its id, or ``None`` when no such job waits."""
    job_id = session.scalar(select(Job.id).where(Job.idempotency_key == idempotency_key, Job.state == "queued"))
    if job_id is None:
        return None
    session.execute(update(Job).where(Job.id == job_id, Job.state == "queued")
                    .values(run_at=now(), dispatched_at=None).execution_options(synchronize_session=False))
    session.info.setdefault(ENQUEUED_KEY, []).append(job_id)
    return job_id


def cancel(db: Database, job_id: str, environment_id: str | None = None) -> str:
    """Cancel a job: at once if queued, at its next heartbeat if running. Returns the state now."""
    with db.session() as session:
        query = select(Job).where(Job.id == job_id)
        if environment_id is not None:
            query = query.where(Job.environment_id == environment_id)
        job = session.scalar(query)
        if job is None:
            raise NotFound(f"job {job_id!r} not found")
        if job.state in FINAL_STATES:
            if job.state == "cancelled":
                return job.state
            raise Conflict(f"job {job_id!r} already ended {job.state}")
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "queued")
            .values(state="cancelled", finished_at=now())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return "cancelled"
        session.execute(
            update(Job).where(Job.id == job_id).values(cancel_requested=True).execution_options(
                synchronize_session=False)
        )
        return "running"


@dataclass(frozen=True)
class DeadJob:
    """A job the reaper ended dead: what its kind's final-failure hook needs."""

    id: str
    kind: str
    payload: dict[str, Any]
    error: str


def reap_expired(db: Database, backoff_base_s: float, backoff_max_s: float, dead: list[DeadJob] | None = None) -> int:
    """Put jobs whose lease expired (their worker died) back in the queue, or end them dead (appended
    to ``dead`` when given). Returns how many jobs were reaped.
    """
    t = now()
    reaped: list[str] = []
    with db.session() as session:
        rows = session.execute(
            select(Job.id, Job.lease_owner, Job.attempts, Job.max_attempts, Job.cancel_requested, Job.kind,
                   Job.payload)
            .where(Job.state == "running", Job.lease_expires_at < t)
            .limit(500)
        ).all()
        for job_id, owner, attempts, max_attempts, cancel_requested, kind, payload in rows:
            message = f"worker {owner} lost (lease expired) during attempt {attempts}"
            if cancel_requested:
                values: dict[str, Any] = {"state": "cancelled", "finished_at": t}
            elif attempts >= max_attempts:
                values = {"state": "dead", "finished_at": t, "last_error": message}
            else:
                values = {"state": "queued", "run_at": t + backoff_s(attempts, backoff_base_s, backoff_max_s),
                          "last_error": message, "dispatched_at": None}
            result = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == "running", Job.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None, **values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                log.warning("reaped job %s: %s -> %s", job_id, message, values["state"])
                if values["state"] == "queued":
                    reaped.append(job_id)
                elif values["state"] == "dead" and dead is not None:
                    dead.append(DeadJob(job_id, kind, dict(payload or {}), message))
    if reaped:
        _notify(db, reaped)
    return len(rows)


def due_undispatched(db: Database, older_than_s: float, limit: int = 200) -> list[tuple[str, float]]:
    """Queued jobs never handed to the broker (or handed long ago): (id, run_at)."""
    t = now()
    with db.session() as session:
        rows = session.execute(
            select(Job.id, Job.run_at)
            .where(
                Job.state == "queued",
                (Job.dispatched_at.is_(None)) | (Job.dispatched_at < t - older_than_s),
            )
            .order_by(Job.run_at)
            .limit(limit)
        ).all()
    return [(r[0], r[1]) for r in rows]


def mark_dispatched(db: Database, job_ids: list[str]) -> None:
    """Record that ``job_ids`` were handed to the broker."""
    if not job_ids:
        return
    with db.session() as session:
        session.execute(
            update(Job).where(Job.id.in_(job_ids)).values(dispatched_at=now()).execution_options(
                synchronize_session=False)
        )


def _notify(db: Database, job_ids: list[str]) -> None:
    if db.after_commit is not None:
        try:
            db.after_commit(job_ids)
        except Exception:  # the maintenance loop re-dispatches; never fail a transition for this
            log.exception("dispatching jobs %s failed", job_ids)


def get_job(db: Database, job_id: str) -> Job | None:
    """The job row (detached), or None."""
    with db.session() as session:
        return session.get(Job, job_id)


def counts_by_state_and_kind(db: Database) -> dict[tuple[str, str], int]:
    """Number of jobs per (state, kind)."""
    with db.session() as session:
        rows = session.execute(select(Job.state, Job.kind, func.count()).group_by(Job.state, Job.kind)).all()
    return {(r[0], r[1]): int(r[2]) for r in rows}
