"""The running parts one process needs: settings, database, storage, job dispatcher. Built once per
process by :func:`vidlake.startup.build_services`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vidlake.core.settings import Settings
from vidlake.db.session import Database
from vidlake.storage import Storage


class Dispatcher(Protocol):
    """Tells the executor that jobs were queued (``vidlake.jobs.dispatch`` has the implementations)."""

    def dispatch(self, job_ids: list[str]) -> None:
        """Called after the transaction that queued ``job_ids`` committed."""


@dataclass
class Services:
    """What handlers, routes and commands use to reach the outside world."""

    settings: Settings
    db: Database
    storage: Storage
    dispatcher: Dispatcher

    def work_dir(self) -> Path:
        """Scratch space for jobs and renders on this machine (``{data_dir}/work``, created)."""
        root = self.settings.data_dir / "work"
        root.mkdir(parents=True, exist_ok=True)
        return root

    def close(self) -> None:
        """Release pooled connections."""
        self.db.dispose()
