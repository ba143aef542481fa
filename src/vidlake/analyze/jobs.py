"""The ``analysis.run`` job, and queuing analyses when an asset is processed."""

from __future__ import annotations

from typing import Any

from vidlake.analyze import service
from vidlake.db.models import Analysis
from vidlake.jobs.context import JobContext
from vidlake.jobs.registry import job_kind
from vidlake.services import Services


def _failed(services: Services, payload: dict[str, Any], error: str) -> None:
    with services.db.session() as session:
        row = session.get(Analysis, payload.get("analysis_id", ""))
        if row is not None and row.status in ("queued", "running"):
            row.status = "errored"
            row.errors = {"type": "analysis_failed", "messages": [error.splitlines()[0]]}


@job_kind(service.ANALYSIS_KIND, max_attempts=2, timeout_s=6 * 3600, on_final_failure=_failed)
def run_analysis(ctx: JobContext) -> dict[str, Any]:
    """Run one analysis (see ``service.run``)."""
    return service.run(ctx.services, ctx.payload["analysis_id"], ctx.should_stop, ctx.progress)
