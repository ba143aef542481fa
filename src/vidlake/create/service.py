"""Creations (``/video/v1/creations``): checks against the library, the stored resource, its API view.

A creation is ``queued``, then ``analysing`` while its ``creation.plan`` job reuses or runs the inputs'
analyses, scores the shots and writes the edit; then ``rendering`` while that ordinary edit renders (one
per clip in ``highlights`` mode); ``completed`` once every edit made its asset, ``errored`` (with a
reason a person can act on) or ``cancelled``. Its state after the plan follows its edits, read when the
creation is read.
"""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidlake.api.schemas.creations import CreationCreate
from vidlake.core.clock import now
from vidlake.core.errors import Conflict, InvalidParameters, NotFound
from vidlake.core.ids import new_id
from vidlake.db.creation_models import Creation
from vidlake.db.models import Asset, Edit, Job, LiveStream
from vidlake.db.tenancy import get_owned
from vidlake.edit import service as edit_service
from vidlake.events.outbox import emit
from vidlake.jobs import queue
from vidlake.runtime import Services

PLAN_KIND = "creation.plan"
FINAL = ("completed", "errored", "cancelled")
#: Share of a creation's progress taken by the plan (analyses, scoring); the render has the rest.
PLAN_SHARE = 50.0


def _has_audio(asset: Asset) -> bool:
    return any(t.get("type") == "audio" for t in asset.tracks or [])


def resolve_input(session: Session, environment_id: str, src: str, where: str) -> Asset:
    """The ready asset behind ``asset:<id>`` or ``live:<id>`` (that stream's most recent finished
    recording). Raises ``InvalidParameters`` naming ``where``."""
    scheme, _, ident = src.partition(":")
    if scheme == "live":
        stream = session.get(LiveStream, ident)
        if stream is None or stream.environment_id != environment_id or stream.deleted_at is not None:
            raise InvalidParameters(f"{where}: no live stream {ident!r} in this environment")
        ready = [a for a in (session.get(Asset, i) for i in reversed(stream.recent_asset_ids or []))
                 if a is not None and a.status == "ready" and a.deleted_at is None]
        if not ready:
            raise InvalidParameters(f"{where}: live stream {ident!r} has no finished recording yet (it needs "
                                    "new_asset_settings, and a broadcast that ended)")
        return ready[0]
    asset = session.get(Asset, ident)
    if asset is None or asset.environment_id != environment_id or asset.deleted_at is not None:
        raise InvalidParameters(f"{where}: no asset {ident!r} in this environment")
    if asset.status != "ready":
        raise InvalidParameters(f"{where}: asset {ident!r} is {asset.status}, not ready")
    return asset


def checked_request(session: Session, environment_id: str, body: CreationCreate) -> dict[str, Any]:
    """The request with every source resolved to its asset (``asset_id``, usable ``trim``/``end``)."""
    request = body.model_dump(mode="json", exclude={"playback_policy", "passthrough", "mp4_support"})
    total = 0.0
    for i, item in enumerate(body.inputs):
        asset = resolve_input(session, environment_id, item.src, f"inputs[{i}].src")
        duration = float(asset.duration or 0.0)
        end = duration if item.length is None else item.trim + item.length
        if item.trim >= duration:
            raise InvalidParameters(f"inputs[{i}].trim: {item.trim:g} s is past the input's end ({duration:.1f} s)")
        if end > duration + 0.05:
            raise InvalidParameters(f"inputs[{i}].length: trim {item.trim:g} s + length {item.length:g} s runs past "
                                    f"the input's end ({duration:.1f} s)")
        request["inputs"][i].update(asset_id=asset.id, end=round(min(end, duration), 3))
        total += min(end, duration) - item.trim
    if body.mode == "video" and total < body.duration:
        raise InvalidParameters(f"inputs: {total:.1f} s of footage in all, shorter than the {body.duration:g} s video")
    if body.mode == "highlights" and total < 15.0:
        raise InvalidParameters(f"inputs[0]: {total:.1f} s of footage; a highlight clip is at least 15 s")
    if body.music is not None:
        music = resolve_input(session, environment_id, body.music.src, "music.src")
        if not _has_audio(music):
            raise InvalidParameters(f"music.src: asset {music.id!r} has no audio track")
        if float(music.duration or 0.0) + 0.05 < body.duration:
            raise InvalidParameters(f"music.src: the music is {float(music.duration or 0.0):.1f} s, shorter than the "
                                    f"{body.duration:g} s video (choose a longer track or a shorter duration)")
        request["music"]["asset_id"] = music.id
    return request


def create_creation(session: Session, environment_id: str, body: CreationCreate) -> Creation:
    """Check ``body`` against the library (400 naming the field) and queue the plan job."""
    request = checked_request(session, environment_id, body)
    options: dict[str, Any] = {"playback_policy": list(dict.fromkeys(body.playback_policy or ["public"]))}
    if body.passthrough is not None:
        options["passthrough"] = body.passthrough
    if body.mp4_support is not None:
        options["mp4_support"] = body.mp4_support
    request["new_asset"] = options
    creation = Creation(id=new_id(), environment_id=environment_id, mode=body.mode, status="queued",
                        request=request, plan={}, edit_ids=[], progress=0.0, created_at=now(), updated_at=now())
    session.add(creation)
    session.flush()
    creation.job_id = queue.enqueue(session, PLAN_KIND, {"creation_id": creation.id}, environment_id=environment_id,
                                    idempotency_key=f"{PLAN_KIND}:{creation.id}")
    return creation


def get_creation(session: Session, environment_id: str, creation_id: str) -> Creation:
    """The creation, if it belongs to ``environment_id``. Raises ``NotFound``."""
    return get_owned(session, Creation, creation_id, environment_id, "creation")


def list_creations(session: Session, environment_id: str, offset: int, limit: int) -> list[Creation]:
    """Creations of the environment, newest first."""
    return list(session.scalars(select(Creation).where(Creation.environment_id == environment_id)
                                .order_by(Creation.created_at.desc(), Creation.id).offset(offset).limit(limit)))


def refresh(session: Session, creation: Creation) -> list[Edit]:
    """Follow the edits of a ``rendering`` creation: completed when all are, errored or cancelled when
    one is. Returns the edits."""
    found = [session.get(Edit, i) for i in creation.edit_ids]
    rows = [e for e in found if e is not None]
    if creation.status != "rendering":
        return rows
    if len(rows) < len(creation.edit_ids):
        _end(session, creation, "errored", {"type": "edit_missing", "messages": ["an edit of the creation is gone"]})
    elif any(e.status == "errored" for e in rows):
        bad = next(e for e in rows if e.status == "errored")
        messages = (bad.errors or {}).get("messages") or ["render failed"]
        _end(session, creation, "errored",
             {"type": "render_failed", "messages": [f"edit {bad.id}: {m}" for m in messages]})
    elif any(e.status == "cancelled" for e in rows):
        _end(session, creation, "cancelled", None)
    elif all(e.status == "completed" for e in rows):
        _end(session, creation, "completed", None)
    return rows


def _end(session: Session, creation: Creation, status: str, errors: dict[str, Any] | None) -> None:
    creation.status, creation.errors = status, errors
    creation.updated_at = creation.finished_at = now()
    if status == "completed":
        creation.progress = 100.0
    emit(session, creation.environment_id, f"video.creation.{status}", "creation", creation.id,
         creation_public(session, creation, edits=[session.get(Edit, i) for i in creation.edit_ids]))


def mark_errored(session: Session, creation: Creation, error_type: str, messages: list[str]) -> None:
    """→ errored with a reason (no-op once ended)."""
    if creation.status not in FINAL:
        _end(session, creation, "errored", {"type": error_type, "messages": messages})


def creation_public(session: Session, creation: Creation, *, edits: list[Edit | None] | None = None,
                    plan: bool = False) -> dict[str, Any]:
    """The API view: ``progress`` percent (0-100), the edits and assets made, and with ``plan`` the
    decisions (chosen shots with scores and reasons, dropped ones with why, the beat grid used)."""
    rows = [e for e in (edits if edits is not None else [session.get(Edit, i) for i in creation.edit_ids])
            if e is not None]
    progress = creation.progress
    if creation.status == "analysing" and creation.job_id:
        job = session.get(Job, creation.job_id)
        if job is not None:
            progress = max(progress, job.progress * PLAN_SHARE / 100)
    elif creation.status == "rendering" and rows:
        done = sum(edit_service.edit_public(session, e)["progress"] for e in rows) / len(rows)
        progress = PLAN_SHARE + done * (100 - PLAN_SHARE) / 100
    request = {k: v for k, v in creation.request.items() if k != "new_asset"}
    out: dict[str, Any] = {
        "id": creation.id, "mode": creation.mode, "status": creation.status,
        "progress": round(100.0 if creation.status == "completed" else progress, 1),
        "created_at": str(int(creation.created_at)), "request": request,
        "edit_ids": list(creation.edit_ids),
        "asset_ids": [e.asset_id for e in rows if e.asset_id],
    }
    if creation.mode == "video":
        out["edit_id"] = creation.edit_ids[0] if creation.edit_ids else None
        out["asset_id"] = out["asset_ids"][0] if out["asset_ids"] else None
    if creation.errors:
        out["errors"] = creation.errors
    if creation.plan:
        out["shots"] = creation.plan.get("shots", [])
        if creation.mode == "highlights":
            out["clips"] = creation.plan.get("clips", [])
        if plan:
            out["plan"] = creation.plan
    return out


def cancel_creation(session: Session, services: Services, creation: Creation) -> None:
    """Cancel a creation: its plan job, or its edits' renders. ``Conflict`` once completed or errored."""
    if creation.status == "cancelled":
        return
    if creation.status in FINAL:
        raise Conflict(f"creation {creation.id!r} already {creation.status}")
    for edit_id in creation.edit_ids:
        edit = session.get(Edit, edit_id)
        if edit is not None and edit.status not in edit_service.FINAL:
            edit_service.cancel_edit(session, services, edit)
    creation.status, creation.updated_at, creation.finished_at = "cancelled", now(), now()
    session.flush()
    if creation.job_id:
        session.commit()
        with contextlib.suppress(Conflict, NotFound):
            queue.cancel(services.db, creation.job_id)
