"""Loudness, true peak, silences and clipping against signals with known levels."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from vidlake.analyze.audio_quality import (
    CLIPPING_SHARE,
    LOUD_LUFS,
    QUIET_LUFS,
    audio_report,
    measure_audio,
)
from vidlake.analyze.registry import FileContext, file_function
from vidlake.ffmpeg import ffmpeg_exe


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _sine(path: Path, seconds: float, gain_db: float, channels: int = 2) -> Path:
    """A 1 kHz sine (ffmpeg's default amplitude 1/8, i.e. -18.06 dBFS) at ``gain_db`` on every
    channel, 48 kHz 16-bit WAV; samples beyond full scale saturate."""
    _ff("-f", "lavfi", "-i", f"sine=f=1000:sample_rate=48000:d={seconds}", "-af",
        f"aformat=channel_layouts={'stereo' if channels == 2 else 'mono'},volume={gain_db}dB",
        "-c:a", "pcm_s16le", str(path))
    return path


def _samples(path: Path) -> npt.NDArray[np.float64]:
    """(frames, channels) samples of a 16-bit WAV, full scale = 1."""
    with wave.open(str(path)) as w:
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return raw.reshape(-1, w.getnchannels()).astype(np.float64) / 32768.0


def _ffmpeg_integrated(path: Path) -> float:
    """ffmpeg's own EBU R128 summary (integrated LUFS), read from its log."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128",
                           "-f", "null", "-"], capture_output=True, text=True, check=True)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip().startswith("I:")]
    return float(lines[-1].split()[1])


@pytest.mark.parametrize("gain_db", [-5.0, 5.0, -15.0])
def test_integrated_loudness_matches_ffmpeg_summary(tmp_path: Path, gain_db: float) -> None:
    path = _sine(tmp_path / "s.wav", 3.0, gain_db)
    m = measure_audio(path, tmp_path / "w")
    assert m is not None and m.integrated_lufs is not None
    assert m.integrated_lufs == pytest.approx(_ffmpeg_integrated(path), abs=1.0)
    # BS.1770: a steady 1 kHz tone reads 10*log10(sum of channel mean squares) LUFS (the K-filter
    # gain at 1 kHz cancels the -0.691 offset), and its true peak is close to its sample peak.
    x = _samples(path)
    assert m.integrated_lufs == pytest.approx(10 * np.log10((x**2).mean(axis=0).sum()), abs=0.5)
    assert m.true_peak_dbtp == pytest.approx(20 * np.log10(np.abs(x).max()), abs=0.5)
    assert m.duration_s == pytest.approx(3.0, abs=0.01)
    assert m.channels == 2 and m.sample_rate == 48000


def test_flags_quiet_loud_and_clean(tmp_path: Path) -> None:
    clean = audio_report(_sine(tmp_path / "clean.wav", 3.0, -8.0), tmp_path / "w")
    assert clean["flags"] == [], clean
    quiet = audio_report(_sine(tmp_path / "quiet.wav", 3.0, -25.0), tmp_path / "w")
    assert quiet["integrated_lufs"] < QUIET_LUFS and quiet["flags"] == ["too_quiet"]
    loud = audio_report(_sine(tmp_path / "loud.wav", 3.0, 15.0), tmp_path / "w")
    assert loud["integrated_lufs"] > LOUD_LUFS and "too_loud" in loud["flags"]
    assert "clipping" not in loud["flags"]  # about -6 dBFS peaks (the mono-to-stereo upmix is -3 dB): loud, not clipped


def test_hard_clipped_signal_is_flagged(tmp_path: Path) -> None:
    # +20 dB on a -18 dBFS sine: the 16-bit conversion saturates, flat tops on most of every cycle.
    path = _sine(tmp_path / "clip.wav", 2.0, 20.0, channels=1)
    report = audio_report(path, tmp_path / "w")
    assert "clipping" in report["flags"]
    assert report["clipping_share"] > 0.3  # amplitude 1.25: |sin| > 0.8 for ~59 % of the time
    assert report["true_peak_dbtp"] > -0.5
    clean = audio_report(_sine(tmp_path / "full.wav", 2.0, 17.5, channels=1), tmp_path / "w")  # -0.6 dBFS
    assert clean["clipping_share"] < CLIPPING_SHARE and "clipping" not in clean["flags"]


def test_silences_at_known_times(tmp_path: Path) -> None:
    tone = "sine=f=440:sample_rate=48000:d={d}"
    gap = "anullsrc=r=48000:cl=mono:d={d}"
    parts = [tone.format(d=1.5), gap.format(d=1.0), tone.format(d=1.0), gap.format(d=2.0)]
    args: list[str] = []
    for p in parts:
        args += ["-f", "lavfi", "-i", p]
    path = tmp_path / "gaps.m4a"
    _ff(*args, "-filter_complex", "[0][1][2][3]concat=n=4:v=0:a=1", "-c:a", "aac", "-b:a", "96k", str(path))
    report = audio_report(path, tmp_path / "w")
    silences = [(s["start"], s["end"]) for s in report["silences"]]
    assert len(silences) == 2, silences
    (s1, e1), (s2, e2) = silences
    assert s1 == pytest.approx(1.5, abs=0.1) and e1 == pytest.approx(2.5, abs=0.1)
    assert s2 == pytest.approx(3.5, abs=0.1) and e2 == pytest.approx(report["duration_s"], abs=0.1)
    assert "silent" not in report["flags"]


def test_silent_and_no_audio(tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    _ff("-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo:d=2", "-c:a", "pcm_s16le", str(silent))
    report = audio_report(silent, tmp_path / "w")
    assert report["flags"] == ["silent"] and report["integrated_lufs"] is None
    video = tmp_path / "v.mp4"
    _ff("-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video))
    fn = file_function("loudness")
    assert fn is not None
    assert fn(FileContext(path=video, work_dir=tmp_path / "w")) == {"has_audio": False, "flags": []}
    assert list((tmp_path / "w").iterdir()) == []  # scratch files removed
