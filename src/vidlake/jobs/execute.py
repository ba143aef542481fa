"""Running one claimed job: heartbeat thread, time limit, outcome recorded in the job table.

Shared by the local worker loop and the Celery task, so both executors behave the same.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback

from vidlake.jobs import queue
from vidlake.jobs.context import JobContext
from vidlake.jobs.errors import JobCancelled, JobDeferred, LeaseLost, PermanentJobError
from vidlake.jobs.registry import final_failure, get_kind
from vidlake.runtime import Services

log = logging.getLogger(__name__)

#: Seconds past a job's time limit before a handler that ignores ``ctx.check()`` is killed with its
#: process (the lease then expires and the job is retried).
HARD_KILL_GRACE_S = 30.0


class WorkerShutdown(BaseException):
    """Raised in a worker's main thread on SIGTERM/SIGINT: release the running job and exit."""


def _heartbeat_loop(ctx: JobContext, services: Services, stop: threading.Event) -> None:
    lease_s = services.settings.job_lease_s
    interval = max(0.05, lease_s / 3)
    last_written = -1.0
    while not stop.wait(interval):
        try:
            progress = ctx.current_progress if ctx.current_progress != last_written else None
            ours, cancel = queue.heartbeat(services.db, ctx.job, lease_s, progress)
            if progress is not None:
                last_written = progress
        except Exception:
            log.exception("heartbeat for job %s failed", ctx.job.id)
            continue
        if not ours:
            ctx._lost.set()
        if cancel:
            ctx._cancel.set()
        if ctx.deadline is not None and time.monotonic() > ctx.deadline + HARD_KILL_GRACE_S:
            log.error("job %s ignored its time limit; exiting the worker process", ctx.job.id)
            os._exit(70)


def execute(services: Services, job: queue.ClaimedJob) -> str | None:
    """Run ``job``'s handler and record the outcome. Returns the job's new state (None if lost)."""
    settings = services.settings
    try:
        kind = get_kind(job.kind)
    except KeyError:
        return queue.fail(services.db, job, f"unknown job kind {job.kind!r}", permanent=True,
                          backoff_base_s=0, backoff_max_s=0)
    timeout = job.timeout_s or kind.timeout_s
    ctx = JobContext(job=job, services=services)
    if timeout:
        ctx.deadline = time.monotonic() + timeout
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat_loop, args=(ctx, services, stop), daemon=True,
                            name=f"heartbeat-{job.id}")
    beat.start()
    started = time.monotonic()
    try:
        try:
            result = kind.handler(ctx)
        finally:
            stop.set()
            beat.join(timeout=5)
        if ctx._lost.is_set():
            raise LeaseLost(job.id)
        state = "succeeded" if queue.complete(services.db, job, result) else None
    except WorkerShutdown:
        log.info("releasing job %s on shutdown", job.id)
        queue.release(services.db, job)
        raise
    except LeaseLost:
        log.warning("job %s: lease lost; another worker owns it now", job.id)
        return None
    except JobCancelled:
        state = "cancelled" if queue.mark_cancelled(services.db, job) else None
    except JobDeferred as exc:
        state = "queued" if queue.defer(services.db, job, exc.delay_s, str(exc)) else None
    except PermanentJobError as exc:
        state = queue.fail(services.db, job, str(exc), permanent=True, backoff_base_s=0, backoff_max_s=0)
    except Exception as exc:
        if ctx._cancel.is_set():
            state = "cancelled" if queue.mark_cancelled(services.db, job) else None
        else:
            detail = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
            state = queue.fail(services.db, job, detail, permanent=False,
                               backoff_base_s=settings.job_backoff_base_s, backoff_max_s=settings.job_backoff_max_s)
    if state in ("dead", "failed"):
        row = queue.get_job(services.db, job.id)
        final_failure(services, job.kind, job.payload, (row.last_error if row else None) or state)
    log.info("job %s (%s) attempt %d -> %s in %.3f s", job.id, job.kind, job.attempt, state,
             time.monotonic() - started)
    return state
