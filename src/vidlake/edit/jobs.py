"""The ``edit.render`` job: render an edit into a temp file, store it, and make it a new asset.

The rendered MP4 goes to storage (``keys.edit_output``) and becomes the ``source_key`` of a new asset
created with :func:`vidlake.vod.assets.create_asset`, so it goes through the VOD pipeline (probe, HLS
ladder, static renditions) like any upload. Render progress (percent) flows into the job row; the
whole filter graph is kept in the edit's ``details.filter_graph``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from vidlake.core.clock import now
from vidlake.db.models import Edit
from vidlake.edit import service as svc
from vidlake.edit.compiler import CompiledEdit
from vidlake.edit.render import render
from vidlake.edit.validate import EditValidationError, validate_edit
from vidlake.ffmpeg import FFmpegError
from vidlake.jobs.context import JobContext
from vidlake.jobs.errors import JobCancelled
from vidlake.jobs.registry import job_kind
from vidlake.runtime import Services
from vidlake.storage import keys
from vidlake.vod.assets import create_asset

#: Wall-clock limit of one render attempt (seconds).
RENDER_TIMEOUT_S = 2 * 3600.0


def _edit_failed(services: Services, payload: dict[str, Any], error: str) -> None:
    """Final failure of a render job: the edit ends errored (unless it already ended)."""
    with services.db.session() as session:
        edit = session.get(Edit, payload.get("edit_id", ""))
        if edit is not None:
            svc.mark_errored(session, edit, "render_failed", [f"render failed: {error.splitlines()[0]}"])


def _start(services: Services, edit_id: str) -> Edit | None:
    """Mark the edit rendering; None when there is nothing to do (ended, or already has its asset)."""
    with services.db.session() as session:
        edit = session.get(Edit, edit_id)
        if edit is None or edit.asset_id is not None or not svc.mark_rendering(session, edit):
            return None
        return edit


@job_kind(svc.EDIT_KIND, max_attempts=2, timeout_s=RENDER_TIMEOUT_S, on_final_failure=_edit_failed)
def render_edit(ctx: JobContext) -> dict[str, Any]:
    """Resolve the sources, render with one ffmpeg, store the MP4 and create the edit's asset.

    A job cancelled directly (``/system/v1/jobs/{id}/cancel``) also ends its edit ``cancelled``."""
    try:
        return _render(ctx)
    except JobCancelled:
        with ctx.services.db.session() as session:
            edit = session.get(Edit, ctx.payload["edit_id"])
            if edit is not None and edit.status not in svc.FINAL:
                edit.status, edit.updated_at, edit.finished_at = "cancelled", now(), now()
        raise


def _render(ctx: JobContext) -> dict[str, Any]:
    services = ctx.services
    edit = _start(services, ctx.payload["edit_id"])
    if edit is None:
        return {"skipped": True}
    edit_id, env_id = edit.id, edit.environment_id
    limits = svc.edit_limits(services.settings)
    key = keys.edit_output(env_id, edit_id, f"{ctx.job.id[:12]}-{ctx.job.attempt}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vidlake-edit-", dir=services.work_dir()) as tmp:
        work = Path(tmp)
        out = work / "render.mp4"
        resolver = svc.LibraryResolver(services, env_id, work_dir=work, should_stop=ctx.should_stop)
        try:
            validated = validate_edit(edit.document, resolver, limits)  # sources fetched: the only check
        except EditValidationError as exc:
            ctx.check()
            _errored(services, edit_id, "invalid_edit", [str(e) for e in exc.errors])
            return {"errored": "invalid_edit"}

        def store_details(compiled: CompiledEdit) -> None:
            details = {"filter_graph": compiled.filter_graph, "width": compiled.width, "height": compiled.height,
                       "fps": compiled.fps}
            with services.db.session() as session:
                row = session.get(Edit, edit_id)
                if row is not None:
                    row.details = {**(row.details or {}), **details}
            ctx.progress(1)

        remaining = ctx.deadline - time.monotonic() if ctx.deadline is not None else RENDER_TIMEOUT_S
        with ctx.final_on_last_attempt("ffmpeg failed", FFmpegError):
            render(validated, out, preview=edit.preview, on_compiled=store_details,
                   on_progress=lambda p: ctx.progress(1 + 0.94 * p), timeout_s=max(1.0, remaining),
                   cancel_check=ctx.should_stop)
        ctx.check()
        size = out.stat().st_size
        services.storage.put_file(key, out, "video/mp4")
    ctx.progress(97)
    with services.db.session() as session:
        row = session.get(Edit, edit_id)
        if row is None or row.status != "rendering":
            services.storage.delete(key)
            return {"skipped": True}
        asset = create_asset(session, env_id, row.request, source_key=key, source_size=size)
        asset.settings = {**asset.settings, "edit_id": edit_id}
        svc.mark_completed(session, row, asset.id, {"render_s": round(time.monotonic() - started, 3),
                                                   "output_key": key})
        asset_id = asset.id
    return {"asset_id": asset_id, "bytes": size, "render_s": round(time.monotonic() - started, 3)}


def _errored(services: Services, edit_id: str, error_type: str, messages: list[str]) -> None:
    with services.db.session() as session:
        edit = session.get(Edit, edit_id)
        if edit is not None:
            svc.mark_errored(session, edit, error_type, messages)


__all__ = ["RENDER_TIMEOUT_S", "render_edit"]
