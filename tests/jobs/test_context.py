"""JobContext.final_on_last_attempt: the one handler for a step whose failure is retried until the last
attempt (it replaced three copies in the VOD, edit and reframe jobs)."""

from __future__ import annotations

from typing import Any

import pytest

from vidlake.ffmpeg import FFmpegError
from vidlake.jobs.context import JobContext
from vidlake.jobs.errors import JobCancelled, PermanentJobError
from vidlake.jobs.queue import ClaimedJob


def _ctx(attempt: int, max_attempts: int = 3) -> JobContext:
    job = ClaimedJob(id="j1", kind="k", payload={}, attempt=attempt, max_attempts=max_attempts,
                     environment_id=None, timeout_s=None, lease_owner="test")
    services: Any = None  # not used by the step handling
    return JobContext(job=job, services=services)


def test_failures_are_retried_then_final_on_the_last_attempt() -> None:
    with pytest.raises(FFmpegError), _ctx(1).final_on_last_attempt("encoding failed", FFmpegError):
        raise FFmpegError("ffmpeg exited with status 1")
    with pytest.raises(PermanentJobError, match=r"^encoding failed: ffmpeg exited with status 1$"), \
            _ctx(3).final_on_last_attempt("encoding failed", FFmpegError):
        raise FFmpegError("ffmpeg exited with status 1")
    with pytest.raises(KeyError), _ctx(3).final_on_last_attempt("x", FFmpegError):
        raise KeyError("other errors pass through")


def test_a_cancelled_job_reports_the_cancel_not_the_failure() -> None:
    ctx = _ctx(3)
    ctx._cancel.set()
    with pytest.raises(JobCancelled), ctx.final_on_last_attempt("ffmpeg failed", FFmpegError):
        raise FFmpegError("killed")
