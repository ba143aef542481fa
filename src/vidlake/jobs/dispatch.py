"""Handing new and retried jobs to the executor.

The job table is the truth; dispatching is only a hint. Local workers poll the table, so the local
dispatcher does nothing. The Celery dispatcher publishes one message per job; the maintenance loop
re-publishes any due job whose message may have been lost, so a broker outage delays jobs but never
loses them.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from vidlake.core.settings import Settings
from vidlake.db.session import Database
from vidlake.runtime import Dispatcher

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

#: The Celery task that runs one job (``vidlake.jobs.celery_app.run_job``).
TASK_NAME = "vidlake.run_job"

_publishers: dict[str, Celery] = {}
_publish_lock = threading.Lock()


def _publisher(broker_url: str) -> Celery:
    from celery import Celery

    with _publish_lock:
        client = _publishers.get(broker_url)
        if client is None:
            client = Celery("vidlake-publisher", broker=broker_url)
            client.conf.update(task_default_queue="vidlake", broker_connection_retry_on_startup=True,
                               broker_connection_max_retries=1, broker_transport_options={"max_retries": 1})
            _publishers[broker_url] = client
        return client


def publish(settings: Settings, job_ids: list[str], countdown_s: float = 0.0) -> None:
    """Send one run message per job id to the Celery broker (``countdown_s`` seconds from now)."""
    client = _publisher(settings.broker_url)
    for job_id in job_ids:
        client.send_task(TASK_NAME, args=[job_id], countdown=countdown_s or None, queue="vidlake")


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
