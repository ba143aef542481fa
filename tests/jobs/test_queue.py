"""The job state machine on SQLite and PostgreSQL (in-process; worker processes are in test_worker)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import vidlake_test_kinds  # noqa: F401  (registers test.* kinds)
from sqlalchemy import update
from sqlalchemy.orm import Session

from vidlake.core.errors import Conflict
from vidlake.core.settings import Settings
from vidlake.db.models import Job
from vidlake.db.session import Database
from vidlake.jobs import queue
from vidlake.jobs.context import JobContext
from vidlake.jobs.execute import execute
from vidlake.jobs.registry import after_success, job_kind, load_modules
from vidlake.jobs.worker import Worker
from vidlake.startup import build_services

load_modules()


def _job(db: Database, job_id: str) -> Job:
    row = queue.get_job(db, job_id)
    assert row is not None
    return row


def _enqueue(db: Database, kind: str, payload: dict[str, object], **kw: object) -> str:
    with db.session() as session:
        return queue.enqueue(session, kind, payload, **kw)  # type: ignore[arg-type]


def test_claim_complete(db: Database, settings: Settings, tmp_path: Path) -> None:
    job_id = _enqueue(db, "test.mark", {"path": str(tmp_path / "out")})
    claimed = queue.claim(db, "w1", ["test.mark"], 30)
    assert claimed is not None and claimed.id == job_id and claimed.attempt == 1
    assert queue.claim(db, "w2", ["test.mark"], 30) is None  # nobody else gets it
    services = build_services(settings)
    assert execute(services, claimed) == "succeeded"
    row = _job(db, job_id)
    assert row.state == "succeeded" and row.result == {"attempt": 1} and row.progress == 100.0
    assert (tmp_path / "out").read_text().startswith("1 ")


def test_kinds_filter_and_priority(db: Database) -> None:
    low = _enqueue(db, "test.mark", {"path": "x"})
    high = _enqueue(db, "test.mark", {"path": "x"}, priority=5)
    _enqueue(db, "other.kind", {})
    first = queue.claim(db, "w", ["test.mark"], 30)
    second = queue.claim(db, "w", ["test.mark"], 30)
    assert first is not None and second is not None
    assert (first.id, second.id) == (high, low)
    assert queue.claim(db, "w", ["test.mark"], 30) is None


def test_retry_with_backoff_then_success(db: Database, settings: Settings) -> None:
    job_id = _enqueue(db, "test.flaky", {"succeed_on": 3}, max_attempts=5)
    services = build_services(settings)
    states = []
    for _ in range(3):
        deadline = time.monotonic() + 10
        claimed = None
        while claimed is None and time.monotonic() < deadline:
            claimed = queue.claim(db, "w", ["test.flaky"], 30)
            time.sleep(0.01)
        assert claimed is not None
        states.append(execute(services, claimed))
    assert states == ["queued", "queued", "succeeded"]
    row = _job(db, job_id)
    assert row.attempts == 3 and row.state == "succeeded"
    assert row.last_error is not None and "flaky failure on attempt 2" in row.last_error


def test_backoff_delays_the_retry(db: Database, settings: Settings) -> None:
    settings.job_backoff_base_s = 30
    settings.job_backoff_max_s = 600
    job_id = _enqueue(db, "test.flaky", {"succeed_on": 2})
    claimed = queue.claim(db, "w", ["test.flaky"], 30)
    assert claimed is not None
    assert execute(build_services(settings), claimed) == "queued"
    row = _job(db, job_id)
    assert row.run_at > time.time() + 20  # ~30 s away (±10 %)
    assert queue.claim(db, "w", ["test.flaky"], 30) is None


def test_exhausted_attempts_end_dead_with_last_error(db: Database, settings: Settings) -> None:
    job_id = _enqueue(db, "test.flaky", {"succeed_on": 99}, max_attempts=2)
    services = build_services(settings)
    outcomes = []
    for _ in range(2):
        claimed = None
        deadline = time.monotonic() + 10
        while claimed is None and time.monotonic() < deadline:
            claimed = queue.claim(db, "w", ["test.flaky"], 30)
        assert claimed is not None
        outcomes.append(execute(services, claimed))
    assert outcomes == ["queued", "dead"]
    row = _job(db, job_id)
    assert row.state == "dead" and "attempt 2" in (row.last_error or "")


def test_permanent_error_fails_without_retry(db: Database, settings: Settings) -> None:
    job_id = _enqueue(db, "test.bad_input", {})
    claimed = queue.claim(db, "w", ["test.bad_input"], 30)
    assert claimed is not None
    assert execute(build_services(settings), claimed) == "failed"
    assert _job(db, job_id).last_error == "input is not valid media"


def test_expired_lease_is_reaped_and_old_owner_is_fenced(db: Database) -> None:
    job_id = _enqueue(db, "test.mark", {"path": "x"})
    first = queue.claim(db, "dead-worker", ["test.mark"], lease_s=0.05)
    assert first is not None
    time.sleep(0.1)
    assert queue.reap_expired(db, backoff_base_s=0, backoff_max_s=0) == 1
    row = _job(db, job_id)
    assert row.state == "queued" and "lease expired" in (row.last_error or "")
    second = queue.claim(db, "new-worker", ["test.mark"], 30)
    assert second is not None and second.attempt == 2
    # The old owner's late writes are refused.
    assert queue.complete(db, first, {"stale": True}) is False
    assert queue.heartbeat(db, first, 30) == (False, False)
    assert queue.complete(db, second, {"ok": True}) is True
    assert _job(db, job_id).result == {"ok": True}


def test_expired_lease_without_attempts_left_is_dead(db: Database) -> None:
    job_id = _enqueue(db, "test.mark", {"path": "x"}, max_attempts=1)
    assert queue.claim(db, "w", ["test.mark"], lease_s=0.01) is not None
    time.sleep(0.05)
    queue.reap_expired(db, 0, 0)
    row = _job(db, job_id)
    assert row.state == "dead" and "lease expired" in (row.last_error or "")


def test_cancel_queued_and_running(db: Database, settings: Settings, tmp_path: Path) -> None:
    queued = _enqueue(db, "test.mark", {"path": str(tmp_path / "q")})
    assert queue.cancel(db, queued) == "cancelled"
    assert queue.claim(db, "w", ["test.mark"], 30) is None
    running = _enqueue(db, "test.mark", {"path": str(tmp_path / "r"), "seconds": 30})
    claimed = queue.claim(db, "w", ["test.mark"], 30)
    assert claimed is not None
    settings.job_lease_s = 0.3  # heartbeat every 0.1 s sees the cancel quickly
    result: list[str | None] = []
    thread = threading.Thread(target=lambda: result.append(execute(build_services(settings), claimed)))
    thread.start()
    time.sleep(0.2)
    assert queue.cancel(db, running) == "running"
    thread.join(timeout=20)
    assert result == ["cancelled"]
    assert _job(db, running).state == "cancelled"
    assert not (tmp_path / "r").exists()
    with pytest.raises(Conflict):
        done = _enqueue(db, "test.mark", {"path": str(tmp_path / "d")})
        c = queue.claim(db, "w", ["test.mark"], 30)
        assert c is not None and queue.complete(db, c, None)
        queue.cancel(db, done)


def test_idempotency_key_returns_the_same_job(db: Database) -> None:
    a = _enqueue(db, "test.mark", {"path": "x"}, idempotency_key="asset-1:transcode")
    b = _enqueue(db, "test.mark", {"path": "x"}, idempotency_key="asset-1:transcode")
    assert a == b


def test_progress_is_written_by_heartbeat(db: Database) -> None:
    job_id = _enqueue(db, "test.mark", {"path": "x"})
    claimed = queue.claim(db, "w", ["test.mark"], 30)
    assert claimed is not None
    assert queue.heartbeat(db, claimed, 30, progress=42.5) == (True, False)
    assert _job(db, job_id).progress == 42.5


def test_concurrent_claimers_never_share_a_job(db: Database) -> None:
    ids = {_enqueue(db, "test.mark", {"path": "x"}) for _ in range(40)}
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        while True:
            job = queue.claim(db, name, ["test.mark"], 30)
            if job is None:
                return
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)


def test_worker_loop_runs_jobs(settings: Settings, db: Database, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for _ in range(3):
        _enqueue(db, "test.mark", {"path": str(out)})
    worker = Worker(build_services(settings), kinds=["test.mark"])
    assert worker.run(max_jobs=3) == 3
    assert len(out.read_text().splitlines()) == 3


@job_kind("test.with_follow_up")
def _with_follow_up(ctx: JobContext) -> dict[str, Any]:
    return {"attempt": ctx.job.attempt}


@after_success("test.with_follow_up")
def _follow_up(session: Session, payload: dict[str, Any], result: dict[str, Any] | None) -> None:
    if result is not None and result["attempt"] < int(payload["hook_ok_from"]):
        raise RuntimeError("follow-up failed")
    queue.enqueue(session, "test.mark", {"path": payload["path"]}, idempotency_key=f"follow:{payload['path']}")


def test_success_hook_runs_in_the_success_transaction(db: Database, settings: Settings, tmp_path: Path) -> None:
    """An ``after_success`` hook's writes commit with the job's success; a hook that raises fails the attempt."""
    path = str(tmp_path / "follow")
    job_id = _enqueue(db, "test.with_follow_up", {"path": path, "hook_ok_from": 2})
    services = build_services(settings)
    claimed = queue.claim(db, "w", ["test.with_follow_up"], 30)
    assert claimed is not None
    assert execute(services, claimed) == "queued"  # the hook raised: retried, nothing queued by it
    assert "follow-up failed" in (_job(db, job_id).last_error or "")
    assert queue.claim(db, "w", ["test.mark"], 30) is None
    with db.session() as session:
        session.execute(update(Job).where(Job.id == job_id).values(run_at=0))
    claimed = queue.claim(db, "w", ["test.with_follow_up"], 30)
    assert claimed is not None and claimed.attempt == 2
    assert execute(services, claimed) == "succeeded"
    follow = queue.claim(db, "w", ["test.mark"], 30)
    assert follow is not None and follow.payload == {"path": path}
