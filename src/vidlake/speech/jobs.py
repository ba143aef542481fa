"""The ``speech.text_track`` job: fetch and validate an uploaded subtitle file, or generate captions from
the asset's audio; store the WebVTT, then mark the track ready (or errored with the reason)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from vidlake.analyze.captions import transcribe
from vidlake.analyze.service import local_media
from vidlake.core.errors import InvalidParameters
from vidlake.db.models import Asset
from vidlake.jobs.context import JobContext
from vidlake.jobs.registry import after_success, job_kind
from vidlake.runtime import Services
from vidlake.speech import languages, tracks
from vidlake.speech.cues import to_webvtt
from vidlake.speech.subtitles import SubtitleError, check_language, parse
from vidlake.speech.vocabularies import phrases_for
from vidlake.vod.assets import PROCESS_KIND
from vidlake.vod.pull import PullError, pull


def _failed(services: Services, payload: dict[str, Any], error: str) -> None:
    with services.db.session() as session:
        tracks.finish(session, payload["asset_id"], payload["track_id"],
                      error=("track_failed", error.splitlines()[0] if error else "the track job failed"))


def _uploaded(services: Services, url: str, language_code: str, work: Path, ctx: JobContext) -> str:
    dest = work / "subtitles"
    pull(url, dest, allow_private=services.settings.allow_private_networks,
         max_bytes=services.settings.subtitle_max_bytes, timeout_s=120.0, should_stop=ctx.should_stop)
    subs = parse(dest.read_bytes())
    check_language(subs, language_code)
    return subs.to_webvtt()


def _generated(services: Services, asset: Asset, track: dict[str, Any], vocabulary_ids: list[str], work: Path,
               ctx: JobContext) -> str:
    with services.db.session() as session:
        try:
            phrases = phrases_for(session, asset.environment_id, vocabulary_ids, "transcription_vocabulary_ids")
        except InvalidParameters:  # a vocabulary deleted since the request: caption without it
            phrases = []
    media = local_media(services, asset, work)
    transcript = transcribe(media, work / "asr", language=languages.engine_language(str(track["language_code"])),
                            phrases=phrases, settings=services.settings, should_stop=ctx.should_stop)
    ctx.check()
    return to_webvtt(transcript)


@job_kind(tracks.TRACK_KIND, max_attempts=2, timeout_s=6 * 3600, on_final_failure=_failed)
def text_track(ctx: JobContext) -> dict[str, Any]:
    """Make one text track's WebVTT (see the module docstring)."""
    services = ctx.services
    asset_id, track_id = ctx.payload["asset_id"], ctx.payload["track_id"]
    with services.db.session() as session:
        asset = session.get(Asset, asset_id)
        track = next((dict(t) for t in (asset.tracks if asset else []) or [] if t.get("id") == track_id), None)
        if asset is None or asset.deleted_at is not None or track is None:
            return {"skipped": True}
        session.expunge(asset)
    with tempfile.TemporaryDirectory(prefix="vidlake-track-", dir=services.work_dir()) as tmp:
        try:
            if ctx.payload.get("generate"):
                vtt = _generated(services, asset, track, list(ctx.payload.get("vocabulary_ids") or []), Path(tmp), ctx)
            else:
                vtt = _uploaded(services, str(ctx.payload["url"]), str(track["language_code"]), Path(tmp), ctx)
        except (PullError, SubtitleError) as exc:
            ctx.check()
            with services.db.session() as session:
                tracks.finish(session, asset_id, track_id, error=("invalid_input", str(exc)))
            return {"errored": str(exc)}
    key = tracks.track_key(asset.environment_id, asset_id, track_id)
    services.storage.put_bytes(key, vtt.encode(), "text/vtt")
    with services.db.session() as session:
        if not tracks.finish(session, asset_id, track_id):
            services.storage.delete(key)  # deleted while we worked
            return {"skipped": True}
    return {"bytes": len(vtt.encode())}


@after_success(PROCESS_KIND)
def queue_generated_subtitles(session: Session, payload: dict[str, Any], result: dict[str, Any] | None) -> None:
    """After ``vod.process`` made the asset (a result with a ``version``), queue the captions its input
    settings asked for (``generated_subtitles``), in the transaction that records the job's success."""
    if not result or "version" not in result:
        return
    asset = session.get(Asset, payload.get("asset_id", ""))
    if asset is not None and asset.deleted_at is None and asset.settings.get("generated_subtitles"):
        tracks.on_asset_ready(session, asset)
