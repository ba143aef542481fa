"""Recording a live stream into a VOD asset.

The live session writes its segments straight into the asset's HLS prefix
(``keys.asset_hls(env, asset, "live")``), so when the session ends the recording is playable at once:
the playlists are rewritten as VOD playlists listing every segment (with ``EXT-X-DISCONTINUITY`` at each
reconnect) and the asset is marked ready, with no re-encoding. Then the passthrough rung is remuxed
(``-c copy``, :func:`remux`) into one MP4 that becomes the asset's source, and ``vod.process`` runs on it
like on any asset (probe, ladder, static renditions, storyboard); it replaces the live segments when it
is done.

Others ask here for a stream's recording (:func:`find_recording`) and for its passthrough segments so far
(:func:`recorded_segments`, e.g. an edit clipping the DVR window while live); :func:`remux` is the one
way a live recording becomes a single file (MP4 or MPEG-TS).
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.ids import new_id
from vidlake.db.models import Asset, LiveStream
from vidlake.deliver.playback_ids import add_playback_id
from vidlake.events import emit
from vidlake.ffmpeg import FFmpegCommand, MediaInput
from vidlake.ffmpeg import run as run_ffmpeg
from vidlake.ffmpeg.process import DEFAULT_MEMORY_LIMIT_BYTES
from vidlake.jobs.queue import enqueue
from vidlake.live.pipeline import SEGMENT_SECONDS, variant_dir
from vidlake.live.session import LiveSession, master_playlist, write_media_playlists
from vidlake.package import hls
from vidlake.runtime import Services
from vidlake.speech.tracks import add_ready, track_key
from vidlake.storage import keys
from vidlake.vod import assets as asset_svc

REMUX_TIMEOUT_S = 3600.0  #: time limit of one remux (seconds)
_SEGMENT = re.compile(r"^run(\d+)/v0/([^/]+\.ts)$")  #: a passthrough segment, relative to the recording prefix

log = logging.getLogger(__name__)


def create_live_asset(session: Session, stream: LiveStream) -> Asset:
    """The asset a recorded live session fills (status ``preparing`` while live)."""
    request = dict(stream.new_asset_settings or {})
    asset = Asset(
        id=new_id(), environment_id=stream.environment_id, status="preparing",
        passthrough=request.get("passthrough"),
        settings={k: request[k] for k in asset_svc.PIPELINE_SETTINGS if request.get(k) is not None},
        live_stream_id=stream.id, tracks=[], static_renditions=[], created_at=now(), updated_at=now(),
    )
    session.add(asset)
    for policy in request.get("playback_policy") or []:
        add_playback_id(session, stream.environment_id, policy, asset_id=asset.id)
    session.flush()
    emit(session, stream.environment_id, "video.asset.created", "asset", asset.id,
         asset_svc.asset_public(session, asset))
    return asset


def finish_recording(services: Services, live: LiveSession) -> None:
    """Make the recording of ``live`` a ready VOD asset, then queue its VOD processing."""
    if live.asset_id is None:
        return
    has_media = any(live.segments)
    captions = live.captions if has_media and live.caption_vtt is not None else None
    track_id = new_id()
    if captions is not None:  # the recording's text track takes over from the live rendition
        assert live.caption_vtt is not None
        services.storage.put_bytes(track_key(live.environment_id, live.asset_id, track_id),
                                   live.caption_vtt.encode(), "text/vtt")
        live.captions = None
        hls.write(live.root / "master.m3u8", master_playlist(live, live.last_stats))
    if has_media:
        write_media_playlists(live, final=True)
        live.publisher.publish()
    duration = sum(e.duration for e in live.segments[0]) if live.segments else 0.0
    with services.db.session() as session:
        asset = session.get(Asset, live.asset_id)
        if asset is None or asset.deleted_at is not None:
            return
        if not has_media:
            asset_svc.mark_errored(session, asset, "invalid_input", "the live stream sent no media")
            return
        # Playable now; ``hls_complete`` turns True when vod.process commits its ladder (progress "completed").
        asset.hls_prefix, asset.hls_complete = live.prefix, False
        asset.duration = round(duration, 6)
        if captions is not None:
            track = {"id": track_id, "type": "text", "text_type": "subtitles", "text_source": "generated_live",
                     "language_code": captions.language_code, "name": captions.name, "closed_captions": False}
            if captions.passthrough is not None:
                track["passthrough"] = captions.passthrough
            add_ready(session, asset, track)
        asset_svc.mark_ready(session, asset)
        emit(session, asset.environment_id, "video.asset.live_stream_completed", "asset", asset.id,
             asset_svc.asset_public(session, asset))
    try:
        _queue_processing(services, live)
    except Exception:
        log.exception("live recording %s: could not queue VOD processing", live.asset_id)
        with services.db.session() as session:
            asset = session.get(Asset, live.asset_id)
            if asset is not None:
                asset.hls_complete = True


def _queue_processing(services: Services, live: LiveSession) -> None:
    """Remux the passthrough rung into ``source.mp4`` in storage and queue ``vod.process``."""
    assert live.asset_id is not None
    source_key = keys.asset_source(live.environment_id, live.asset_id)
    with tempfile.TemporaryDirectory(prefix="vidlake-rec-") as tmp:
        out = Path(tmp) / "source.mp4"
        remux(live.root / "v0.m3u8", out, mp4=True, ffmpeg=services.settings.ffmpeg or None)
        services.storage.put_file(source_key, out, "video/mp4")
        size = out.stat().st_size
    with services.db.session() as session:
        asset = session.get(Asset, live.asset_id)
        if asset is None or asset.deleted_at is not None:
            return
        asset.source_key, asset.source_size = source_key, size
        asset.job_id = enqueue(session, asset_svc.PROCESS_KIND, {"asset_id": asset.id},
                               environment_id=asset.environment_id,
                               idempotency_key=f"{asset_svc.PROCESS_KIND}:{asset.id}")


def remux(playlist: Path, dest: Path, *, mp4: bool, ffmpeg: str | None = None) -> None:
    """The passthrough rung listed by ``playlist`` (a VOD playlist of the recording's MPEG-TS segments,
    ``EXT-X-DISCONTINUITY`` between runs) → ``dest`` without re-encoding: an MP4 (``mp4``, AAC as
    ``aac_adtstoasc``, ``+faststart``) or MPEG-TS. Each run follows the previous one (ffmpeg joins the
    restarted timestamps end to end). Raises :class:`~vidlake.ffmpeg.FFmpegError`."""
    cmd = FFmpegCommand()
    cmd.add_input(MediaInput.trusted_output(playlist))
    options = ["-map", "0:v:0?", "-map", "0:a:0?", "-c", "copy"]
    options += ["-bsf:a", "aac_adtstoasc", "-movflags", "+faststart", "-f", "mp4"] if mp4 else ["-f", "mpegts"]
    cmd.add_output(dest, options)
    run_ffmpeg(cmd, timeout_s=REMUX_TIMEOUT_S, memory_limit_bytes=DEFAULT_MEMORY_LIMIT_BYTES, ffmpeg=ffmpeg)


# ---------------------------------------------------------------------------------------------- lookups


class RecordingUnavailable(LookupError):
    """The stream has no recording to read (the message says why)."""


@dataclass(frozen=True)
class Recording:
    """A stream's recording: ``asset_id``, its ``status``, whether its remuxed ``source.mp4`` exists
    (``remuxed``), the live segments' storage ``prefix`` and nominal segment length ``segment_s`` (seconds)."""

    asset_id: str
    status: str
    remuxed: bool
    prefix: str
    segment_s: float


@dataclass(frozen=True)
class RecordedSegment:
    """A passthrough segment of a recording: its ``run``, storage ``key`` and ``duration`` in seconds."""

    run: int
    key: str
    duration: float


def find_recording(session: Session, environment_id: str, live_stream_id: str) -> Recording:
    """The stream's active recording while a session runs, else its most recent one. Raises
    :class:`RecordingUnavailable` when the stream is unknown (or of another environment), records nothing,
    or has no recording yet."""
    stream = session.get(LiveStream, live_stream_id)
    if stream is None or stream.deleted_at is not None or stream.environment_id != environment_id:
        raise RecordingUnavailable(f"no live stream {live_stream_id!r} in this environment")
    if stream.new_asset_settings is None:
        raise RecordingUnavailable(f"live stream {live_stream_id!r} is not recorded (it has no new_asset_settings)")
    recent = list(stream.recent_asset_ids or [])
    asset_id = stream.active_asset_id or (recent[-1] if recent else None)
    if asset_id is None:
        raise RecordingUnavailable(f"live stream {live_stream_id!r} has not recorded anything yet")
    asset = session.get(Asset, asset_id)
    if asset is None or asset.deleted_at is not None:
        raise RecordingUnavailable(f"the recording {asset_id!r} of live stream {live_stream_id!r} was deleted")
    if asset.status not in ("preparing", "ready"):
        raise RecordingUnavailable(f"the recording {asset_id!r} of live stream {live_stream_id!r} is {asset.status}")
    return Recording(asset_id=asset.id, status=asset.status,
                     remuxed=asset.status == "ready" and bool(asset.source_key),
                     prefix=keys.asset_hls(environment_id, asset.id, "live"),
                     segment_s=SEGMENT_SECONDS.get(stream.latency_mode, 6.0))


def _read_playlist(services: Services, key: str) -> hls.MediaPlaylist | None:
    try:
        playlist = hls.parse(services.storage.read_bytes(key).decode("utf-8"))
    except (OSError, ValueError):
        return None
    return playlist if isinstance(playlist, hls.MediaPlaylist) else None


def recorded_segments(services: Services, rec: Recording) -> list[RecordedSegment]:
    """Every passthrough segment recorded so far, in recording order. Durations come from the playlists
    that list them (``v0.m3u8`` and each run's ``index.m3u8``); a segment no playlist lists any more (a
    long live session) counts as the latency mode's nominal segment length."""
    found: list[tuple[int, str, str]] = []
    for key in services.storage.list(rec.prefix + "/"):
        match = _SEGMENT.match(key[len(rec.prefix) + 1:])
        if match:
            found.append((int(match.group(1)), match.group(2), key))
    found.sort()
    durations: dict[str, float] = {}
    runs = sorted({run for run, _, _ in found})
    for rel in ["v0.m3u8", *(f"{variant_dir(run, 0)}/index.m3u8" for run in runs)]:
        playlist = _read_playlist(services, f"{rec.prefix}/{rel}")
        base = rel.rsplit("/", 1)[0] + "/" if "/" in rel else ""
        for seg in playlist.segments if playlist else []:
            durations.setdefault(f"{rec.prefix}/{base}{seg.uri}", seg.duration)
    return [RecordedSegment(run, key, durations.get(key, rec.segment_s)) for run, _, key in found]


def segments_playlist(segments: list[RecordedSegment], prefix: str) -> hls.MediaPlaylist:
    """A VOD playlist of ``segments`` with uris relative to ``prefix`` (the caller puts the playlist where
    each segment is at its path under ``prefix``), ``EXT-X-DISCONTINUITY`` where a run starts: what
    :func:`remux` reads."""
    segs = [hls.Segment(uri=s.key[len(prefix) + 1:], duration=s.duration,
                        discontinuity=i > 0 and s.run != segments[i - 1].run) for i, s in enumerate(segments)]
    return hls.MediaPlaylist(segments=segs, version=6, independent_segments=True, playlist_type="VOD",
                             endlist=True)
