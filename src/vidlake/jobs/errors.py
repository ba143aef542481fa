"""Errors a job handler may raise to steer the job system."""

from __future__ import annotations


class JobError(Exception):
    """Base of job-control errors."""


class PermanentJobError(JobError):
    """The job cannot succeed by retrying (bad input): it ends ``failed`` with this message."""


class JobCancelled(JobError):
    """The job was cancelled while running."""


class LeaseLost(JobError):
    """Another worker now owns the job (our lease expired); stop without writing results."""
