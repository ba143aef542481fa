"""The music beat grid of a media file: tempo, beats, downbeats and loudness, for cutting to the music.

Audio is decoded only through :mod:`vidlake.ffmpeg` (hardened input, process limits): the first audio
stream, mono, :data:`SAMPLE_RATE` Hz, 32-bit float PCM, at most ``max_seconds``. Then:

* **beats**: ``librosa.beat.beat_track`` on ``librosa.onset.onset_strength`` (hop :data:`HOP` samples,
  11.6 ms). librosa's times are quantised to that hop and land 1-2 frames late on sharp clicks, so each
  beat moves to the strongest energy rise within ±:data:`REFINE_S` seconds, measured on a fine grid
  (windows of :data:`FINE_WINDOW` samples every :data:`FINE_HOP` samples, 1.45 ms): the rise at time
  *t* compares the window starting at *t* with the window ending at *t*, so it peaks at the onset.
  A beat stays where librosa put it when no rise of at least :data:`MIN_RISE_DB` dB is near.
* **tempo**: 60 / the mean inter-beat interval (intervals within 25 % of the median), in BPM;
  librosa's own estimate when fewer than 4 beats are found.
* **downbeats**: librosa has none. Heuristic: every beat gets an accent, the sum of its low-frequency
  onset strength (the onset envelope of the STFT bins below :data:`LOW_HZ` Hz: kick drum, bass) and
  its plain onset strength, each divided by its mean over all beats; the bar phase (0 ..
  ``beats_per_bar`` - 1) whose beats have the highest mean accent is taken as the bar start. Bars are
  assumed to be 4 beats long (no metre detection).
* **energy**: RMS per :data:`ENERGY_WINDOW_S` s window, in dB relative to the loudest window, mapped
  from [-60 dB, 0 dB] onto [0, 1] (for highlights and ducking).

librosa compiles its kernels with numba on first use: 30-45 s in a fresh process. With
``NUMBA_CACHE_DIR`` pointing at a persistent directory (:func:`ensure_numba_cache`, called by the
worker at start and before every librosa import here) later processes load the cache in a few seconds;
:func:`warm` runs a 3 s synthetic click through the same code to fill or load it ahead of time.
The ``"beats"`` file analysis (:mod:`vidlake.analyze.kinds`) returns :func:`beats_report`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vidlake.analyze.audio_quality import mono_pcm
from vidlake.jobs.errors import JobCancelled

#: Analysis sample rate (Hz) and onset/beat hop (samples: 11.6 ms).
SAMPLE_RATE = 22050
HOP = 256
#: Beats move to the strongest onset within this many seconds either side.
REFINE_S = 0.035
#: Fine onset grid for the refinement: window and hop in samples (5.8 ms, 1.45 ms).
FINE_WINDOW = 128
FINE_HOP = 32
#: The smallest energy rise (dB) a beat is moved to.
MIN_RISE_DB = 3.0
#: Low-frequency band (Hz) whose onsets mark downbeats.
LOW_HZ = 200.0
#: Loudness window (seconds) and the dB range mapped onto 0..1.
ENERGY_WINDOW_S = 0.5
ENERGY_RANGE_DB = 60.0
BEATS_PER_BAR = 4

Audio = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BeatGrid:
    """The beat grid of one file. Times are seconds from the file's start, ascending."""

    tempo_bpm: float  # beats per minute (0.0 when no beat was found)
    beats: list[float]  # beat times, seconds
    downbeats: list[float]  # bar starts (a subset of beats), seconds
    beats_per_bar: int  # 4
    duration: float  # seconds of audio analysed
    energy: list[float] = field(default_factory=list)  # loudness per 0.5 s window, 0..1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times rounded to milliseconds, tempo to 0.01 BPM, energy to 0.001."""
        return {
            "has_audio": True,
            "tempo_bpm": round(self.tempo_bpm, 2),
            "beats": [round(t, 3) for t in self.beats],
            "downbeats": [round(t, 3) for t in self.downbeats],
            "beats_per_bar": self.beats_per_bar,
            "duration": round(self.duration, 3),
            "energy_window_s": ENERGY_WINDOW_S,
            "energy": [round(e, 3) for e in self.energy],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BeatGrid:
        """The grid stored by :meth:`to_dict` (e.g. the ``"beats"`` analysis result)."""
        return cls(
            tempo_bpm=float(d.get("tempo_bpm", 0.0)),
            beats=[float(t) for t in d.get("beats", [])],
            downbeats=[float(t) for t in d.get("downbeats", [])],
            beats_per_bar=int(d.get("beats_per_bar", BEATS_PER_BAR)),
            duration=float(d.get("duration", 0.0)),
            energy=[float(e) for e in d.get("energy", [])],
        )


def _cache_candidates() -> list[Path]:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return [Path(base) / "vidlake" / "numba", Path(tempfile.gettempdir()) / f"vidlake-numba-{os.getuid()}"]


def ensure_numba_cache() -> None:
    """Point ``NUMBA_CACHE_DIR`` (unless already set) at ``$XDG_CACHE_HOME/vidlake/numba``, else
    ``~/.cache/vidlake/numba``, else a per-user temporary directory: the first writable one. Call it
    before numba is imported (numba reads the variable at import; an already imported numba is told to
    re-read its configuration)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    for candidate in _cache_candidates():
        with contextlib.suppress(OSError):
            candidate.mkdir(parents=True, exist_ok=True)
            if os.access(candidate, os.W_OK):
                os.environ["NUMBA_CACHE_DIR"] = str(candidate)
                break
    else:
        return
    config = sys.modules.get("numba.core.config")
    if config is not None:
        with contextlib.suppress(Exception):
            config.reload_config()


def _check(should_stop: Callable[[], bool]) -> None:
    if should_stop():
        raise JobCancelled("beat analysis cancelled")


def decode_audio(path: Path, work_dir: Path, *, max_seconds: float = 900.0,
                 should_stop: Callable[[], bool] = lambda: False, timeout_s: float = 1800.0) -> Audio | None:
    """The first audio stream of ``path`` as mono float32 samples at :data:`SAMPLE_RATE` Hz (at most
    ``max_seconds`` seconds; ``None`` without audio). Scratch PCM (88 kB per second) goes to
    ``work_dir`` and is removed. ``timeout_s``: ffmpeg wall-clock limit in seconds."""
    pcm = work_dir / "beats_22k.f32"
    try:
        if not mono_pcm(path, pcm, rate=SAMPLE_RATE, sample_format="f32le", max_seconds=max_seconds,
                        timeout_s=timeout_s, cancel_check=should_stop):
            return None
        samples = np.fromfile(pcm, dtype="<f4").astype(np.float32)
    finally:
        pcm.unlink(missing_ok=True)
    return np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)


def _fine_rise(y: Audio) -> tuple[Floats, Floats]:
    """(times in seconds, energy rise in dB) on the fine grid: the rise at ``t`` is the energy of the
    window starting at ``t`` over the energy of the window ending at ``t``."""
    power = np.concatenate(([0.0], np.cumsum(y.astype(np.float64) ** 2)))
    starts = np.arange(0, max(0, len(y) - FINE_WINDOW) + 1, FINE_HOP)
    energy = power[starts + FINE_WINDOW] - power[starts]
    floor = max(float(energy.max(initial=0.0)), 1e-12) * 10 ** (-ENERGY_RANGE_DB / 10)
    level = 10 * np.log10(energy + floor)
    lag = FINE_WINDOW // FINE_HOP
    rise = np.zeros_like(level)
    rise[lag:] = level[lag:] - level[:-lag]
    return starts / SAMPLE_RATE, rise


def _refine(beats: Floats, y: Audio) -> Floats:
    """Each beat moved to the strongest energy rise within ±REFINE_S (kept if none reaches MIN_RISE_DB)."""
    times, rise = _fine_rise(y)
    out = beats.copy()
    for i, beat in enumerate(beats):
        lo, hi = np.searchsorted(times, [beat - REFINE_S, beat + REFINE_S])
        if hi > lo:
            best = lo + int(np.argmax(rise[lo:hi]))
            if rise[best] >= MIN_RISE_DB:
                out[i] = times[best]
    return np.unique(out)


def _tempo(beats: Floats, fallback: float) -> float:
    if len(beats) < 4:
        return fallback
    gaps = np.diff(beats)
    median = float(np.median(gaps))
    steady = gaps[np.abs(gaps - median) <= 0.25 * median]
    return 60.0 / float(steady.mean()) if len(steady) and steady.mean() > 0 else fallback


def _downbeats(beats: Floats, y: Audio, onset_env: Floats, beats_per_bar: int) -> Floats:
    """The beats of the bar phase with the highest mean accent (low-band plus plain onset strength)."""
    if len(beats) < beats_per_bar:
        return beats[:1]
    import librosa

    spec = np.abs(librosa.stft(y, n_fft=2048, hop_length=HOP)) ** 2
    low = spec[librosa.fft_frequencies(sr=SAMPLE_RATE, n_fft=2048) < LOW_HZ]
    low_env = librosa.onset.onset_strength(S=librosa.power_to_db(low, ref=np.max), sr=SAMPLE_RATE,
                                           hop_length=HOP)
    frames = librosa.time_to_frames(beats, sr=SAMPLE_RATE, hop_length=HOP)

    def around(env: Floats) -> Floats:
        # the strongest onset within two hops (23 ms) of each beat, divided by its mean over the beats
        picks = np.array([env[max(0, f - 2):f + 3].max(initial=0.0) for f in frames])
        return picks / picks.mean() if picks.mean() > 0 else picks

    accent = around(low_env) + around(onset_env)
    means = [float(accent[p::beats_per_bar].mean()) for p in range(beats_per_bar)]
    return beats[int(np.argmax(means))::beats_per_bar]


def _energy(y: Audio) -> list[float]:
    window = int(ENERGY_WINDOW_S * SAMPLE_RATE)
    count = -(-len(y) // window)
    if count == 0:
        return []
    padded = np.zeros(count * window, dtype=np.float64)
    padded[:len(y)] = y
    rms = np.sqrt((padded.reshape(count, window) ** 2).mean(axis=1))
    top = float(rms.max())
    if top <= 0:
        return [0.0] * count
    db = 20 * np.log10(np.maximum(rms / top, 1e-12))
    return [float(v) for v in np.clip((db + ENERGY_RANGE_DB) / ENERGY_RANGE_DB, 0.0, 1.0)]


def grid_of(y: Audio, *, beats_per_bar: int = BEATS_PER_BAR,
            should_stop: Callable[[], bool] = lambda: False) -> BeatGrid:
    """The beat grid of mono samples ``y`` at :data:`SAMPLE_RATE` Hz."""
    ensure_numba_cache()
    import librosa

    duration = len(y) / SAMPLE_RATE
    energy = _energy(y)
    if duration < 1.0 or not np.any(y):
        return BeatGrid(0.0, [], [], beats_per_bar, duration, energy)
    onset_env = librosa.onset.onset_strength(y=y, sr=SAMPLE_RATE, hop_length=HOP)
    _check(should_stop)
    tempo, raw = librosa.beat.beat_track(onset_envelope=onset_env, sr=SAMPLE_RATE, hop_length=HOP,
                                         units="time")
    _check(should_stop)
    fallback = float(np.atleast_1d(tempo)[0]) if np.size(tempo) else 0.0
    beats = _refine(np.asarray(raw, dtype=np.float64), y) if len(raw) else np.zeros(0)
    downbeats = _downbeats(beats, y, onset_env, beats_per_bar) if len(beats) else beats
    return BeatGrid(
        tempo_bpm=_tempo(beats, fallback) if len(beats) else 0.0,
        beats=[float(t) for t in beats], downbeats=[float(t) for t in downbeats],
        beats_per_bar=beats_per_bar, duration=duration, energy=energy,
    )


def beat_grid(path: Path, work_dir: Path, *, max_seconds: float = 900.0,
              should_stop: Callable[[], bool] = lambda: False) -> BeatGrid:
    """The beat grid of the first ``max_seconds`` seconds of ``path``'s first audio stream (a file
    without audio gives an empty grid of duration 0). Scratch files go to ``work_dir``."""
    _check(should_stop)
    y = decode_audio(path, work_dir, max_seconds=max_seconds, should_stop=should_stop)
    if y is None:
        return BeatGrid(0.0, [], [], BEATS_PER_BAR, 0.0, [])
    _check(should_stop)
    return grid_of(y, should_stop=should_stop)


def beats_report(path: Path, work_dir: Path, should_stop: Callable[[], bool] = lambda: False) -> dict[str, Any]:
    """The JSON result of the ``"beats"`` analysis: ``{"has_audio": False}`` for a file without audio,
    else :meth:`BeatGrid.to_dict`."""
    _check(should_stop)
    y = decode_audio(path, work_dir, should_stop=should_stop)
    if y is None:
        return {"has_audio": False}
    return grid_of(y, should_stop=should_stop).to_dict()


def click_track(seconds: float = 3.0, bpm: float = 120.0) -> Audio:
    """A synthetic click (1 kHz bursts of 30 ms, every beat) at :data:`SAMPLE_RATE` Hz."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    phase = np.mod(t, 60.0 / bpm)
    return (0.5 * np.sin(2 * np.pi * 1000 * t) * np.exp(-60 * phase) * (phase < 0.03)).astype(np.float32)


def warm() -> float:
    """Run the beat tracker on 3 s of :func:`click_track` so numba compiles its kernels (or loads them
    from ``NUMBA_CACHE_DIR``). Returns the seconds taken."""
    started = time.monotonic()
    grid_of(click_track())
    return time.monotonic() - started
