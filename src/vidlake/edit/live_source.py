"""``live:<id>`` edit sources: a live stream's recording (its DVR window while live) as one local file.

Which recording, and its segments, are :mod:`vidlake.live.recording`'s answer
(:func:`~vidlake.live.recording.find_recording`: the active recording while a session runs, else the most
recent one). Its time axis starts at the recording's start (second 0 is the first recorded frame); clip
``trim``/``length`` select inside it.

Where the media comes from:

* once the recording was remuxed (``source_key`` set, asset ``ready``) the caller treats it like any
  ``asset:<id>`` (static MP4 or ``source.mp4``);
* before that (live, or just ended) the live segments recorded so far
  (:func:`~vidlake.live.recording.recorded_segments`). At render time they become one local ``.ts`` file
  by the recording's own remux (:func:`~vidlake.live.recording.remux`; reconnects are joined end to end),
  and the normal compiler seeks into it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from vidlake.edit.validate import ResolveError, SourceInfo
from vidlake.ffmpeg import FFmpegError
from vidlake.live import recording
from vidlake.live.recording import RecordedSegment
from vidlake.live.recording import Recording as LiveRecording
from vidlake.package import hls
from vidlake.runtime import Services

__all__ = ["LiveRecording", "find_recording", "segments_source"]


def find_recording(session: Session, environment_id: str, live_stream_id: str) -> LiveRecording:
    """The recording ``live:<live_stream_id>`` refers to. Raises :class:`ResolveError` when the stream
    is unknown (or of another environment), records nothing, or has no recording yet."""
    try:
        return recording.find_recording(session, environment_id, live_stream_id)
    except recording.RecordingUnavailable as exc:
        raise ResolveError(str(exc)) from exc


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
    (streams and picture size); with it, every segment is joined into ``work_dir/name``."""
    try:
        return _segments_source(services, rec, work_dir, name)
    except OSError as exc:  # a segment vanished (e.g. vod.process replaced the live segments)
        raise ResolveError(f"the recording {rec.asset_id!r} could not be read: {exc}") from exc


def _segments_source(services: Services, rec: LiveRecording, work_dir: Path | None, name: str) -> SourceInfo:
    segments = recording.recorded_segments(services, rec)
    if not segments:
        raise ResolveError(f"the recording {rec.asset_id!r} has no media yet")
    duration = round(sum(s.duration for s in segments), 6)
    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix="vidlake-live-src-") as tmp:
            first = Path(tmp) / "first.ts"
            services.storage.download(segments[0].key, first)
            width, height, has_video, has_audio = _probe(first)
        return SourceInfo(path=f"live-recording:{rec.asset_id}", duration_s=duration, has_video=has_video,
                          has_audio=has_audio, width=width, height=height)
    dest = _join(services, rec, segments, work_dir, name)
    width, height, has_video, has_audio = _probe(dest)
    return SourceInfo(path=str(dest), duration_s=duration, has_video=has_video, has_audio=has_audio,
                      width=width, height=height)


def _join(services: Services, rec: LiveRecording, segments: list[RecordedSegment], work_dir: Path,
          name: str) -> Path:
    """One MPEG-TS file ``work_dir/name`` of ``segments``: copied beside a playlist listing them, then
    remuxed by :func:`vidlake.live.recording.remux`."""
    local = work_dir / f"{name}.segments"
    for seg in segments:
        path = local / seg.key[len(rec.prefix) + 1:]
        path.parent.mkdir(parents=True, exist_ok=True)
        services.storage.download(seg.key, path)
    playlist = local / "recording.m3u8"
    hls.write(playlist, recording.segments_playlist(segments, rec.prefix))
    dest = work_dir / name
    try:
        recording.remux(playlist, dest, mp4=False, ffmpeg=services.settings.ffmpeg or None)
    except FFmpegError as exc:
        raise ResolveError(f"the live recording could not be joined: {exc.stderr_tail[-300:]}") from exc
    finally:
        shutil.rmtree(local, ignore_errors=True)
    return dest
