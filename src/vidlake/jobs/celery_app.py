"""The Celery executor: workers on other machines take job ids from Redis.

Messages carry only a job id; the job table stays the truth. Messages are acknowledged late and
rejected when a worker dies, and the maintenance loop re-publishes any job whose lease expired, so
a killed worker loses nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from vidlake.core.clock import now
from vidlake.core.settings import Settings
from vidlake.jobs.dispatch import TASK_NAME, publish

log = logging.getLogger(__name__)

app = Celery("vidlake")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_default_queue="vidlake",
)

_services: Any = None


def configure(settings: Settings) -> Celery:
    """Point the worker app at ``settings``' broker (called by ``vidlake worker``)."""
    app.conf.broker_url = settings.broker_url
    app.conf.vidlake_settings = settings.model_dump(mode="json")
    return app


def _get_services() -> Any:
    global _services
    if _services is None:
        from vidlake.jobs.registry import load_modules
        from vidlake.startup import build_services

        settings = Settings(**app.conf.vidlake_settings) if app.conf.get("vidlake_settings") else Settings()
        load_modules(settings.job_modules)
        _services = build_services(settings)
    return _services


@worker_process_init.connect
def _on_child_start(**_: Any) -> None:
    global _services
    _services = None  # never share a parent's database connections across fork


@worker_process_shutdown.connect
def _on_child_stop(**_: Any) -> None:
    if _services is not None:
        _services.close()


@app.task(name=TASK_NAME, bind=True, ignore_result=True)
def run_job(task: Any, job_id: str) -> str | None:
    """Claim job ``job_id`` and run it (no-op if another worker has it or it already ended)."""
    from vidlake.db.models import Job
    from vidlake.jobs import queue
    from vidlake.jobs.execute import execute

    services = _get_services()
    settings: Settings = services.settings
    with services.db.session() as session:
        row = session.get(Job, job_id)
        state, run_at = (row.state, row.run_at) if row is not None else (None, 0.0)
    if state != "queued":
        return state
    if run_at > now():
        publish(settings, [job_id], countdown_s=run_at - now())
        return "queued"
    claimed = queue.claim(services.db, queue.worker_identity(), [], settings.job_lease_s, job_id=job_id)
    if claimed is None:
        return None
    return execute(services, claimed)
