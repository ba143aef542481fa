"""Job kinds used by the tests (imported by workers through VIDLAKE_JOB_MODULES)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from vidlake.jobs.context import JobContext
from vidlake.jobs.errors import PermanentJobError
from vidlake.jobs.registry import job_kind


@job_kind("test.mark")
def mark(ctx: JobContext) -> dict[str, Any]:
    """Sleeps ``seconds`` then appends ``attempt pid`` to the file ``path``; SIGKILL-able mid-way."""
    Path(ctx.payload["started"]).write_text(f"{ctx.job.attempt} {os.getpid()}\n") if "started" in ctx.payload else None
    deadline = time.monotonic() + float(ctx.payload.get("seconds", 0))
    while time.monotonic() < deadline:
        ctx.check()
        time.sleep(0.02)
    with open(ctx.payload["path"], "a") as fh:
        fh.write(f"{ctx.job.attempt} {os.getpid()}\n")
    return {"attempt": ctx.job.attempt}


@job_kind("test.crash", max_attempts=3)
def crash(ctx: JobContext) -> None:
    """Kills its own worker process every time (a poison job)."""
    os.kill(os.getpid(), signal.SIGKILL)


@job_kind("test.flaky")
def flaky(ctx: JobContext) -> dict[str, Any]:
    """Fails until attempt ``succeed_on``."""
    if ctx.job.attempt < int(ctx.payload["succeed_on"]):
        raise RuntimeError(f"flaky failure on attempt {ctx.job.attempt}")
    return {"attempt": ctx.job.attempt}


@job_kind("test.bad_input")
def bad_input(ctx: JobContext) -> None:
    """Fails permanently."""
    raise PermanentJobError("input is not valid media")
