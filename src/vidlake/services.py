"""The running parts one process needs: settings, database, storage. Built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vidlake.core.settings import Settings
from vidlake.db.session import Database
from vidlake.storage import Storage, open_storage

if TYPE_CHECKING:
    from vidlake.jobs.dispatch import Dispatcher


@dataclass
class Services:
    """What handlers, routes and commands use to reach the outside world."""

    settings: Settings
    db: Database
    storage: Storage
    dispatcher: Dispatcher | None = field(default=None)

    def work_dir(self) -> Path:
        """Scratch space for jobs and renders on this machine (``{data_dir}/work``, created)."""
        root = self.settings.data_dir / "work"
        root.mkdir(parents=True, exist_ok=True)
        return root

    def close(self) -> None:
        """Release pooled connections."""
        self.db.dispose()


def build_services(settings: Settings) -> Services:
    """Open the database and storage named by ``settings`` and pick the job dispatcher."""
    from vidlake.ffmpeg import set_default_memory_limit
    from vidlake.jobs.dispatch import make_dispatcher
    from vidlake.jobs.registry import set_default_max_attempts

    set_default_max_attempts(settings.job_max_attempts)
    set_default_memory_limit(settings.ffmpeg_memory_limit_bytes)

    db = Database(settings.database_url)
    storage = open_storage(settings.storage_url)
    services = Services(settings=settings, db=db, storage=storage)
    services.dispatcher = make_dispatcher(settings, db)
    db.after_commit = services.dispatcher.dispatch
    return services
