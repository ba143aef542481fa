"""Handing new and retried jobs to the executor.

The job table is the truth; dispatching is only a hint. Local workers poll the table, so the local
dispatcher does nothing. The Celery dispatcher publishes one message per job; the maintenance loop
re-publishes any due job whose message may have been lost, so a broker outage delays jobs but never
loses them.
"""

from __future__ import annotations

import logging
from typing import Protocol

from vidlake.core.settings import Settings
from vidlake.db.session import Database

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    """Tells the executor that jobs were queued."""

    def dispatch(self, job_ids: list[str]) -> None:
        """Called after the transaction that queued ``job_ids`` committed."""


class LocalDispatcher:
    """Local workers poll the job table; nothing to send."""

    def dispatch(self, job_ids: list[str]) -> None:
        return None


class CeleryDispatcher:
    """Publishes ``vidlake.run_job(job_id)`` messages to the Celery broker."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    def dispatch(self, job_ids: list[str]) -> None:
        from vidlake.jobs import queue
        from vidlake.jobs.celery_app import publish

        try:
            publish(self.settings, job_ids)
        except Exception as exc:  # broker down: the maintenance loop publishes them later
            log.warning("could not publish jobs %s to the broker: %s", job_ids, exc)
            return
        queue.mark_dispatched(self.db, job_ids)


def make_dispatcher(settings: Settings, db: Database) -> Dispatcher:
    """The dispatcher for ``settings.executor``."""
    if settings.executor == "celery":
        return CeleryDispatcher(settings, db)
    return LocalDispatcher()
