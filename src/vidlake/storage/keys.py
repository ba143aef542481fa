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


def asset_source(environment_id: str, asset_id: str) -> str:
    """The original file of an asset pulled from a URL."""
    return f"{asset_prefix(environment_id, asset_id)}/source"


def asset_hls(environment_id: str, asset_id: str, version: str) -> str:
    """One encode of an asset's HLS ladder; ``version`` is unique per job attempt, so a retry never
    overwrites what viewers are playing (the asset row points at the committed version)."""
    return f"{asset_prefix(environment_id, asset_id)}/hls/{version}"


def asset_static(environment_id: str, asset_id: str, name: str) -> str:
    """A static rendition (``capped-1080p.mp4``, ``highest.mp4``, ``audio.m4a``)."""
    return f"{asset_prefix(environment_id, asset_id)}/static/{name}"


def asset_image(environment_id: str, asset_id: str, name: str) -> str:
    """A rendered image (storyboard sprite and VTT, cached thumbnails and animations)."""
    return f"{asset_prefix(environment_id, asset_id)}/images/{name}"


def edit_prefix(environment_id: str, edit_id: str) -> str:
    """Everything stored for one edit (cloud editing render)."""
    return f"env/{environment_id}/edits/{edit_id}"


def edit_output(environment_id: str, edit_id: str, attempt_tag: str) -> str:
    """A rendered MP4 of an edit; it becomes the source file of the edit's new asset. ``attempt_tag``
    is unique per job attempt, so a retry never overwrites a file an asset already points at."""
    return f"{edit_prefix(environment_id, edit_id)}/render-{attempt_tag}.mp4"


def reframe_output(environment_id: str, asset_id: str, job_tag: str) -> str:
    """The rendered MP4 of an auto-reframe; it is the source file of the new asset ``asset_id`` (so
    deleting that asset deletes it). ``job_tag`` is unique per job attempt."""
    return f"{asset_prefix(environment_id, asset_id)}/reframe-{job_tag}.mp4"


def effects_output(environment_id: str, asset_id: str, job_tag: str) -> str:
    """The rendered MP4 of an effects job; the source file of the new asset ``asset_id``.
    ``job_tag`` is unique per job attempt."""
    return f"{asset_prefix(environment_id, asset_id)}/effects-{job_tag}.mp4"
