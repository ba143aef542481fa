"""Audio quality of one file: EBU R128 loudness, true peak, silences and clipping.

One ffmpeg pass (:func:`measure_audio`) splits the first audio stream three ways:

* ``ebur128=peak=true`` gives integrated loudness (LUFS), loudness range (LU) and true peak
  (linear, reported here as dBTP) as frame metadata, printed to a file with ``ametadata``;
* ``silencedetect`` gives silence intervals (seconds) the same way;
* the samples, converted to signed 16-bit PCM (values beyond full scale saturate), are written to
  a scratch file and counted with numpy: the share of samples at full scale is the clipping measure.

:func:`audio_report` turns the numbers into flags (``too_quiet``, ``too_loud``, ``true_peak_over``,
``clipping``, ``silent``, ``long_silence``) with the thresholds below; the ``"loudness"`` file
analysis (registered in :mod:`vidlake.analyze.kinds`) returns that report.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from vidlake.ffmpeg import PYAV_OPTIONS, FFmpegCommand, MediaInput, run

#: Integrated loudness below this (LUFS) is flagged ``too_quiet`` (EBU R128 target is -23 LUFS,
#: streaming platforms normalise to about -14..-16 LUFS).
QUIET_LUFS = -32.0
#: Integrated loudness above this (LUFS) is flagged ``too_loud``.
LOUD_LUFS = -9.0
#: True peak above this (dBTP) is flagged ``true_peak_over`` (EBU R128 allows -1 dBTP).
MAX_TRUE_PEAK_DBTP = -1.0
#: Share of samples at full scale (0..1) above which the audio is flagged ``clipping``.
CLIPPING_SHARE = 1e-3
#: A 16-bit sample at or beyond this magnitude counts as "at full scale" (about -0.01 dBFS).
FULL_SCALE_S16 = 32700
#: Silence: quieter than this (dBFS) for at least ``SILENCE_MIN_S`` seconds.
SILENCE_NOISE_DB = -50.0
SILENCE_MIN_S = 0.5
#: A single silence at least this long (seconds) is flagged ``long_silence``.
LONG_SILENCE_S = 5.0
#: Silence covering at least this share of the duration flags the file ``silent``.
SILENT_SHARE = 0.95

_CHUNK_SAMPLES = 1 << 20


@dataclass(frozen=True)
class MediaStreams:
    """What a file holds: the demuxer ``format_name`` and whether it has audio/video streams."""

    format_name: str
    has_audio: bool
    has_video: bool


def inspect_media(path: Path) -> MediaStreams:
    """Open ``path`` (local files only) and report its container name and stream kinds."""
    with av.open(str(path), mode="r", options=PYAV_OPTIONS) as container:
        return MediaStreams(
            format_name=container.format.name,
            has_audio=bool(container.streams.audio),
            has_video=bool(container.streams.video),
        )


def mono_pcm(path: Path, dest: Path, *, rate: int, sample_format: str = "s16le", max_seconds: float | None = None,
             timeout_s: float = 3600.0, cancel_check: Callable[[], bool] | None = None) -> bool:
    """Write the first audio stream of ``path`` to ``dest`` as raw mono PCM: ``rate`` Hz, ``sample_format``
    ``s16le`` or ``f32le``, at most ``max_seconds`` seconds. False (nothing written) when ``path`` has no
    audio. One hardened ffmpeg, one thread; ``timeout_s`` seconds; ``cancel_check`` stops it."""
    codec = {"s16le": "pcm_s16le", "f32le": "pcm_f32le"}[sample_format]
    streams = inspect_media(path)
    if not streams.has_audio:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    cmd = FFmpegCommand(loglevel="error", threads=1)
    cmd.add_input(MediaInput.untrusted(path, streams.format_name).with_window(duration_s=max_seconds))
    cmd.add_output(dest, ["-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(rate), "-c:a", codec, "-f", sample_format])
    run(cmd, timeout_s=timeout_s, cancel_check=cancel_check)
    return True


def filter_path(path: Path) -> str:
    """``path`` quoted for use as a filter option value inside a ``-filter_complex`` graph."""
    text = str(path.resolve())
    if "'" in text or "\\" in text:
        raise ValueError(f"unsupported character in scratch path {text!r}")
    return "'" + text.replace(":", "\\:") + "'"


def media_input(path: Path) -> MediaInput:
    """A hardened ffmpeg input for a local media file, pinned to the demuxer that opens it."""
    return MediaInput.untrusted(path, inspect_media(path).format_name)


@dataclass
class AudioMeasurement:
    """Raw measurements. ``integrated_lufs``: EBU R128 integrated loudness (LUFS, ``None`` when the
    whole file is below the -70 LUFS gate); ``loudness_range_lu`` (LU); ``true_peak_dbtp`` (dBTP,
    ``None`` for digital silence); ``silences``: ``[(start, end)]`` seconds; ``clipped_samples`` and
    ``samples`` count every channel's samples; ``duration_s`` seconds; ``channels``, ``sample_rate``
    (Hz)."""

    integrated_lufs: float | None
    loudness_range_lu: float | None
    true_peak_dbtp: float | None
    silences: list[tuple[float, float]] = field(default_factory=list)
    clipped_samples: int = 0
    samples: int = 0
    duration_s: float = 0.0
    channels: int = 0
    sample_rate: int = 0

    @property
    def clipping_share(self) -> float:
        """Share (0..1) of samples at full scale."""
        return self.clipped_samples / self.samples if self.samples else 0.0


def _read_metadata(path: Path) -> list[dict[str, str]]:
    """Parse an ``ametadata=mode=print`` file into one dict per frame."""
    frames: list[dict[str, str]] = []
    if not path.exists():
        return frames
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("frame:"):
            frames.append({})
        elif "=" in line and frames:
            key, _, value = line.partition("=")
            frames[-1][key.strip()] = value.strip()
    return frames


def _finite(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _count_clipped(pcm: Path) -> tuple[int, int]:
    """(samples at full scale, all samples) in a raw s16le file, read in chunks."""
    size = pcm.stat().st_size // 2
    if size == 0:
        return 0, 0
    data = np.memmap(pcm, dtype="<i2", mode="r", shape=(size,))
    clipped = 0
    for start in range(0, size, _CHUNK_SAMPLES):
        chunk = np.asarray(data[start:start + _CHUNK_SAMPLES]).astype(np.int32)
        clipped += int(np.count_nonzero(np.abs(chunk) >= FULL_SCALE_S16))
    del data
    return clipped, size


def _audio_format(path: Path) -> tuple[int, int]:
    with av.open(str(path), mode="r", options=PYAV_OPTIONS) as container:
        stream = container.streams.audio[0]
        return int(stream.codec_context.channels or 1), int(stream.codec_context.sample_rate or 48000)


def measure_audio(path: Path, work_dir: Path, *, timeout_s: float = 3600.0) -> AudioMeasurement | None:
    """Measure the first audio stream of ``path`` in one ffmpeg pass (``None`` without audio).

    Scratch files (metadata text, the 16-bit PCM copy: 2 bytes x channels x sample rate per second)
    go to ``work_dir`` and are removed afterwards. ``timeout_s``: wall-clock limit in seconds.
    """
    streams = inspect_media(path)
    if not streams.has_audio:
        return None
    channels, rate = _audio_format(path)
    work_dir.mkdir(parents=True, exist_ok=True)
    loud_txt, pcm = work_dir / "loudness_meta.txt", work_dir / "loudness_pcm.s16"
    meta_file = filter_path(loud_txt)
    cmd = FFmpegCommand(loglevel="error", threads=2)
    cmd.add_input(MediaInput.untrusted(path, streams.format_name))
    cmd.filter_complex = (
        "[0:a:0]asplit=2[m][p];"
        f"[m]ebur128=peak=true:metadata=1,silencedetect=n={SILENCE_NOISE_DB}dB:d={SILENCE_MIN_S},"
        f"ametadata=mode=print:file={meta_file}[mo];"
        "[p]aformat=sample_fmts=s16[po]"
    )
    cmd.add_output("-", ["-map", "[mo]", "-f", "null"])
    cmd.add_output(pcm, ["-map", "[po]", "-c:a", "pcm_s16le", "-f", "s16le"])
    try:
        run(cmd, timeout_s=timeout_s)
        frames = _read_metadata(loud_txt)
        clipped, samples = _count_clipped(pcm)
    finally:
        loud_txt.unlink(missing_ok=True)
        pcm.unlink(missing_ok=True)
    duration = samples / channels / rate if channels and rate else 0.0

    last_r128 = next((f for f in reversed(frames) if "lavfi.r128.I" in f), {})
    integrated = _finite(last_r128.get("lavfi.r128.I"))
    if integrated is not None and integrated <= -70.0:
        integrated = None
    lra = _finite(last_r128.get("lavfi.r128.LRA"))
    peak_linear = _finite(last_r128.get("lavfi.r128.true_peak"))
    true_peak = 20.0 * math.log10(peak_linear) if peak_linear and peak_linear > 0 else None

    silences: list[tuple[float, float]] = []
    open_start: float | None = None
    for f in frames:
        start = _finite(f.get("lavfi.silence_start"))
        end = _finite(f.get("lavfi.silence_end"))
        if start is not None:
            open_start = max(0.0, start)
        if end is not None:
            silences.append((open_start if open_start is not None else 0.0, end))
            open_start = None
    if open_start is not None and duration - open_start >= SILENCE_MIN_S:
        silences.append((open_start, duration))
    return AudioMeasurement(
        integrated_lufs=integrated, loudness_range_lu=lra, true_peak_dbtp=true_peak, silences=silences,
        clipped_samples=clipped, samples=samples, duration_s=duration, channels=channels, sample_rate=rate,
    )


def flags_for(m: AudioMeasurement) -> list[str]:
    """The problem flags of a measurement (thresholds are the module constants)."""
    flags: list[str] = []
    silent_s = sum(e - s for s, e in m.silences)
    if m.integrated_lufs is None or (m.duration_s > 0 and silent_s >= SILENT_SHARE * m.duration_s):
        flags.append("silent")
    elif m.integrated_lufs < QUIET_LUFS:
        flags.append("too_quiet")
    elif m.integrated_lufs > LOUD_LUFS:
        flags.append("too_loud")
    if m.true_peak_dbtp is not None and m.true_peak_dbtp > MAX_TRUE_PEAK_DBTP:
        flags.append("true_peak_over")
    if m.clipping_share > CLIPPING_SHARE:
        flags.append("clipping")
    if "silent" not in flags and any(e - s >= LONG_SILENCE_S for s, e in m.silences):
        flags.append("long_silence")
    return flags


def audio_report(path: Path, work_dir: Path) -> dict[str, Any]:
    """The JSON report of the ``"loudness"`` analysis: measurements (LUFS, LU, dBTP, seconds) and
    ``flags``; ``{"has_audio": False, "flags": []}`` for a file without audio."""
    m = measure_audio(path, work_dir)
    if m is None:
        return {"has_audio": False, "flags": []}
    out = asdict(m)
    out["silences"] = [{"start": round(s, 3), "end": round(e, 3)} for s, e in m.silences]
    out["clipping_share"] = m.clipping_share
    for key in ("integrated_lufs", "loudness_range_lu", "true_peak_dbtp", "duration_s"):
        if out[key] is not None:
            out[key] = round(out[key], 3)
    return {"has_audio": True, **out, "flags": flags_for(m)}
