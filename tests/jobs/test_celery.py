"""The Celery executor with a real redis-server, real celery worker processes and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from services import BIN, SUPPORT, fresh_pg_database, wait_until

from vidlake.core.settings import Settings
from vidlake.jobs import queue
from vidlake.runtime import Services
from vidlake.startup import build_services

pytestmark = pytest.mark.slow


@pytest.fixture
def celery_env(tmp_path: Path, redis_url: str, postgres_url: str) -> Iterator[tuple[Services, dict[str, str]]]:
    from vidlake.db.migrate import upgrade

    db_url = fresh_pg_database(postgres_url, "celery" + tmp_path.name)
    upgrade(db_url)
    env = {
        **os.environ,
        "VIDLAKE_DATA_DIR": str(tmp_path / "data"),
        "VIDLAKE_DATABASE_URL": db_url,
        "VIDLAKE_EXECUTOR": "celery",
        "VIDLAKE_BROKER_URL": redis_url,
        "VIDLAKE_JOB_LEASE_S": "2",
        "VIDLAKE_JOB_BACKOFF_BASE_S": "0.2",
        "VIDLAKE_JOB_MODULES": "vidlake_test_kinds",
        "VIDLAKE_CONFIG": str(tmp_path / "absent.toml"),
        "PYTHONPATH": os.pathsep.join([str(SUPPORT), os.environ.get("PYTHONPATH", "")]),
    }
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url, executor="celery", broker_url=redis_url,
                        job_lease_s=2, job_backoff_base_s=0.2)
    services = build_services(settings)
    # Drop messages left in the shared broker by earlier tests.
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    yield services, env
    services.close()


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    fh = log.open("ab")
    return subprocess.Popen([str(BIN / "vidlake"), "worker", "--executor", "celery", "--concurrency", "1"],
                            env=env, stdout=fh, stderr=fh, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _state(services: Services, job_id: str) -> str:
    row = queue.get_job(services.db, job_id)
    assert row is not None
    return row.state


def test_celery_runs_jobs_and_survives_sigkill(celery_env: tuple[Services, dict[str, str]], tmp_path: Path) -> None:
    services, env = celery_env
    worker = _start_worker(env, tmp_path / "worker.log")
    try:
        done = tmp_path / "quick"
        with services.db.session() as s:
            quick = queue.enqueue(s, "test.mark", {"path": str(done)})
        wait_until(lambda: _state(services, quick) == "succeeded", what="a job through Celery")

        started, slow_done = tmp_path / "started", tmp_path / "slow"
        with services.db.session() as s:
            slow = queue.enqueue(s, "test.mark", {"path": str(slow_done), "started": str(started), "seconds": 1.5})
        wait_until(started.exists, what="the slow job to start")
        _attempt, pid = started.read_text().split()
        os.kill(int(pid), signal.SIGKILL)  # the pool process running the job dies
        wait_until(lambda: _state(services, slow) == "succeeded", what="the killed job to be retried")
        row = queue.get_job(services.db, slow)
        assert row is not None and row.attempts >= 2
        assert len(slow_done.read_text().splitlines()) == 1

        with services.db.session() as s:
            poison = queue.enqueue(s, "test.crash", {}, max_attempts=3)
        wait_until(lambda: _state(services, poison) == "dead", timeout_s=120, what="the poison job to end dead")
        row = queue.get_job(services.db, poison)
        assert row is not None and row.attempts == 3
    finally:
        _stop(worker)


def test_jobs_wait_for_a_worker_and_a_killed_worker_is_replaced(
    celery_env: tuple[Services, dict[str, str]], tmp_path: Path
) -> None:
    services, env = celery_env
    started, done = tmp_path / "started", tmp_path / "done"
    with services.db.session() as s:
        job_id = queue.enqueue(s, "test.mark", {"path": str(done), "started": str(started), "seconds": 1.5})
    first = _start_worker(env, tmp_path / "w1.log")
    try:
        wait_until(started.exists, what="the job to start on the first worker")
        os.killpg(first.pid, signal.SIGKILL)  # the whole worker machine is gone
        first.wait()
        second = _start_worker(env, tmp_path / "w2.log")
        try:
            wait_until(lambda: _state(services, job_id) == "succeeded", what="the second worker to finish the job")
        finally:
            _stop(second)
    finally:
        _stop(first)
    assert len(done.read_text().splitlines()) == 1
