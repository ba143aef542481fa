"""An asset's text tracks: uploaded subtitle files and generated captions (Mux's track shape).

A text track lives in the asset's ``tracks`` list: ``{"id", "type": "text", "text_type": "subtitles",
"text_source": "uploaded" | "generated_vod" | "generated_live", "language_code", "name", "closed_captions",
"passthrough", "status": "preparing" | "ready" | "errored"}`` (an errored track also has ``error``:
``{"type", "messages"}``). Its WebVTT is stored at ``text/{track_id}.vtt`` among the asset's images,
written completely before the track turns ``ready``; playback lists only ready tracks, so nothing
half-written is ever served. The work runs in the ``speech.text_track`` job.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import Conflict, InvalidParameters, NotFound
from vidlake.core.ids import new_id
from vidlake.db.models import Asset
from vidlake.events import emit
from vidlake.jobs.queue import enqueue
from vidlake.speech import languages
from vidlake.speech.vocabularies import phrases_for
from vidlake.storage import Storage, keys

TRACK_KIND = "speech.text_track"
#: Most text tracks on one asset.
MAX_TEXT_TRACKS = 30


def track_key(environment_id: str, asset_id: str, track_id: str) -> str:
    """Storage key of a text track's WebVTT."""
    return keys.asset_image(environment_id, asset_id, f"text/{track_id}.vtt")


def _text_tracks(asset: Asset) -> list[dict[str, Any]]:
    return [t for t in asset.tracks or [] if t.get("type") == "text"]


def _add(session: Session, asset: Asset, track: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    if len(_text_tracks(asset)) >= MAX_TEXT_TRACKS:
        raise InvalidParameters(f"an asset holds at most {MAX_TEXT_TRACKS} text tracks")
    asset.tracks = [*(asset.tracks or []), track]
    asset.updated_at = now()
    session.flush()
    enqueue(session, TRACK_KIND, {"asset_id": asset.id, "track_id": track["id"], **job},
            environment_id=asset.environment_id)
    emit(session, asset.environment_id, "video.asset.track.created", "track", track["id"],
         {**track, "asset_id": asset.id})
    return track


def add_ready(session: Session, asset: Asset, track: dict[str, Any]) -> dict[str, Any]:
    """A text track whose WebVTT is already stored (live captions of a recording): added ``ready``,
    with ``video.asset.track.created`` and ``.ready``."""
    track = {**track, "status": "ready"}
    asset.tracks = [*(asset.tracks or []), track]
    asset.updated_at = now()
    for event in ("created", "ready"):
        emit(session, asset.environment_id, f"video.asset.track.{event}", "track", track["id"],
             {**track, "asset_id": asset.id})
    return track


def _check_asset(asset: Asset) -> None:
    if asset.status == "errored":
        raise Conflict("the asset is errored; text tracks need a preparing or ready asset")


def add_uploaded(session: Session, asset: Asset, *, url: str, language_code: str, name: str | None,
                 closed_captions: bool, passthrough: str | None) -> dict[str, Any]:
    """A subtitle track from an SRT/WebVTT file at ``url`` (already checked against SSRF rules)."""
    _check_asset(asset)
    if not languages.is_valid_tag(language_code):
        raise InvalidParameters(f"language_code: {language_code!r} is not a BCP 47 language tag")
    track = {"id": new_id(), "type": "text", "text_type": "subtitles", "text_source": "uploaded",
             "language_code": language_code, "name": name or languages.display_name(language_code),
             "closed_captions": closed_captions, "status": "preparing"}
    if passthrough is not None:
        track["passthrough"] = passthrough
    return _add(session, asset, track, {"url": url})


def check_generated(session: Session, environment_id: str, requests: list[dict[str, Any]],
                    field: str) -> list[dict[str, Any]]:
    """Validate ``generated_subtitles`` entries (language known to the engine, vocabularies exist);
    returns them with ``name`` filled. 400 naming ``field[i]`` otherwise."""
    out: list[dict[str, Any]] = []
    for i, req in enumerate(requests):
        code = str(req.get("language_code") or "en")
        if languages.engine_language(code) is None:
            raise InvalidParameters(f"{field}[{i}].language_code: {code!r} is not a language the caption "
                                    f"engine knows (e.g. zh, en, ja, es)")
        ids = list(req.get("transcription_vocabulary_ids") or [])
        phrases_for(session, environment_id, ids, f"{field}[{i}].transcription_vocabulary_ids")
        name = req.get("name") or f"{languages.display_name(code)} (generated)"
        out.append({**{k: v for k, v in req.items() if v is not None}, "language_code": code, "name": name,
                    "transcription_vocabulary_ids": ids})
    return out


def add_generated(session: Session, asset: Asset, audio_track_id: str, requests: list[dict[str, Any]],
                  field: str = "generated_subtitles") -> list[dict[str, Any]]:
    """Caption tracks generated from the audio track ``audio_track_id`` (one per request)."""
    _check_asset(asset)
    audio = next((t for t in asset.tracks or [] if t.get("id") == audio_track_id), None)
    if audio is None:
        raise NotFound(f"track {audio_track_id!r} not found on asset {asset.id!r}")
    if audio.get("type") != "audio":
        raise InvalidParameters(f"track {audio_track_id!r} is a {audio.get('type')} track; give an audio track")
    if asset.status != "ready":
        raise Conflict("the asset is not ready yet; ask for generated subtitles in the asset's input settings")
    made = []
    for req in check_generated(session, asset.environment_id, requests, field):
        track = {"id": new_id(), "type": "text", "text_type": "subtitles", "text_source": "generated_vod",
                 "language_code": req["language_code"], "name": req["name"], "closed_captions": False,
                 "status": "preparing"}
        if req.get("passthrough") is not None:
            track["passthrough"] = req["passthrough"]
        made.append(_add(session, asset, track, {"generate": True,
                                                 "vocabulary_ids": req["transcription_vocabulary_ids"]}))
    return made


def on_asset_ready(session: Session, asset: Asset) -> None:
    """Queue the ``generated_subtitles`` of the asset's input settings (on its primary audio track)."""
    wanted = asset.settings.get("generated_subtitles") or []
    audio = next((t for t in asset.tracks or [] if t.get("type") == "audio"), None)
    if not wanted or audio is None or any(t.get("text_source") == "generated_vod" for t in _text_tracks(asset)):
        return
    add_generated(session, asset, str(audio["id"]), list(wanted), "input[0].generated_subtitles")


def delete(session: Session, storage: Storage, asset: Asset, track_id: str) -> None:
    """Remove a text track and its WebVTT (a running job finds it gone and drops its result)."""
    track = next((t for t in asset.tracks or [] if t.get("id") == track_id), None)
    if track is None:
        raise NotFound(f"track {track_id!r} not found on asset {asset.id!r}")
    if track.get("type") != "text":
        raise InvalidParameters(f"track {track_id!r} is a {track.get('type')} track; only text tracks can be deleted")
    asset.tracks = [t for t in asset.tracks if t.get("id") != track_id]
    asset.updated_at = now()
    emit(session, asset.environment_id, "video.asset.track.deleted", "track", track_id,
         {**track, "status": "deleted", "asset_id": asset.id})
    storage.delete(track_key(asset.environment_id, asset.id, track_id))


def finish(session: Session, asset_id: str, track_id: str, *, error: tuple[str, str] | None = None,
           fields: dict[str, Any] | None = None) -> bool:
    """Mark a track (text or alternate audio) ``ready`` (its files are stored; ``fields`` such as its
    measured ``duration`` are set on it) or ``errored`` with ``error`` = (type, message).
    Returns False when the asset or track is gone."""
    asset = session.get(Asset, asset_id)
    if asset is None or asset.deleted_at is not None:
        return False
    tracks = [dict(t) for t in asset.tracks or []]
    track = next((t for t in tracks if t.get("id") == track_id), None)
    if track is None:
        return False
    if error is None:
        track.update(fields or {})
        track["status"] = "ready"
        track.pop("error", None)
    else:
        track["status"] = "errored"
        track["error"] = {"type": error[0], "messages": [error[1]]}
    asset.tracks = tracks
    asset.updated_at = now()
    emit(session, asset.environment_id, f"video.asset.track.{track['status']}", "track", track_id,
         {**track, "asset_id": asset.id})
    return True
