"""Static renditions remuxed from the HLS output (no re-encode): an MP4 of the highest rung up to
1080p (``+faststart``) and an audio-only M4A.

An fMP4 HLS rendition is its init segment followed by its media segments; concatenated, they form
a valid fragmented MP4, which ffmpeg's ``mov`` demuxer reads and the ``mp4`` muxer rewrites as a
progressive MP4 with the index at the front.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vidlake.ffmpeg import FFmpegCommand, MediaInput, run
from vidlake.package import hls

STATIC_MAX_SHORT_SIDE = 1080


@dataclass(frozen=True)
class StaticRendition:
    """A file written by this module: ``path``, ``size_bytes``, pixel size (0 for audio)."""

    path: Path
    size_bytes: int
    width: int
    height: int


def concat_fmp4(media_playlist: str | Path, dest: str | Path) -> Path:
    """Write init + all segments of an fMP4 media playlist into one fragmented MP4 at ``dest``."""
    playlist = Path(media_playlist)
    pl = hls.read(playlist)
    if not isinstance(pl, hls.MediaPlaylist) or not pl.segments:
        raise ValueError(f"{playlist} is not a media playlist with segments")
    folder = playlist.parent
    out = Path(dest)
    with out.open("wb") as fh:
        current_init: str | None = None
        for seg in pl.segments:
            if seg.init_uri and seg.init_uri != current_init:
                if current_init is not None:
                    raise ValueError("playlists that change EXT-X-MAP mid-stream are not supported")
                current_init = seg.init_uri
                with (folder / _local(seg.init_uri)).open("rb") as src:
                    shutil.copyfileobj(src, fh)
            with (folder / _local(seg.uri)).open("rb") as src:
                shutil.copyfileobj(src, fh)
    return out


def _local(uri: str) -> str:
    if "://" in uri or uri.startswith("/") or ".." in Path(uri).parts:
        raise ValueError(f"segment URI {uri!r} is not a local relative path")
    return uri


def pick_static_variant(master: hls.MasterPlaylist, max_short_side: int = STATIC_MAX_SHORT_SIDE) -> hls.Variant | None:
    """The largest video variant whose short side is at most ``max_short_side`` pixels."""
    videos = [v for v in master.variants if v.resolution]
    fitting = [v for v in videos if v.resolution and min(v.resolution) <= max_short_side]
    pool = fitting or videos
    if not pool:
        return None
    return max(pool, key=lambda v: (min(v.resolution or (0, 0)), v.bandwidth))


def _remux(inputs: list[Path], maps: list[str], dest: Path, timeout_s: float, fmt: str) -> None:
    cmd = FFmpegCommand()
    for p in inputs:
        cmd.add_input(MediaInput.trusted_output(p))
    opts: list[str] = []
    for m in maps:
        opts += ["-map", m]
    opts += ["-c", "copy", "-movflags", "+faststart", "-map_metadata", "-1", "-f", fmt]
    cmd.add_output(dest, opts)
    run(cmd, timeout_s=timeout_s)


def static_mp4(
    master_path: str | Path, dest: str | Path, *, max_short_side: int = STATIC_MAX_SHORT_SIDE,
    timeout_s: float = 600.0,
) -> StaticRendition:
    """Remux the highest rung (short side <= ``max_short_side``) plus the audio into ``dest`` (MP4)."""
    master_file = Path(master_path)
    master = hls.read(master_file)
    if not isinstance(master, hls.MasterPlaylist):
        raise ValueError(f"{master_file} is not a master playlist")
    variant = pick_static_variant(master, max_short_side)
    if variant is None or variant.resolution is None:
        raise ValueError("the asset has no video rendition")
    audio_uri = next((r.uri for r in master.renditions if r.type == "AUDIO" and r.uri
                      and r.group_id == variant.audio), None)
    out = Path(dest)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        inputs = [concat_fmp4(master_file.parent / _local(variant.uri), Path(tmp) / "video.mp4")]
        maps = ["0:v:0"]
        if audio_uri:
            inputs.append(concat_fmp4(master_file.parent / _local(audio_uri), Path(tmp) / "audio.mp4"))
            maps.append("1:a:0")
        _remux(inputs, maps, out, timeout_s, "mp4")
    return StaticRendition(out, out.stat().st_size, variant.resolution[0], variant.resolution[1])


def audio_m4a(master_path: str | Path, dest: str | Path, *, timeout_s: float = 600.0) -> StaticRendition:
    """Remux the audio rendition into ``dest`` (M4A, AAC). Raises ``ValueError`` without audio."""
    master_file = Path(master_path)
    master = hls.read(master_file)
    if not isinstance(master, hls.MasterPlaylist):
        raise ValueError(f"{master_file} is not a master playlist")
    uri = next((r.uri for r in master.renditions if r.type == "AUDIO" and r.uri), None)
    if uri is None:  # audio-only asset: the variant itself is the audio playlist
        uri = next((v.uri for v in master.variants if v.resolution is None and v.codecs
                    and v.codecs.startswith("mp4a")), None)
    if uri is None:
        raise ValueError("the asset has no audio rendition")
    out = Path(dest)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        frag = concat_fmp4(master_file.parent / _local(uri), Path(tmp) / "audio.mp4")
        _remux([frag], ["0:a:0"], out, timeout_s, "ipod")
    return StaticRendition(out, out.stat().st_size, 0, 0)
