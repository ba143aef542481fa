"""Building one process's :class:`~vidlake.runtime.Services` from its settings.

The setup code sits above ``jobs/`` and ``runtime.py``: it opens the database and storage, picks
the job dispatcher for ``settings.executor`` and wires it to run after every commit, so neither
``Services`` nor the job layer has to import the other's setup.
"""

from __future__ import annotations

from vidlake.core.settings import Settings
from vidlake.db.session import Database
from vidlake.ffmpeg import set_default_memory_limit
from vidlake.jobs.dispatch import make_dispatcher
from vidlake.jobs.registry import set_default_max_attempts
from vidlake.runtime import Services
from vidlake.storage import open_storage


def build_services(settings: Settings) -> Services:
    """Open the database and storage named by ``settings`` and pick the job dispatcher."""
    set_default_max_attempts(settings.job_max_attempts)
    set_default_memory_limit(settings.ffmpeg_memory_limit_bytes)
    db = Database(settings.database_url)
    storage = open_storage(settings.storage_url)
    dispatcher = make_dispatcher(settings, db)
    db.after_commit = dispatcher.dispatch
    return Services(settings=settings, db=db, storage=storage, dispatcher=dispatcher)
