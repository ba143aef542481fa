"""Small conversions for API output."""

from __future__ import annotations

from typing import Any

from vidlake.db.models import Job


def ts(value: float | None) -> str:
    """Mux-style timestamps: Unix seconds as a string."""
    return str(int(value)) if value is not None else ""


def ts_opt(value: float | None) -> str | None:
    """``ts`` that keeps None."""
    return None if value is None else str(int(value))


def derived_asset_job(job: Job, **fields: Any) -> dict[str, Any]:
    """API view of a job that renders a source asset into a new asset (reframe, effects): its id, the
    source, ``fields`` (what was asked), state, progress in percent, the new asset once made, and the first
    line of the last error of a failed job."""
    payload, result = job.payload or {}, job.result or {}
    out: dict[str, Any] = {"job_id": job.id, "source_asset_id": payload.get("source_asset_id"), **fields,
                           "status": job.state, "progress": round(job.progress, 2),
                           "created_at": str(int(job.created_at))}
    if result.get("asset_id"):
        out["asset_id"] = result["asset_id"]
    if job.state in ("failed", "dead") and job.last_error:
        out["error"] = job.last_error.splitlines()[0]
    return out
