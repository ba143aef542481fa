"""What a creation knows about each input and the music: the analyses stored for them, with the missing
ones run first (in the creation's own job, and stored like any analysis so the next creation reuses them).

Video inputs need ``scenes``, ``black``, ``frozen``, ``faces``, ``shot_quality`` and ``fingerprint``
(one decode for the frame kinds); ``captions`` when the creation burns captions, follows speech
(``vlog``) or cuts highlights; the music needs ``beats``. Times are seconds from the asset's start.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from vidlake.analyze import service as analyses
from vidlake.db.models import Analysis, Asset
from vidlake.runtime import Services

VIDEO_KINDS = ["scenes", "black", "frozen", "faces", "shot_quality", "fingerprint"]
MUSIC_KINDS = ["beats"]


@dataclass
class AssetSignals:
    """One asset's analyses (``results`` keyed by kind) and its facts; ``reused`` lists the kinds that
    were already stored, ``ran`` the ones this creation ran."""

    asset_id: str
    duration: float
    width: int
    height: int
    results: dict[str, Any]
    reused: list[str] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)


def stored_results(services: Services, asset_id: str, kinds: list[str]) -> dict[str, Any]:
    """The newest completed result of each of ``kinds`` for the asset (kinds never analysed are absent);
    each stored result file is read once."""
    found: dict[str, Any] = {}
    with services.db.session() as session:
        rows = list(session.scalars(select(Analysis).where(Analysis.asset_id == asset_id,
                                                           Analysis.status == "completed")
                                    .order_by(Analysis.created_at.desc())))
    for row in rows:
        wanted = [k for k in row.kinds if k in kinds and k not in found]
        if not wanted or not row.result_key:
            continue
        data = json.loads(services.storage.read_bytes(row.result_key))
        for kind in wanted:
            if kind in data:
                found[kind] = data[kind]
        if len(found) == len(kinds):
            break
    return found


def gather(services: Services, asset_id: str, kinds: list[str], should_stop: Callable[[], bool],
           progress: Callable[[float], None]) -> AssetSignals:
    """The asset's signals: stored analyses reused, the missing kinds run now (``progress`` gets 0-100)."""
    results = stored_results(services, asset_id, kinds)
    missing = [k for k in kinds if k not in results]
    with services.db.session() as session:
        asset = session.get(Asset, asset_id)
        if asset is None or asset.deleted_at is not None:
            raise LookupError(f"asset {asset_id} was deleted")
        duration = float(asset.duration or 0.0)
        analysis_id = analyses.create_analysis(session, asset, missing, queue=False).id if missing else None
    if analysis_id is not None:
        try:
            analyses.run(services, analysis_id, should_stop, progress)
        except BaseException as exc:
            with services.db.session() as session:
                row = session.get(Analysis, analysis_id)
                if row is not None and row.status != "completed":
                    row.status = "errored"
                    row.errors = {"type": "analysis_failed", "messages": [str(exc)[:500] or type(exc).__name__]}
            raise
        results.update(stored_results(services, asset_id, missing))
    progress(100)
    video = _video_size(results)
    return AssetSignals(asset_id, duration, video[0], video[1], results,
                        reused=[k for k in kinds if k not in missing], ran=missing)


def _video_size(results: dict[str, Any]) -> tuple[int, int]:
    faces = results.get("faces") or {}
    if faces.get("width") and faces.get("height"):
        return int(faces["width"]), int(faces["height"])
    return 0, 0
