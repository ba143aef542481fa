"""Local worker processes under ``vidlake serve``: SIGKILL mid-job, poison jobs, graceful shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from services import BIN, VidlakeServer, wait_until

from vidlake.db.session import Database
from vidlake.jobs import queue

pytestmark = pytest.mark.slow


def _state(db: Database, job_id: str) -> str:
    row = queue.get_job(db, job_id)
    assert row is not None
    return row.state


@pytest.fixture
def server(tmp_path: Path) -> VidlakeServer:
    srv = VidlakeServer(tmp_path / "srv", workers=1).start()
    yield srv  # type: ignore[misc]
    srv.stop()


def _db(server: VidlakeServer) -> Database:
    return Database(f"sqlite:///{server.data_dir / 'vidlake.db'}")


def test_sigkill_mid_job_loses_nothing(server: VidlakeServer, tmp_path: Path) -> None:
    db = _db(server)
    started, done = tmp_path / "started", tmp_path / "done"
    with db.session() as s:
        job_id = queue.enqueue(s, "test.mark", {"path": str(done), "started": str(started), "seconds": 1.5})
    wait_until(started.exists, what="the job to start")
    attempt, pid = started.read_text().split()
    assert attempt == "1"
    os.kill(int(pid), signal.SIGKILL)  # the worker dies mid-job
    wait_until(lambda: _state(db, job_id) == "succeeded", what="the retried job to succeed")
    row = queue.get_job(db, job_id)
    assert row is not None and row.attempts == 2 and "lease expired" in (row.last_error or "")
    lines = done.read_text().splitlines()
    assert len(lines) == 1 and lines[0].split()[0] == "2" and lines[0].split()[1] != pid


def test_poison_job_ends_dead_instead_of_looping(server: VidlakeServer, tmp_path: Path) -> None:
    db = _db(server)
    with db.session() as s:
        poison = queue.enqueue(s, "test.crash", {}, max_attempts=3)
    wait_until(lambda: _state(db, poison) == "dead", timeout_s=90, what="the poison job to end dead")
    row = queue.get_job(db, poison)
    assert row is not None and row.attempts == 3 and "lease expired" in (row.last_error or "")
    # The pool restarted its worker: later jobs still run.
    with db.session() as s:
        after = queue.enqueue(s, "test.mark", {"path": str(tmp_path / "after")})
    wait_until(lambda: _state(db, after) == "succeeded", what="a job after the poison job")


def test_graceful_shutdown_releases_the_running_job(tmp_path: Path) -> None:
    srv = VidlakeServer(tmp_path / "srv", workers=1).start()
    db = _db(srv)
    started, done = tmp_path / "started", tmp_path / "done"
    with db.session() as s:
        job_id = queue.enqueue(s, "test.mark", {"path": str(done), "started": str(started), "seconds": 30})
    wait_until(started.exists, what="the job to start")
    srv.stop()
    row = queue.get_job(db, job_id)
    assert row is not None and row.state == "queued" and row.attempts == 0 and row.lease_owner is None
    # A standalone `vidlake worker` picks it up and finishes it.
    with db.session() as s:
        s.get(type(row), job_id).payload = {"path": str(done), "seconds": 0}  # type: ignore[union-attr]
    worker = subprocess.Popen([str(BIN / "vidlake"), "worker"], env=srv.env, cwd=srv.data_dir)
    try:
        wait_until(lambda: _state(db, job_id) == "succeeded", what="the released job to finish")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert done.read_text().split()[0] == "1"
