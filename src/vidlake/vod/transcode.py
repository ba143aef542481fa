"""One ffmpeg process per asset: decode once, split, scale per rung, encode, package HLS (fMP4).

:func:`build_transcode_command` is pure (a probe result and a ladder in, an
:class:`~vidlake.ffmpeg.FFmpegCommand` out). :func:`transcode_hls` runs it, reports progress in
percent, calls ``on_playable(master_path)`` as soon as every rendition has its first segment (the
playlists are EVENT playlists that grow while encoding), and afterwards writes the final master
playlist with measured BANDWIDTH / AVERAGE-BANDWIDTH, RESOLUTION, CODECS (read from the init
segments) and FRAME-RATE, and turns every media playlist into a VOD playlist.

Output layout (``out_dir``)::

    master.m3u8
    <rung name>/index.m3u8, init_<n>.mp4, seg_00000.m4s ...     e.g. 1080p/, 720p/
    audio/index.m3u8, init_<n>.mp4, seg_00000.m4s ...
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vidlake.ffmpeg import FFmpegCommand, MediaInput, Progress, run
from vidlake.package import hls
from vidlake.package.codecs import codec_string
from vidlake.vod.ladder import Ladder
from vidlake.vod.probe import ProbeResult

MASTER_NAME = "master.m3u8"
MEDIA_NAME = "index.m3u8"
AUDIO_GROUP = "audio"
SEGMENT_PATTERN = "seg_%05d.m4s"


@dataclass(frozen=True)
class VariantResult:
    """One rendition as written: ``bandwidth`` (peak segment) and ``average_bandwidth`` in bits per
    second, sizes in pixels (0 for audio), ``frame_rate`` fps, ``duration_s`` seconds."""

    name: str
    playlist: Path
    codecs: str
    bandwidth: int
    average_bandwidth: int
    width: int
    height: int
    frame_rate: float | None
    segment_count: int
    duration_s: float


@dataclass(frozen=True)
class HlsResult:
    """The packaged asset. ``wall_s``: seconds the encode took; ``playable_after_s``: seconds from
    start until every rendition had its first segment (``None`` if it never happened early)."""

    master: Path
    variants: tuple[VariantResult, ...]
    audio: VariantResult | None
    duration_s: float
    wall_s: float
    playable_after_s: float | None


def _tonemap_chain(transfer: str | None) -> str:
    tin = "arib-std-b67" if transfer == "arib-std-b67" else "smpte2084"
    return (
        f"zscale=tin={tin}:pin=bt2020:min=bt2020nc:t=linear:npl=100,format=gbrpf32le,"
        "zscale=p=bt709,tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p"
    )


def video_filter_graph(probe: ProbeResult, ladder: Ladder) -> str:
    """The ``-filter_complex`` graph: deinterlace, tonemap, constant rate, split, scale per rung.

    ffmpeg auto-rotates decoded frames, so scaling targets are the ladder's display sizes.
    Output pads are ``[v0]``, ``[v1]``...
    """
    v = probe.video
    if v is None or not ladder.rungs:
        raise ValueError("no video to filter")
    pre: list[str] = []
    if v.interlaced:
        pre.append("bwdif=mode=send_frame:parity=auto:deint=all")
    if v.hdr:
        pre.append(_tonemap_chain(v.color_transfer))
    fps = ladder.frame_rate
    assert fps is not None
    pre.append(f"fps={fps.numerator}/{fps.denominator}")
    n = len(ladder.rungs)
    pre.append(f"split={n}" + "".join(f"[s{i}]" for i in range(n)))
    parts = ["[0:v:0]" + ",".join(pre)]
    for i, rung in enumerate(ladder.rungs):
        parts.append(f"[s{i}]scale={rung.width}:{rung.height}:flags=bicubic,setsar=1,format=yuv420p[v{i}]")
    return ";".join(parts)


def build_transcode_command(
    probe: ProbeResult,
    ladder: Ladder,
    out_dir: Path,
    *,
    preset: str = "veryfast",
    threads: int | None = None,
) -> FFmpegCommand:
    """The single ffmpeg command that writes every rendition of ``ladder`` as fMP4 HLS."""
    if not ladder.rungs and ladder.audio is None:
        raise ValueError("the ladder has neither video nor audio")
    cmd = FFmpegCommand(threads=threads)
    cmd.add_input(MediaInput.untrusted(probe.path, probe.format_name))
    opts: list[str] = []
    stream_map: list[str] = []
    group = f",agroup:{AUDIO_GROUP}" if ladder.audio is not None and ladder.rungs else ""
    if ladder.rungs:
        cmd.filter_complex = video_filter_graph(probe, ladder)
        fps = ladder.frame_rate
        assert fps is not None
        seg = ladder.gop_frames / float(fps)
        for i, rung in enumerate(ladder.rungs):
            opts += ["-map", f"[v{i}]"]
            opts += [f"-c:v:{i}", "libx264", f"-b:v:{i}", str(rung.video_bitrate),
                     f"-maxrate:v:{i}", str(rung.maxrate), f"-bufsize:v:{i}", str(rung.bufsize)]
            stream_map.append(f"v:{i},name:{rung.name}{group}")
        opts += ["-preset", preset, "-profile:v", "high", "-pix_fmt", "yuv420p",
                 "-g", str(ladder.gop_frames), "-keyint_min", str(ladder.gop_frames), "-sc_threshold", "0",
                 "-force_key_frames", f"expr:gte(t,n_forced*{seg:.6f})", "-fps_mode", "cfr"]
    else:
        seg = ladder.segment_s
    if ladder.audio is not None:
        a = ladder.audio
        opts += ["-map", "0:a:0", "-c:a", "aac", "-profile:a", "aac_low", "-b:a", str(a.bitrate),
                 "-ac", str(a.channels), "-ar", str(a.sample_rate), "-af", "aresample=async=1:first_pts=0"]
        stream_map.append(f"a:0,name:{a.name}{group}")
    opts += ["-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn",
             "-f", "hls", "-hls_time", f"{seg:.6f}", "-hls_playlist_type", "event",
             "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
             "-hls_flags", "independent_segments+temp_file",
             "-hls_segment_filename", str(out_dir / "%v" / SEGMENT_PATTERN),
             "-var_stream_map", " ".join(stream_map)]
    cmd.add_output(out_dir / "%v" / MEDIA_NAME, opts)
    return cmd


def _media_playlists(ladder: Ladder, out_dir: Path) -> list[Path]:
    names = [r.name for r in ladder.rungs] + ([ladder.audio.name] if ladder.audio else [])
    return [out_dir / n / MEDIA_NAME for n in names]


def _measure(name: str, playlist_path: Path, width: int, height: int, fps: float | None) -> VariantResult:
    pl = hls.read(playlist_path)
    assert isinstance(pl, hls.MediaPlaylist)
    folder = playlist_path.parent
    init_uri = next((s.init_uri for s in pl.segments if s.init_uri), None)
    if init_uri is None:
        raise RuntimeError(f"{playlist_path} has no EXT-X-MAP")
    init_bytes = (folder / init_uri).stat().st_size
    sizes = [(folder / s.uri).stat().st_size for s in pl.segments]
    durations = [s.duration for s in pl.segments]
    total = sum(durations)
    rates = [8 * b / d for b, d in zip(sizes, durations, strict=True) if d >= 0.5]
    if not rates:
        rates = [8 * b / max(d, 1e-3) for b, d in zip(sizes, durations, strict=True)]
    avg = 8 * (sum(sizes) + init_bytes) / total if total > 0 else 0
    return VariantResult(
        name=name, playlist=playlist_path, codecs=codec_string(folder / init_uri),
        bandwidth=int(max(rates, default=0)), average_bandwidth=int(avg), width=width, height=height,
        frame_rate=fps, segment_count=len(pl.segments), duration_s=total,
    )


def _master(variants: list[VariantResult], audio: VariantResult | None, channels: int | None) -> hls.MasterPlaylist:
    master = hls.MasterPlaylist(version=7, independent_segments=True)
    if audio is not None and variants:
        master.renditions.append(hls.Rendition(
            type="AUDIO", group_id=AUDIO_GROUP, name="Default", uri=f"{audio.name}/{MEDIA_NAME}",
            default=True, autoselect=True, channels=str(channels or 2),
        ))
    for v in sorted(variants, key=lambda x: x.bandwidth, reverse=True):
        codecs = v.codecs + (f",{audio.codecs}" if audio else "")
        master.variants.append(hls.Variant(
            uri=f"{v.name}/{MEDIA_NAME}",
            bandwidth=v.bandwidth + (audio.bandwidth if audio else 0),
            average_bandwidth=v.average_bandwidth + (audio.average_bandwidth if audio else 0),
            codecs=codecs, resolution=(v.width, v.height), frame_rate=v.frame_rate,
            audio=AUDIO_GROUP if audio else None,
        ))
    if not variants and audio is not None:
        master.variants.append(hls.Variant(
            uri=f"{audio.name}/{MEDIA_NAME}", bandwidth=audio.bandwidth,
            average_bandwidth=audio.average_bandwidth, codecs=audio.codecs,
        ))
    return master


def _collect(ladder: Ladder, out_dir: Path) -> tuple[list[VariantResult], VariantResult | None]:
    fps = float(ladder.frame_rate) if ladder.frame_rate else None
    variants = [_measure(r.name, out_dir / r.name / MEDIA_NAME, r.width, r.height, fps) for r in ladder.rungs]
    audio = None
    if ladder.audio is not None:
        audio = _measure(ladder.audio.name, out_dir / ladder.audio.name / MEDIA_NAME, 0, 0, None)
    return variants, audio


def _has_segment(path: Path) -> bool:
    try:
        return "#EXTINF" in path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return False


def transcode_hls(
    probe: ProbeResult,
    ladder: Ladder,
    out_dir: str | Path,
    *,
    preset: str = "veryfast",
    threads: int | None = None,
    timeout_s: float | None = None,
    on_progress: Callable[[float], None] | None = None,
    on_playable: Callable[[Path], None] | None = None,
    cancel_check: Callable[[], bool] | None = None,
    memory_limit_bytes: int | None = None,
    ffmpeg: str | None = None,
) -> HlsResult:
    """Encode ``probe.path`` into HLS under ``out_dir`` following ``ladder``.

    ``timeout_s``: wall-clock limit in seconds (default: 10 x duration + 120 s). ``on_progress``:
    percent 0-100. ``on_playable(master_path)``: called once, while encoding, when every rendition has
    a first segment and a provisional master playlist exists. Raises the :mod:`vidlake.ffmpeg` errors.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    duration = probe.duration_s or 0.0
    if timeout_s is None:
        timeout_s = 10 * duration + 120
    cmd = build_transcode_command(probe, ladder, out, preset=preset, threads=threads)
    playlists = _media_playlists(ladder, out)
    master_path = out / MASTER_NAME
    started = time.monotonic()
    playable_at: list[float] = []
    channels = ladder.audio.channels if ladder.audio else None

    def watch(_: Progress) -> None:
        if playable_at or not all(_has_segment(p) for p in playlists):
            return
        playable_at.append(time.monotonic() - started)
        variants, audio = _collect(ladder, out)
        hls.write(master_path, _master(variants, audio, channels))
        if on_playable is not None:
            on_playable(master_path)

    run(cmd, timeout_s=timeout_s, on_progress=on_progress, duration_s=duration or None,
        cancel_check=cancel_check, memory_limit_bytes=memory_limit_bytes, on_tick=watch, ffmpeg=ffmpeg)
    wall = time.monotonic() - started
    early = playable_at[0] if playable_at else None
    for p in playlists:
        pl = hls.read(p)
        assert isinstance(pl, hls.MediaPlaylist)
        hls.write(p, pl.finalized())
    variants, audio = _collect(ladder, out)
    hls.write(master_path, _master(variants, audio, channels))
    if not playable_at and on_playable is not None:
        on_playable(master_path)
    total = max([v.duration_s for v in variants] + ([audio.duration_s] if audio else []), default=0.0)
    return HlsResult(master=master_path, variants=tuple(variants), audio=audio, duration_s=total,
                     wall_s=wall, playable_after_s=early)
