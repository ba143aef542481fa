"""Built-in job kinds for diagnostics: ``system.noop`` and ``system.sleep``."""

from __future__ import annotations

import time
from typing import Any

from vidlake.jobs.context import JobContext
from vidlake.jobs.registry import job_kind


@job_kind("system.noop")
def noop(ctx: JobContext) -> dict[str, Any]:
    """Does nothing; measures the job system's own overhead."""
    return {"echo": ctx.payload.get("echo")}


@job_kind("system.sleep")
def sleep(ctx: JobContext) -> dict[str, Any]:
    """Sleeps ``payload.seconds`` seconds in small steps, reporting progress and honouring cancel."""
    seconds = float(ctx.payload.get("seconds", 1.0))
    steps = max(1, int(seconds / 0.05))
    for step in range(steps):
        ctx.check()
        time.sleep(seconds / steps)
        ctx.progress(100.0 * (step + 1) / steps)
    return {"slept_s": seconds}
