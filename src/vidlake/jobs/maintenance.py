"""The maintenance loop: reaps expired leases and re-publishes undelivered jobs. Safe to run in many
processes at once (every transition is a conditional update)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from vidlake.core.clock import now
from vidlake.jobs import queue
from vidlake.jobs.registry import final_failure
from vidlake.runtime import Services

log = logging.getLogger(__name__)


_HOOKS: list[Callable[[Services], object]] = []


def add_hook(hook: Callable[[Services], object]) -> None:
    """Run ``hook(services)`` on every maintenance pass (e.g. expiring uploads)."""
    if hook not in _HOOKS:
        _HOOKS.append(hook)


def tick(services: Services) -> None:
    """One maintenance pass."""
    settings = services.settings
    dead: list[queue.DeadJob] = []
    queue.reap_expired(services.db, settings.job_backoff_base_s, settings.job_backoff_max_s, dead)
    for job in dead:
        final_failure(services, job.kind, job.payload, job.error)
    for hook in _HOOKS:
        hook(services)
    if settings.executor == "celery":
        from vidlake.jobs.dispatch import publish

        due = [(job_id, run_at) for job_id, run_at in
               queue.due_undispatched(services.db, older_than_s=max(5.0, settings.job_lease_s * 2))]
        if due:
            t = now()
            for job_id, run_at in due:
                publish(settings, [job_id], countdown_s=max(0.0, run_at - t))
            queue.mark_dispatched(services.db, [job_id for job_id, _ in due])


def start(services: Services, stop: threading.Event, interval_s: float = 1.0) -> threading.Thread:
    """Run ``tick`` every ``interval_s`` seconds in a daemon thread until ``stop`` is set."""

    def loop() -> None:
        while not stop.wait(interval_s):
            try:
                tick(services)
            except Exception as exc:
                log.warning("maintenance pass failed: %s", exc)

    thread = threading.Thread(target=loop, name="vidlake-maintenance", daemon=True)
    thread.start()
    return thread
