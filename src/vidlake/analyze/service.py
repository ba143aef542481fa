"""Analyses as a service: rows, the ``analysis.run`` job's work, and what results change on the asset
(smart cover → default thumbnail time; captions → a text track; quality problems → warnings)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidlake.analyze import registry
from vidlake.core.clock import now
from vidlake.core.errors import InvalidParameters, NotFound
from vidlake.core.ids import new_id
from vidlake.db.models import Analysis, Asset
from vidlake.db.tenancy import get_owned
from vidlake.events import emit
from vidlake.jobs.queue import enqueue
from vidlake.runtime import Services
from vidlake.speech.languages import display_name
from vidlake.speech.tracks import track_key
from vidlake.storage import keys

ANALYSIS_KIND = "analysis.run"
MAX_KINDS = 16


def captions_track_id(asset_id: str) -> str:
    """The id of the text track a ``captions`` analysis makes (one per asset, replaced by the next)."""
    return f"{asset_id[:16]}t0"


def check_kinds(kinds: list[str], field: str = "kinds") -> list[str]:
    """Validate requested kinds against the registry; returns them de-duplicated in order."""
    known = registry.kinds()
    if not kinds:
        raise InvalidParameters(f"{field}: give at least one of {', '.join(known)}")
    unknown = [k for k in kinds if k not in known]
    if unknown:
        raise InvalidParameters(f"{field}: unknown kind(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return list(dict.fromkeys(kinds))[:MAX_KINDS]


def create_analysis(session: Session, asset: Asset, kinds: list[str], *, queue: bool = True) -> Analysis:
    """Queue an analysis of ``asset`` (``queue=False``: the caller runs it itself with :func:`run`)."""
    analysis = Analysis(id=new_id(), environment_id=asset.environment_id, asset_id=asset.id,
                        kinds=check_kinds(kinds), status="queued", summary={}, created_at=now())
    session.add(analysis)
    session.flush()
    if queue:
        analysis.job_id = enqueue(session, ANALYSIS_KIND, {"analysis_id": analysis.id},
                                  environment_id=asset.environment_id)
    return analysis


def get_analysis(session: Session, environment_id: str, analysis_id: str) -> Analysis:
    """The analysis, if it belongs to ``environment_id``."""
    return get_owned(session, Analysis, analysis_id, environment_id, "analysis")


def analysis_public(services: Services, analysis: Analysis, *, results: bool = True) -> dict[str, Any]:
    """API view; ``results`` loads the full results from storage when completed."""
    out: dict[str, Any] = {
        "id": analysis.id, "asset_id": analysis.asset_id, "kinds": analysis.kinds, "status": analysis.status,
        "summary": analysis.summary, "created_at": str(int(analysis.created_at)),
    }
    if analysis.errors:
        out["errors"] = analysis.errors
    if results and analysis.status == "completed" and analysis.result_key:
        out["results"] = json.loads(services.storage.read_bytes(analysis.result_key))
    return out


def local_media(services: Services, asset: Asset, work: Path) -> Path:
    if asset.source_key:
        local = services.storage.local_path(asset.source_key)
        if local is not None:
            return local
        dest = work / "source"
        services.storage.download(asset.source_key, dest)
        return dest
    raise NotFound("the asset has no stored source to analyse")


def _renditions(services: Services, asset: Asset) -> dict[str, Path]:
    if not asset.hls_prefix or not asset.hls_complete:
        return {}
    from vidlake.deliver.media import local_hls_dir

    hls_dir = local_hls_dir(services, asset.hls_prefix)
    return {p.parent.name: p for p in sorted(hls_dir.glob("*/index.m3u8")) if p.parent.name != "audio"}


def run(services: Services, analysis_id: str, should_stop: Any, progress: Any) -> dict[str, Any]:
    """Decode once for every frame analysis, then run the file analyses; store results."""
    from vidlake.analyze.base import run_analysers

    with services.db.session() as session:
        analysis = session.get(Analysis, analysis_id)
        if analysis is None:
            return {"skipped": True}
        asset = session.get(Asset, analysis.asset_id)
        if asset is None or asset.deleted_at is not None:
            analysis.status, analysis.errors = "errored", {"type": "not_found", "messages": ["asset deleted"]}
            return {"skipped": True}
        analysis.status = "running"
        kinds = list(analysis.kinds)
    with tempfile.TemporaryDirectory(prefix="vidlake-analysis-", dir=services.work_dir()) as tmp:
        work = Path(tmp)
        media = local_media(services, asset, work)
        frame_kinds = [k for k in kinds if registry.frame_factory(k) is not None]
        results: dict[str, Any] = {}
        if frame_kinds:
            analysers = {k: registry.frame_factory(k)() for k in frame_kinds}  # type: ignore[misc]
            if "faces" in analysers and "cover" in analysers:  # one face detector for both
                from vidlake.analyze.cover import SmartCover
                from vidlake.analyze.faces import FaceDetector

                faces = analysers["faces"]
                assert isinstance(faces, FaceDetector)
                analysers["cover"] = SmartCover(faces=faces)
            results.update(run_analysers(media, list(analysers.values())))
        progress(60)
        file_kinds = [k for k in kinds if registry.file_function(k) is not None]
        context = registry.FileContext(path=media, work_dir=work, renditions=_renditions(services, asset),
                                       results=results, should_stop=should_stop)
        for i, kind in enumerate(file_kinds):
            fn = registry.file_function(kind)
            assert fn is not None
            results[kind] = fn(context)
            progress(60 + 35 * (i + 1) / max(1, len(file_kinds)))
    key = keys.asset_image(asset.environment_id, asset.id, f"analyses/{analysis_id}.json")
    services.storage.put_bytes(key, json.dumps(results, separators=(",", ":")).encode(), "application/json")
    if "captions" in results and results["captions"].get("webvtt"):
        services.storage.put_bytes(track_key(asset.environment_id, asset.id, captions_track_id(asset.id)),
                                   str(results["captions"]["webvtt"]).encode(), "text/vtt")
    with services.db.session() as session:
        analysis = session.get(Analysis, analysis_id)
        row = session.get(Asset, asset.id)
        if analysis is None or row is None:
            return {"skipped": True}
        analysis.status, analysis.result_key, analysis.finished_at = "completed", key, now()
        analysis.summary = summarize(results)
        apply_to_asset(row, analysis.summary)
        emit(session, row.environment_id, "video.analysis.completed", "analysis", analysis.id,
             analysis_public(services, analysis, results=False))
    return {"kinds": kinds}


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """The small, listable part of the results."""
    summary: dict[str, Any] = {}
    if "scenes" in results:
        summary["scene_count"] = len(results["scenes"].get("scenes", []))
        summary["chapters"] = results["scenes"].get("chapters", [])[:200]
    if "cover" in results and results["cover"].get("time") is not None:
        summary["cover_time"] = float(results["cover"]["time"])
    warnings: list[str] = []
    if results.get("black", {}).get("black_seconds", 0) > 0:
        warnings.append(f"black: {results['black']['black_seconds']:g} s of black frames")
    if results.get("frozen", {}).get("frozen_seconds", 0) > 0:
        warnings.append(f"frozen: {results['frozen']['frozen_seconds']:g} s of frozen frames")
    bars = results.get("letterbox", {})
    if any(bars.get(side, 0) > 0 for side in ("top", "bottom", "left", "right")):
        warnings.append("letterbox: black bars " + ", ".join(f"{side} {bars[side]} px" for side in
                                                           ("top", "bottom", "left", "right") if bars.get(side)))
    for name, value in results.items():
        if isinstance(value, dict):
            for flag in value.get("flags", []) or []:
                warnings.append(f"{name}: {flag}")
    if warnings:
        summary["warnings"] = warnings
    if "captions" in results and results["captions"].get("webvtt"):
        summary["captions"] = {"language_code": str(results["captions"].get("language") or "en"),
                               "words": len(results["captions"].get("words", []))}
    return summary


def apply_to_asset(asset: Asset, summary: dict[str, Any]) -> None:
    """Results that change how the asset is delivered."""
    settings = dict(asset.settings)
    if "cover_time" in summary:
        settings["cover_time"] = summary["cover_time"]
    if "warnings" in summary:
        settings["warnings"] = summary["warnings"]
    asset.settings = settings
    if "captions" in summary:
        track_id = captions_track_id(asset.id)
        language = str(summary["captions"]["language_code"])
        tracks = [t for t in asset.tracks if t.get("id") != track_id]
        tracks.append({"id": track_id, "type": "text", "text_type": "subtitles",
                       "text_source": "generated_vod", "language_code": language,
                       "name": f"{display_name(language)} (generated)", "closed_captions": False, "status": "ready"})
        asset.tracks = tracks
    asset.updated_at = now()


def latest_results(services: Services, session: Session, asset_id: str, kind: str) -> dict[str, Any] | None:
    """The newest completed results of ``kind`` for an asset."""
    rows = session.scalars(select(Analysis).where(Analysis.asset_id == asset_id, Analysis.status == "completed")
                           .order_by(Analysis.created_at.desc()))
    for row in rows:
        if kind in row.kinds and row.result_key:
            data = json.loads(services.storage.read_bytes(row.result_key))
            return dict(data.get(kind) or {})
    return None
