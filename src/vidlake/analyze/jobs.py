"""The ``analysis.run`` job, and queuing analyses when an asset is processed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from vidlake.analyze import service
from vidlake.db.models import Analysis, Asset
from vidlake.jobs.context import JobContext
from vidlake.jobs.registry import after_success, job_kind
from vidlake.runtime import Services
from vidlake.vod.assets import PROCESS_KIND


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


@after_success(PROCESS_KIND)
def queue_requested_analyses(session: Session, payload: dict[str, Any], result: dict[str, Any] | None) -> None:
    """After ``vod.process`` made the asset (a result with a ``version``), queue the analyses its
    creation asked for (``settings.analyses``), in the transaction that records the job's success."""
    if not result or "version" not in result:
        return
    asset = session.get(Asset, payload.get("asset_id", ""))
    if asset is not None and asset.deleted_at is None and asset.settings.get("analyses"):
        service.create_analysis(session, asset, list(asset.settings["analyses"]))
