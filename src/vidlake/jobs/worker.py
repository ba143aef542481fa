"""The local executor's worker: a process that claims jobs from the table and runs them.

``vidlake worker`` runs one; ``vidlake serve`` starts ``VIDLAKE_WORKERS`` of them and restarts any that
die. SIGTERM/SIGINT release the running job (it is queued again, the attempt not counted) and exit.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType

from vidlake.jobs import maintenance, queue
from vidlake.jobs.execute import WorkerShutdown, execute
from vidlake.jobs.registry import known_kinds, load_modules
from vidlake.runtime import Services

log = logging.getLogger(__name__)


class Worker:
    """One worker loop in the current process."""

    def __init__(self, services: Services, kinds: list[str] | None = None) -> None:
        self.services = services
        self.kinds = kinds
        self.owner = queue.worker_identity()
        self.stop = threading.Event()
        self.busy = False

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("worker %s: signal %d, stopping", self.owner, signum)
        self.stop.set()
        if self.busy:
            self.busy = False
            raise WorkerShutdown()

    def install_signal_handlers(self) -> None:
        """Make SIGTERM and SIGINT stop the loop (releasing the running job)."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def run(self, max_jobs: int | None = None) -> int:
        """Claim and run jobs until stopped (or ``max_jobs`` ran). Returns the number run."""
        settings = self.services.settings
        load_modules(settings.job_modules)
        kinds = self.kinds or known_kinds()
        maintenance_thread = maintenance.start(self.services, self.stop)
        ran = 0
        idle = 0.005
        log.info("worker %s started for kinds %s", self.owner, ", ".join(kinds))
        try:
            while not self.stop.is_set() and (max_jobs is None or ran < max_jobs):
                job = queue.claim(self.services.db, self.owner, kinds, settings.job_lease_s)
                if job is None:
                    self.stop.wait(idle)
                    idle = min(settings.job_poll_s, idle * 2)
                    continue
                idle = 0.005
                self.busy = True
                try:
                    execute(self.services, job)
                finally:
                    self.busy = False
                ran += 1
        except WorkerShutdown:
            pass
        finally:
            self.stop.set()
            maintenance_thread.join(timeout=2)
        return ran


def run_forever(services: Services) -> None:
    """Entry point of ``vidlake worker`` for the local executor."""
    worker = Worker(services)
    worker.install_signal_handlers()
    started = time.monotonic()
    ran = worker.run()
    log.info("worker %s ran %d jobs in %.1f s", worker.owner, ran, time.monotonic() - started)
