"""What a handler gets: its job's data, the services, progress reporting and cancellation."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vidlake.jobs.errors import JobCancelled, LeaseLost, PermanentJobError
from vidlake.storage import keys

if TYPE_CHECKING:
    from vidlake.jobs.queue import ClaimedJob
    from vidlake.runtime import Services


@dataclass
class JobContext:
    """Handed to a job handler. Handlers must be idempotent: write outputs under ``scratch`` (a
    job-and-attempt-scoped storage prefix) and commit them (database rows, final keys) at the end."""

    job: ClaimedJob
    services: Services
    _progress: float = 0.0
    _cancel: threading.Event = field(default_factory=threading.Event)
    _lost: threading.Event = field(default_factory=threading.Event)
    deadline: float | None = None

    @property
    def payload(self) -> dict[str, Any]:
        """The job's payload (plain JSON data)."""
        return self.job.payload

    @property
    def scratch(self) -> str:
        """Storage prefix private to this attempt."""
        return keys.job_scratch(self.job.id, self.job.attempt)

    def progress(self, percent: float) -> None:
        """Report progress in percent (0-100); written at the next heartbeat."""
        self._progress = max(self._progress, max(0.0, min(100.0, float(percent))))

    @property
    def current_progress(self) -> float:
        """Last reported progress in percent."""
        return self._progress

    def should_stop(self) -> bool:
        """True once the job was cancelled, timed out, or its lease was lost."""
        timed_out = self.deadline is not None and time.monotonic() > self.deadline
        return self._cancel.is_set() or self._lost.is_set() or timed_out

    def check(self) -> None:
        """Raise if the handler should stop now (call between steps of long work)."""
        if self._lost.is_set():
            raise LeaseLost(f"job {self.job.id} lease lost")
        if self._cancel.is_set():
            raise JobCancelled(f"job {self.job.id} cancelled")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TimeoutError(f"job {self.job.id} exceeded its time limit")

    @contextlib.contextmanager
    def final_on_last_attempt(self, what: str, *errors: type[Exception]) -> Iterator[None]:
        """Run a step whose ``errors`` (e.g. ``FFmpegError``) are retried like any failure, except that
        one raised because the job should stop re-raises as cancel/timeout/lost lease, and one on the
        last attempt ends the job as :class:`PermanentJobError` ``"{what}: {error}"``."""
        try:
            yield
        except errors as exc:
            self.check()
            if self.job.attempt >= self.job.max_attempts:
                raise PermanentJobError(f"{what}: {exc}") from exc
            raise
