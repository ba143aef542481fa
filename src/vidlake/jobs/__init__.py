"""Durable jobs: the job table is the truth. See ``queue`` for the state machine."""

from vidlake.jobs.context import JobContext
from vidlake.jobs.errors import JobCancelled, PermanentJobError
from vidlake.jobs.queue import cancel, enqueue
from vidlake.jobs.registry import job_kind

__all__ = ["JobCancelled", "JobContext", "PermanentJobError", "cancel", "enqueue", "job_kind"]
