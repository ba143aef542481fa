"""Where every object lives. All key layout is decided here and nowhere else."""

from __future__ import annotations


def job_scratch(job_id: str, attempt: int) -> str:
    """Prefix for a job attempt's outputs before they are committed (idempotent handlers)."""
    return f"jobs/{job_id}/{attempt}"


def asset_prefix(environment_id: str, asset_id: str) -> str:
    """Everything stored for one asset."""
    return f"env/{environment_id}/assets/{asset_id}"


def upload_prefix(environment_id: str, upload_id: str) -> str:
    """Parts and the assembled file of one direct upload."""
    return f"env/{environment_id}/uploads/{upload_id}"
