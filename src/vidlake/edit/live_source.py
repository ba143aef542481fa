"""``live:<id>`` edit sources: a live stream's recording (its DVR window while live) as one local file.

Which recording: the stream's active recording asset while a session is running, else its most recent
recording asset (``recent_asset_ids[-1]``). Its time axis starts at the recording's start (second 0 is
the first recorded frame); clip ``trim``/``length`` select inside it.

Where the media comes from:

* once the recording was remuxed (``source_key`` set, asset ``ready``) the caller treats it like any
  ``asset:<id>`` (static MP4 or ``source.mp4``);
* before that (live, or just ended) the live segments under the asset's ``hls/live`` prefix are used:
  the passthrough rung's MPEG-TS segments (``run{n}/v0/*.ts``), in recording order. Durations come
  from the playlists that list them (``v0.m3u8`` and each run's ``index.m3u8``); a segment no playlist
  lists any more (a long live session) counts as the latency mode's nominal segment length.
  At render time the segments become one local ``.ts`` file (see :func:`_concatenate`; reconnects are
  joined end to end), and the normal compiler seeks into it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from vidlake.db.models import Asset, LiveStream
from vidlake.edit.validate import ResolveError, SourceInfo
from vidlake.ffmpeg import ffmpeg_exe
from vidlake.live.pipeline import SEGMENT_SECONDS
from vidlake.package import hls
from vidlake.services import Services
from vidlake.storage import keys

_SEGMENT = re.compile(r"^run(\d+)/v0/([^/]+\.ts)$")


@dataclass(frozen=True)
class LiveRecording:
    """The recording a ``live:<id>`` source means: ``asset_id``, its ``status``, whether its remuxed
    ``source.mp4`` exists (``remuxed``), the live segments' storage ``prefix`` and nominal segment
    length ``segment_s`` (seconds)."""

    asset_id: str
    status: str
    remuxed: bool
    prefix: str
    segment_s: float


def find_recording(session: Session, environment_id: str, live_stream_id: str) -> LiveRecording:
    """The recording ``live:<live_stream_id>`` refers to. Raises :class:`ResolveError` when the stream
    is unknown (or of another environment), records nothing, or has no recording yet."""
    stream = session.get(LiveStream, live_stream_id)
    if stream is None or stream.deleted_at is not None or stream.environment_id != environment_id:
        raise ResolveError(f"no live stream {live_stream_id!r} in this environment")
    if stream.new_asset_settings is None:
        raise ResolveError(f"live stream {live_stream_id!r} is not recorded (it has no new_asset_settings)")
    recent = list(stream.recent_asset_ids or [])
    asset_id = stream.active_asset_id or (recent[-1] if recent else None)
    if asset_id is None:
        raise ResolveError(f"live stream {live_stream_id!r} has not recorded anything yet")
    asset = session.get(Asset, asset_id)
    if asset is None or asset.deleted_at is not None:
        raise ResolveError(f"the recording {asset_id!r} of live stream {live_stream_id!r} was deleted")
    if asset.status not in ("preparing", "ready"):
        raise ResolveError(f"the recording {asset_id!r} of live stream {live_stream_id!r} is {asset.status}")
    return LiveRecording(asset_id=asset.id, status=asset.status,
                         remuxed=asset.status == "ready" and bool(asset.source_key),
                         prefix=keys.asset_hls(environment_id, asset.id, "live"),
                         segment_s=SEGMENT_SECONDS.get(stream.latency_mode, 6.0))


def _read_playlist(services: Services, key: str) -> hls.MediaPlaylist | None:
    try:
        playlist = hls.parse(services.storage.read_bytes(key).decode("utf-8"))
    except (OSError, ValueError):
        return None
    return playlist if isinstance(playlist, hls.MediaPlaylist) else None


def recorded_segments(services: Services, rec: LiveRecording) -> list[tuple[str, float]]:
    """``(key, duration seconds)`` of every passthrough segment recorded so far, in recording order."""
    found: list[tuple[int, str, str]] = []
    for key in services.storage.list(rec.prefix + "/"):
        match = _SEGMENT.match(key[len(rec.prefix) + 1:])
        if match:
            found.append((int(match.group(1)), match.group(2), key))
    found.sort()
    durations: dict[str, float] = {}
    runs = sorted({run for run, _, _ in found})
    for rel in ["v0.m3u8", *(f"run{run}/v0/index.m3u8" for run in runs)]:
        playlist = _read_playlist(services, f"{rec.prefix}/{rel}")
        base = rel.rsplit("/", 1)[0] + "/" if "/" in rel else ""
        for seg in playlist.segments if playlist else []:
            durations.setdefault(f"{rec.prefix}/{base}{seg.uri}", seg.duration)
    return [(key, durations.get(key, rec.segment_s)) for _, _, key in found]


def _probe(path: Path) -> tuple[int | None, int | None, bool, bool]:
    """(width, height in pixels, has video, has audio) of one media file."""
    from vidlake.vod.probe import MediaRejected, probe

    try:
        result = probe(path, validate_limits=False)
    except (MediaRejected, OSError) as exc:
        raise ResolveError(f"the live recording is not readable: {exc}") from exc
    video = result.video
    return (video.display_width if video else None, video.display_height if video else None,
            video is not None, result.audio is not None)


def segments_source(services: Services, rec: LiveRecording, work_dir: Path | None, name: str) -> SourceInfo:
    """The live segments of ``rec`` as a source. Without ``work_dir`` only the first segment is read
    (streams and picture size); with it, every segment is concatenated into ``work_dir/name``."""
    try:
        return _segments_source(services, rec, work_dir, name)
    except OSError as exc:  # a segment vanished (e.g. vod.process replaced the live segments)
        raise ResolveError(f"the recording {rec.asset_id!r} could not be read: {exc}") from exc


def _segments_source(services: Services, rec: LiveRecording, work_dir: Path | None, name: str) -> SourceInfo:
    segments = recorded_segments(services, rec)
    if not segments:
        raise ResolveError(f"the recording {rec.asset_id!r} has no media yet")
    duration = round(sum(d for _, d in segments), 6)
    storage = services.storage
    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix="vidlake-live-src-") as tmp:
            first = Path(tmp) / "first.ts"
            storage.download(segments[0][0], first)
            width, height, has_video, has_audio = _probe(first)
        return SourceInfo(path=f"live-recording:{rec.asset_id}", duration_s=duration, has_video=has_video,
                          has_audio=has_audio, width=width, height=height)
    dest = _concatenate(services, segments, work_dir, name)
    width, height, has_video, has_audio = _probe(dest)
    return SourceInfo(path=str(dest), duration_s=duration, has_video=has_video, has_audio=has_audio,
                      width=width, height=height)


def _concatenate(services: Services, segments: list[tuple[str, float]], work_dir: Path, name: str) -> Path:
    """One MPEG-TS file of ``segments``: each run's segments byte-wise (their timestamps run on), then
    runs (each publish restarts its timestamps) joined by ffmpeg's concat demuxer, one after the other
    with each run lasting the sum of its segment durations (seconds)."""
    runs: dict[str, list[tuple[str, float]]] = {}
    for key, seconds in segments:
        runs.setdefault(key.rsplit("/", 3)[-3], []).append((key, seconds))
    parts: list[tuple[Path, float]] = []
    for n, run_segments in enumerate(runs.values()):
        part = work_dir / (name if len(runs) == 1 else f"{name}.run{n}.ts")
        with part.open("wb") as out:
            for key, _ in run_segments:
                with services.storage.open(key) as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        parts.append((part, sum(d for _, d in run_segments)))
    if len(parts) == 1:
        return parts[0][0]
    listing = work_dir / f"{name}.ffconcat"
    listing.write_text("ffconcat version 1.0\n" + "".join(
        f"file '{path.name}'\nduration {seconds:.6f}\n" for path, seconds in parts))
    dest = work_dir / name
    argv = [services.settings.ffmpeg or ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
            "-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0", "-c", "copy", "-f", "mpegts", "-y",
            str(dest)]
    try:
        subprocess.run(argv, check=True, capture_output=True, timeout=3600)
    except subprocess.CalledProcessError as exc:
        raise ResolveError(f"the live recording could not be joined: {exc.stderr.decode(errors='replace')[-300:]}"
                           ) from exc
    for path, _ in parts:
        path.unlink(missing_ok=True)
    return dest
