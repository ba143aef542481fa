"""The database side of a live session: every state change the ingest makes to a live stream, in one place
(as :mod:`vidlake.vod.assets`' ``mark_*`` for assets). Each function is one transaction and records its
events through :func:`vidlake.live.streams.set_status`; they block, so the ingest loop calls them in a
worker thread.

States and events: publish accepted → ``connected`` (+ ``recording`` when recorded); first segment →
status ``active`` + ``active``; publisher gone → ``disconnected``; window over → status ``idle`` +
``idle`` (+ ``video.asset.live_stream_completed`` for the recording, :mod:`vidlake.live.recording`).
Effects that cannot keep real time are dropped by the run → ``video.live_stream.effects_dropped``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from vidlake.core.errors import InvalidParameters
from vidlake.core.ids import new_id
from vidlake.db.models import LiveStream
from vidlake.db.session import Database
from vidlake.events import emit
from vidlake.live import simulcast, streams
from vidlake.live.captions import CaptionSettings
from vidlake.live.recording import create_live_asset
from vidlake.live.session import ClosedCaptions
from vidlake.live.simulcast import SimulcastDestination
from vidlake.speech import languages
from vidlake.speech.vocabularies import phrases_for
from vidlake.storage import keys


@dataclass(frozen=True)
class PublishGrant:
    """What a publish on a known, enabled stream key starts from. ``max_duration_s`` in seconds."""

    stream_id: str
    environment_id: str
    latency_mode: str
    recorded: bool
    destinations: list[SimulcastDestination]
    max_duration_s: float
    effects: list[dict[str, Any]] | None = None  #: the stream's video effects (validated JSON)
    captions: CaptionSettings | None = None  #: the stream's live captions
    #: CEA-608 channels the publisher embeds (``embedded_subtitles``), listed in the master playlist
    closed_captions: tuple[ClosedCaptions, ...] = ()


def grant_publish(db: Database, key: str, *, allow_private: bool) -> PublishGrant | None:
    """The stream publishing with ``key`` may go live (``None``: unknown, deleted or disabled). Simulcast
    targets are checked again here; ``allow_private`` lets them reach private networks."""
    with db.session() as session:
        stream = streams.by_stream_key(session, key)
        if stream is None or stream.status == "disabled":
            return None
        dests = simulcast.destinations(session, stream.id, allow_private=allow_private)
        return PublishGrant(stream.id, stream.environment_id, stream.latency_mode,
                            stream.new_asset_settings is not None, dests,
                            float(stream.max_continuous_duration), list(stream.effects) if stream.effects else None,
                            _captions(session, stream), _closed_captions(stream))


def _closed_captions(stream: LiveStream) -> tuple[ClosedCaptions, ...]:
    """The stream's ``embedded_subtitles`` as master-playlist entries; none while video effects run (the
    effects worker encodes new pictures without the publisher's caption data)."""
    if stream.effects:
        return ()
    return tuple(ClosedCaptions(channel=str(e.get("language_channel") or "cc1").upper(),
                                language_code=str(e.get("language_code") or "en"),
                                name=str(e.get("name") or e.get("language_code") or "CC"))
                 for e in stream.embedded_subtitles or [])


def _captions(session: Session, stream: LiveStream) -> CaptionSettings | None:
    """The caption settings of ``stream`` (a vocabulary deleted since is left out)."""
    entry = stream.generated_subtitles[0] if stream.generated_subtitles else None
    if not entry:
        return None
    code = str(entry.get("language_code") or "en")
    language = languages.engine_language(code)
    if language is None:
        return None
    phrases: list[str] = []
    for vocabulary_id in entry.get("transcription_vocabulary_ids") or []:
        with contextlib.suppress(InvalidParameters):
            phrases += phrases_for(session, stream.environment_id, [vocabulary_id], "vocabulary")
    return CaptionSettings(language=language, language_code=code, name=str(entry.get("name") or code),
                           phrases=phrases, passthrough=entry.get("passthrough"))


def open_session(db: Database, stream_id: str, environment_id: str, recorded: bool) -> tuple[str, str | None]:
    """A session starts: its storage prefix and its recording asset (created when ``recorded``)."""
    with db.session() as session:
        stream = session.get(LiveStream, stream_id)
        assert stream is not None
        asset_id: str | None = None
        if recorded:
            asset_id = create_live_asset(session, stream).id
            prefix = keys.asset_hls(environment_id, asset_id, "live")
        else:
            prefix = streams.live_prefix(environment_id, stream_id, new_id(16))
        stream.hls_prefix = None
        return prefix, asset_id


def mark_connected(db: Database, stream_id: str, asset_id: str | None) -> None:
    """A publisher is connected (and recording into ``asset_id``)."""
    with db.session() as session:
        if (stream := session.get(LiveStream, stream_id)) is None:
            return
        stream.connected = True
        stream.active_asset_id = asset_id
        streams.set_status(session, stream, stream.status, "connected")
        if asset_id:
            streams.set_status(session, stream, stream.status, "recording")


def mark_disconnected(db: Database, stream_id: str, connected: bool) -> float | None:
    """The publisher of a run is gone; the reconnect window to wait (seconds; ``None``: do not wait,
    the stream was deleted or disabled)."""
    with db.session() as session:
        stream = session.get(LiveStream, stream_id)
        if stream is None:
            return None
        stream.connected = connected
        streams.set_status(session, stream, stream.status, "disconnected")
        return None if stream.deleted_at is not None or stream.status == "disabled" else stream.reconnect_window


def mark_active(db: Database, stream_id: str, prefix: str) -> None:
    """Viewers can play the session under ``prefix``: status ``active``."""
    with db.session() as session:
        if (stream := session.get(LiveStream, stream_id)) is None:
            return
        stream.hls_prefix = prefix
        if stream.status != "active":
            streams.set_status(session, stream, "active")


def mark_ended(db: Database, stream_id: str, asset_id: str | None) -> None:
    """The session is over: nothing to play, the recording listed among the recent assets, status ``idle``."""
    with db.session() as session:
        if (stream := session.get(LiveStream, stream_id)) is None:
            return
        stream.hls_prefix = None
        stream.active_asset_id = None
        if asset_id:
            stream.recent_asset_ids = [*(stream.recent_asset_ids or []), asset_id][-10:]
        if stream.status == "active":
            streams.set_status(session, stream, "idle")


def effects_dropped(db: Database, stream_id: str, status: dict[str, Any]) -> None:
    """The run stopped applying the stream's effects (``status``: the worker's state, with ``reason``):
    ``video.live_stream.effects_dropped``, its data the live stream with ``effects_status``."""
    with db.session() as session:
        if (stream := session.get(LiveStream, stream_id)) is None:
            return
        data = streams.live_stream_public(session, stream)
        data["effects_status"] = status
        emit(session, stream.environment_id, "video.live_stream.effects_dropped", "live_stream", stream.id, data)
