"""Errors a job handler may raise to steer the job system."""

from __future__ import annotations


class JobError(Exception):
    """Base of job-control errors."""


class PermanentJobError(JobError):
    """The job cannot succeed by retrying (bad input): it ends ``failed`` with this message."""


class JobDeferred(JobError):
    """Not yet: run the job again in ``delay_s`` seconds, this attempt not counted (e.g. a webhook waiting
    for an earlier event of the same resource to be delivered first)."""

    def __init__(self, delay_s: float, reason: str) -> None:
        super().__init__(reason)
        self.delay_s = delay_s


class JobCancelled(JobError):
    """The job was cancelled while running."""


class LeaseLost(JobError):
    """Another worker now owns the job (our lease expired); stop without writing results."""
