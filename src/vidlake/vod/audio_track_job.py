"""The ``vod.audio_track`` job: fetch an alternate audio file, probe it in the hardened child, encode its
first audio stream into an fMP4 AAC HLS rendition aligned with the asset's primary audio (same segment
length, padded or trimmed to the asset's duration), store it, then mark the track ready (or errored with
a reason a person can act on). See :mod:`vidlake.vod.audio_tracks`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from vidlake.core.errors import ObjectNotFound
from vidlake.db.models import Asset
from vidlake.ffmpeg import FFmpegCommand, MediaInput, run
from vidlake.jobs.context import JobContext
from vidlake.jobs.registry import job_kind
from vidlake.package import hls
from vidlake.package.publish import HlsPublisher
from vidlake.runtime import Services
from vidlake.speech.tracks import finish
from vidlake.vod.audio_tracks import AUDIO_TRACK_KIND, rendition_folder
from vidlake.vod.probe import MediaRejected, limits_for, probe
from vidlake.vod.pull import PullError, pull
from vidlake.vod.transcode import MEDIA_NAME, SEGMENT_PATTERN

AUDIO_BITRATE = 128_000  #: bits per second of an alternate track (AAC-LC)
SAMPLE_RATE = 48_000  #: Hz
DEFAULT_SEGMENT_S = 4.0  #: segment length (seconds) when the primary audio's cannot be read


class TrackInputError(Exception):
    """The file cannot become an audio track; ``str(exc)`` says why, for the track's error."""


def _failed(services: Services, payload: dict[str, Any], error: str) -> None:
    with services.db.session() as session:
        finish(session, payload["asset_id"], payload["track_id"],
               error=("track_failed", error.splitlines()[0] if error else "the audio track job failed"))


def segment_seconds(services: Services, hls_prefix: str) -> float:
    """The primary audio's segment length in seconds (its first segment's duration), so both audio
    renditions switch at the same times."""
    try:
        text = services.storage.read_bytes(f"{hls_prefix}/audio/{MEDIA_NAME}").decode()
    except ObjectNotFound:
        return DEFAULT_SEGMENT_S
    playlist = hls.parse(text)
    if isinstance(playlist, hls.MediaPlaylist) and playlist.segments and len(playlist.segments) > 1:
        return playlist.segments[0].duration
    return float(getattr(playlist, "target_duration", 0) or DEFAULT_SEGMENT_S)


def build_command(source: Path, format_name: str, out_dir: Path, *, duration_s: float, channels: int,
                  segment_s: float) -> FFmpegCommand:
    """ffmpeg: the first audio stream of ``source`` as AAC HLS in ``out_dir``, exactly ``duration_s``
    seconds long (silence after a short file, cut after a long one)."""
    cmd = FFmpegCommand(threads=1)
    cmd.add_input(MediaInput.untrusted(source, format_name))
    cmd.add_output(out_dir / MEDIA_NAME, [
        "-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1",
        "-c:a", "aac", "-profile:a", "aac_low", "-b:a", str(AUDIO_BITRATE), "-ac", str(channels),
        "-ar", str(SAMPLE_RATE), "-af", "aresample=async=1:first_pts=0,apad", "-t", f"{duration_s:.6f}",
        "-f", "hls", "-hls_time", f"{segment_s:.6f}", "-hls_playlist_type", "vod",
        "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
        "-hls_flags", "independent_segments+temp_file",
        "-hls_segment_filename", str(out_dir / SEGMENT_PATTERN)])
    return cmd


def _encode(services: Services, asset: Asset, url: str, work: Path, ctx: JobContext) -> dict[str, Any]:
    settings = services.settings
    source = work / "source"
    try:
        pull(url, source, allow_private=settings.allow_private_networks, max_bytes=settings.media_max_bytes,
             timeout_s=settings.pull_timeout_s, should_stop=ctx.should_stop)
        result = probe(source, limits_for(settings))
    except (PullError, MediaRejected) as exc:
        raise TrackInputError(str(exc)) from exc
    if result.audio is None:
        raise TrackInputError("the file has no audio stream")
    channels = 1 if (result.audio.channels or 2) == 1 else 2
    duration = float(asset.duration or result.duration_s or 0.0)
    out = work / "hls"
    out.mkdir()
    cmd = build_command(source, result.format_name, out, duration_s=duration, channels=channels,
                        segment_s=segment_seconds(services, str(asset.hls_prefix)))
    run(cmd, timeout_s=4 * duration + 120, on_progress=ctx.progress, duration_s=duration or None,
        cancel_check=ctx.should_stop, ffmpeg=settings.ffmpeg or None)
    ctx.check()
    folder = rendition_folder(str(ctx.payload["track_id"]))
    HlsPublisher(out, services.storage, f"{asset.hls_prefix}/{folder}").publish()
    return {"duration": round(duration, 6), "max_channels": channels,
            "max_channel_layout": "mono" if channels == 1 else "stereo"}


@job_kind(AUDIO_TRACK_KIND, max_attempts=2, timeout_s=6 * 3600, on_final_failure=_failed)
def audio_track(ctx: JobContext) -> dict[str, Any]:
    """Make one alternate audio track's HLS rendition (see the module docstring)."""
    services = ctx.services
    asset_id, track_id = ctx.payload["asset_id"], ctx.payload["track_id"]
    with services.db.session() as session:
        asset = session.get(Asset, asset_id)
        track = next((t for t in (asset.tracks if asset else []) or [] if t.get("id") == track_id), None)
        if asset is None or asset.deleted_at is not None or track is None or not asset.hls_prefix:
            return {"skipped": True}
        session.expunge(asset)
    with tempfile.TemporaryDirectory(prefix="vidlake-audio-", dir=services.work_dir()) as tmp:
        try:
            fields = _encode(services, asset, str(ctx.payload["url"]), Path(tmp), ctx)
        except TrackInputError as exc:
            ctx.check()
            with services.db.session() as session:
                finish(session, asset_id, track_id, error=("invalid_input", str(exc)))
            return {"errored": str(exc)}
    with services.db.session() as session:
        if not finish(session, asset_id, track_id, fields=fields):
            services.storage.delete_prefix(f"{asset.hls_prefix}/{rendition_folder(track_id)}/")  # deleted meanwhile
            return {"skipped": True}
    return fields
