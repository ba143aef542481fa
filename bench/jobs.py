"""Job system benchmark: claim latency and throughput of trivial jobs, on SQLite and PostgreSQL.

Run: ``.venv/bin/python bench/jobs.py [--jobs 400] [--workers 2]``. Starts its own PostgreSQL (Debian's
binaries, as the tests do) and real ``vidlake worker`` processes (the local executor).

Prints, per database:
- claim latency: seconds from a job's commit to its start, median and p95 over sequential jobs
  with an idle worker waiting;
- throughput: ``system.noop`` jobs per second drained by N worker processes;
- executor overhead per job in milliseconds (1 worker, noop handler): the cost of claim, heartbeat
  thread, and result commit, against calling the handler directly (baseline measured in this run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

from services import BIN, postgres
from sqlalchemy import func, select

from vidlake.db.migrate import upgrade
from vidlake.db.models import Job
from vidlake.db.session import Database
from vidlake.jobs import queue


def _workers(db_url: str, count: int, data: Path) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "VIDLAKE_DATABASE_URL": db_url, "VIDLAKE_DATA_DIR": str(data),
           "VIDLAKE_CONFIG": str(data / "none.toml"), "VIDLAKE_LOG_LEVEL": "WARNING"}
    return [subprocess.Popen([str(BIN / "vidlake"), "worker"], env=env) for _ in range(count)]


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=30)


def _wait_done(db: Database, total: int, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with db.session() as s:
            done = s.scalar(select(func.count()).select_from(Job).where(Job.state == "succeeded")) or 0
        if done >= total:
            return
        time.sleep(0.02)
    raise TimeoutError("jobs did not finish")


def measure(db_url: str, jobs: int, workers: int, data: Path) -> dict[str, float]:
    upgrade(db_url)
    db = Database(db_url)
    out: dict[str, float] = {}
    # Claim latency: one idle worker, sequential jobs.
    procs = _workers(db_url, 1, data)
    time.sleep(2.0)
    latencies = []
    for _ in range(40):
        with db.session() as s:
            job_id = queue.enqueue(s, "system.noop", {})
        committed = time.time()
        while True:
            row = queue.get_job(db, job_id)
            if row is not None and row.state == "succeeded":
                break
            time.sleep(0.002)
        assert row.started_at is not None
        latencies.append(row.started_at - committed)
        time.sleep(0.05)
    out["claim_latency_median_s"] = statistics.median(latencies)
    out["claim_latency_p95_s"] = sorted(latencies)[int(len(latencies) * 0.95) - 1]
    # Overhead with 1 worker: drain `jobs` noop jobs.
    before = 40
    with db.session() as s:
        for _ in range(jobs):
            queue.enqueue(s, "system.noop", {})
    t0 = time.perf_counter()
    _wait_done(db, before + jobs)
    one = time.perf_counter() - t0
    _stop(procs)
    out["jobs_per_s_1_worker"] = jobs / one
    # Baseline: the handler called directly.
    from vidlake.jobs.builtin import noop

    class _Ctx:
        payload: dict[str, object] = {}

    t0 = time.perf_counter()
    for _ in range(jobs):
        noop(_Ctx())  # type: ignore[arg-type]
    direct = (time.perf_counter() - t0) / jobs
    out["overhead_ms_per_job"] = (one / jobs - direct) * 1000
    # Throughput with N workers.
    procs = _workers(db_url, workers, data)
    time.sleep(2.0)
    with db.session() as s:
        for _ in range(jobs):
            queue.enqueue(s, "system.noop", {})
    t0 = time.perf_counter()
    _wait_done(db, before + 2 * jobs)
    out[f"jobs_per_s_{workers}_workers"] = jobs / (time.perf_counter() - t0)
    _stop(procs)
    db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        results["sqlite"] = measure(f"sqlite:///{data / 'bench.db'}", args.jobs, args.workers, data)
        with postgres() as url:
            results["postgresql"] = measure(url, args.jobs, args.workers, data)
    for backend, values in results.items():
        print(f"[{backend}]")
        for key, value in values.items():
            print(f"  {key:28s} {value:10.4f}")


if __name__ == "__main__":
    main()
