"""The ``creation.plan`` job: gather the analyses, score the shots, write the edit (or, for highlights,
one edit per clip) and queue its render. See :mod:`vidlake.create.service` for the states."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vidlake.core.clock import now
from vidlake.core.errors import InvalidParameters
from vidlake.create import assemble, highlights, scoring
from vidlake.create import service as svc
from vidlake.create.signals import MUSIC_KINDS, VIDEO_KINDS, AssetSignals, gather
from vidlake.db.creation_models import Creation
from vidlake.db.models import Asset
from vidlake.edit import service as edit_service
from vidlake.jobs.context import JobContext
from vidlake.jobs.errors import JobCancelled
from vidlake.jobs.registry import job_kind
from vidlake.runtime import Services

#: Wall-clock limit of one plan attempt (seconds): analyses of long inputs run inside it.
PLAN_TIMEOUT_S = 3 * 3600.0
#: Words further apart than this (seconds) belong to different stretches of speech.
SPEECH_GAP_S = 0.6


def _failed(services: Services, payload: dict[str, Any], error: str) -> None:
    with services.db.session() as session:
        creation = session.get(Creation, payload.get("creation_id", ""))
        if creation is not None:
            svc.mark_errored(session, creation, "plan_failed", [f"planning failed: {error.splitlines()[0]}"])


@job_kind(svc.PLAN_KIND, max_attempts=2, timeout_s=PLAN_TIMEOUT_S, on_final_failure=_failed)
def plan_creation(ctx: JobContext) -> dict[str, Any]:
    """Plan one creation; a cancelled job leaves the creation cancelled."""
    try:
        return _plan(ctx)
    except JobCancelled:
        with ctx.services.db.session() as session:
            creation = session.get(Creation, ctx.payload["creation_id"])
            if creation is not None and creation.status not in svc.FINAL:
                creation.status, creation.updated_at, creation.finished_at = "cancelled", now(), now()
        raise


def _start(services: Services, creation_id: str) -> dict[str, Any] | None:
    with services.db.session() as session:
        creation = session.get(Creation, creation_id)
        if creation is None or creation.status in svc.FINAL or creation.edit_ids:
            return None
        creation.status, creation.updated_at = "analysing", now()
        return dict(creation.request)


def _speech(signals: AssetSignals) -> list[tuple[float, float]]:
    """Stretches of speech (seconds of the asset) from the captions' word times."""
    out: list[tuple[float, float]] = []
    for w in (signals.results.get("captions") or {}).get("words", []):
        s, e = float(w["start"]), float(w["end"])
        if out and s - out[-1][1] <= SPEECH_GAP_S:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _caption_track(services: Services, asset_id: str, language: str | None) -> str | None:
    if language is None:
        return None
    with services.db.session() as session:
        asset = session.get(Asset, asset_id)
        tracks = list(asset.tracks or []) if asset is not None else []
    return next((str(t["id"]) for t in tracks if t.get("type") == "text" and t.get("status") == "ready"
                 and str(t.get("language_code", "")).split("-")[0] == language), None)


def _plan(ctx: JobContext) -> dict[str, Any]:
    services = ctx.services
    creation_id = ctx.payload["creation_id"]
    request = _start(services, creation_id)
    if request is None:
        return {"skipped": True}
    highlight = request["mode"] == "highlights"
    kinds = list(VIDEO_KINDS)
    if request.get("captions") or request["style"] == "vlog" or highlight:
        kinds.append("captions")
    if highlight:
        kinds.append("beats")  # its loudness curve marks the lively moments
    inputs = request["inputs"]
    parts = len(inputs) + (1 if request.get("music") else 0)
    signals: list[tuple[AssetSignals, float, float]] = []
    def share(first: float) -> Callable[[float], None]:
        return lambda p: ctx.progress(first + 90.0 * p / 100 / parts)

    for i, item in enumerate(inputs):
        got = gather(services, item["asset_id"], kinds, ctx.should_stop, share(90.0 * i / parts))
        signals.append((got, float(item.get("trim") or 0.0), float(item["end"])))
        ctx.check()
    beats: dict[str, Any] | None = None
    if request.get("music"):
        music = gather(services, request["music"]["asset_id"], MUSIC_KINDS, ctx.should_stop,
                       share(90.0 * (parts - 1) / parts))
        beats = music.results.get("beats") or None
        if beats is not None and beats.get("has_audio") is False:
            return _error(services, creation_id, "music_has_no_audio", ["music.src: the music has no audio"])
    ctx.check()
    plan: dict[str, Any] = {"analyses": [{"asset_id": s.asset_id, "reused": s.reused, "ran": s.ran}
                                         for s, _, _ in signals]}
    if highlight:
        return _highlights(ctx, creation_id, request, signals[0], plan)
    cands = scoring.candidates(signals, request["style"])
    plan["candidates"] = [c.public() for c in cands]
    if not any(c.dropped is None for c in cands):
        reasons = sorted({str(c.dropped).split(":")[0] for c in cands})
        return _error(services, creation_id, "no_usable_shots",
                      [f"no usable shot in the inputs: every shot was dropped ({', '.join(reasons) or 'none found'})"],
                      plan)
    duration = float(request["duration"])
    cuts = assemble.cut_times(duration, request["style"], beats)
    slots = assemble.slots_for(duration, cuts)
    overlap = assemble.DISSOLVE_S if request["style"] in ("calm", "vlog") else 0.0
    faces = {i: s.results.get("faces") or {} for i, (s, _, _) in enumerate(signals)}
    speech = {i: _speech(s) for i, (s, _, _) in enumerate(signals)}
    try:
        assemble.fill(slots, cands, faces, overlap, speech if request["style"] == "vlog" else None)
    except assemble.NotEnoughFootage as exc:
        return _error(services, creation_id, "not_enough_footage", [str(exc)], plan)
    tracks = {i: t for i, (s, _, _) in enumerate(signals)
              if (t := _caption_track(services, s.asset_id, request.get("captions"))) is not None}
    if request.get("captions") and len(tracks) < len(signals):
        plan["warnings"] = [f"captions: no {request['captions']} text track on input {i}; its shots have none"
                            for i in range(len(signals)) if i not in tracks]
    plan["beats"] = {"tempo_bpm": (beats or {}).get("tempo_bpm"), "cuts": [round(c, 3) for c in cuts]}
    plan["shots"] = [s.public() for s in slots]
    document = assemble.document(slots, request, speech, tracks)
    return _make_edits(ctx, creation_id, request, [document], plan)


def _highlights(ctx: JobContext, creation_id: str, request: dict[str, Any],
                source: tuple[AssetSignals, float, float], plan: dict[str, Any]) -> dict[str, Any]:
    clips = highlights.choose(source[0], source[1], source[2], request)
    plan["clips"] = [c.public() for c in clips]
    if not clips:
        return _error(ctx.services, creation_id, "no_highlights",
                      ["no highlight found: the recording has no stretch of 15 s or more between black or "
                       "frozen parts"], plan)
    docs = [highlights.document(c, source[0].asset_id, request) for c in clips]
    return _make_edits(ctx, creation_id, request, docs, plan)


def _make_edits(ctx: JobContext, creation_id: str, request: dict[str, Any], documents: list[dict[str, Any]],
                plan: dict[str, Any]) -> dict[str, Any]:
    services = ctx.services
    ctx.check()
    with services.db.session() as session:
        creation = session.get(Creation, creation_id)
        if creation is None or creation.status in svc.FINAL:
            return {"skipped": True}
        try:
            made = [edit_service.create_edit(session, services, creation.environment_id, doc,
                                             request=dict(request.get("new_asset", {})))
                    for doc in documents]
        except InvalidParameters as exc:
            session.rollback()
            return _error(services, creation_id, "invalid_edit", list(exc.messages), plan)
        creation.edit_ids = [e.id for e in made]
        creation.plan, creation.status, creation.progress = plan, "rendering", svc.PLAN_SHARE
        creation.updated_at = now()
    return {"edit_ids": [e.id for e in made]}


def _error(services: Services, creation_id: str, error_type: str, messages: list[str],
           plan: dict[str, Any] | None = None) -> dict[str, Any]:
    with services.db.session() as session:
        creation = session.get(Creation, creation_id)
        if creation is not None:
            if plan is not None:
                creation.plan = plan
            svc.mark_errored(session, creation, error_type, messages)
    return {"errored": error_type}
