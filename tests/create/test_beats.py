"""The beat grid against click tracks of known tempo (made with ffmpeg's aevalsrc, decoded back through
vidlake.ffmpeg): tempo, every beat near a click, downbeats on the accented clicks, loudness, no audio."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from vidlake.analyze import registry
from vidlake.create.beats import BeatGrid, beat_grid, beats_report
from vidlake.ffmpeg import ffmpeg_exe

SECONDS = 20.0
FIRST = 0.25  # seconds: the first click


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args], check=True, timeout=120)


def click_file(dest: Path, bpm: float, *, quiet_until: float = 0.0) -> Path:
    """Clicks every beat from FIRST s, every 4th with a 70 Hz accent, in an MP4 with a video track;
    before ``quiet_until`` seconds everything is 30 dB down."""
    beat, bar = 60.0 / bpm, 4 * 60.0 / bpm
    tt = f"(t-{FIRST})"
    gain = f"if(lt(t\\,{quiet_until})\\,0.03\\,1)"
    expr = (f"{gain}*gte(t\\,{FIRST})*(0.6*sin(2*PI*1000*t)*lt(mod({tt}\\,{beat})\\,0.03)"
            f"+0.9*sin(2*PI*70*t)*lt(mod({tt}\\,{bar})\\,0.06))")
    _ff("-f", "lavfi", "-i", f"color=c=blue:s=160x90:r=10:d={SECONDS}",
        "-f", "lavfi", "-i", f"aevalsrc={expr}:s=44100:d={SECONDS}",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "128k", "-shortest", str(dest))
    return dest


@pytest.fixture(scope="module", params=[120.0, 100.0])
def grid(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[float, BeatGrid]:
    root = tmp_path_factory.mktemp("beats")
    bpm = float(request.param)
    return bpm, beat_grid(click_file(root / f"c{bpm:g}.mp4", bpm), root)


def test_tempo_and_beats_match_the_clicks(grid: tuple[float, BeatGrid]) -> None:
    bpm, g = grid
    assert g.tempo_bpm == pytest.approx(bpm, rel=0.02)
    clicks = FIRST + np.arange(0, SECONDS, 60.0 / bpm)
    clicks = clicks[clicks < SECONDS - 0.1]
    errors = [float(np.min(np.abs(clicks - b))) for b in g.beats]
    assert max(errors) <= 0.05, errors  # the creation's cut tolerance
    middle = clicks[(clicks > 2) & (clicks < SECONDS - 2)]
    found = [c for c in middle if np.min(np.abs(np.asarray(g.beats) - c)) <= 0.05]
    assert len(found) >= 0.9 * len(middle)


def test_downbeats_are_the_accented_clicks(grid: tuple[float, BeatGrid]) -> None:
    bpm, g = grid
    bars = FIRST + np.arange(0, SECONDS, 4 * 60.0 / bpm)
    assert g.beats_per_bar == 4 and len(g.downbeats) >= 4
    right = [d for d in g.downbeats if np.min(np.abs(bars - d)) <= 0.05]
    assert len(right) >= 0.8 * len(g.downbeats), (g.downbeats, bars)
    assert set(g.downbeats) <= set(g.beats)
    assert BeatGrid.from_dict(g.to_dict()).to_dict() == g.to_dict()


def test_energy_rises_where_the_music_is_louder(tmp_path: Path) -> None:
    g = beat_grid(click_file(tmp_path / "q.mp4", 120.0, quiet_until=10.0), tmp_path)
    energy = np.asarray(g.energy)
    assert len(energy) == pytest.approx(SECONDS / 0.5, abs=1)
    assert energy[22:38].mean() > energy[2:18].mean() + 0.3


def test_a_file_without_audio_has_no_grid(tmp_path: Path) -> None:
    silent = tmp_path / "v.mp4"
    _ff("-f", "lavfi", "-i", "color=c=red:s=160x90:r=10:d=2", "-c:v", "libx264", "-preset", "ultrafast", str(silent))
    assert beats_report(silent, tmp_path) == {"has_audio": False}
    assert "beats" in registry.kinds()
