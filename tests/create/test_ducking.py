"""The music of a ``vlog`` creation is ducked under speech: the edit document made by
``assemble.document`` is rendered for real and the music's level is measured where the inputs speak and
between sentences (a silent input, a 440 Hz music track: what is heard is the music alone)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from vidlake.create import assemble
from vidlake.create.scoring import Candidate
from vidlake.edit import ResolveError, SourceInfo, render, validate_edit
from vidlake.ffmpeg import ffmpeg_exe


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True, timeout=120)


def _probe(path: Path) -> SourceInfo:
    with av.open(str(path)) as c:
        video = c.streams.video[0] if c.streams.video else None
        return SourceInfo(path=str(path), duration_s=(c.duration or 0) / 1_000_000, has_video=video is not None,
                          has_audio=bool(c.streams.audio), width=video.codec_context.width if video else None,
                          height=video.codec_context.height if video else None)


def _rms(samples: np.ndarray, rate: int, start: float, end: float) -> float:
    part = samples[int(start * rate):int(end * rate)]
    return float(np.sqrt(np.mean(part ** 2)))


def test_music_is_ducked_under_speech(tmp_path: Path) -> None:
    talk, music = tmp_path / "talk.mp4", tmp_path / "music.m4a"
    _ff("-f", "lavfi", "-i", "testsrc2=s=640x360:r=30", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo",
        "-t", "12", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(talk))
    _ff("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=20", "-ac", "2", "-c:a", "aac",
        str(music))
    files = {"talk": talk, "music": music}

    def resolve(src: str) -> SourceInfo:
        name = src.removeprefix("asset:")
        if name not in files:
            raise ResolveError(f"unknown asset {name!r}")
        return _probe(files[name])

    shot = Candidate(input_index=0, asset_id="talk", scene=0, start=0.0, end=12.0, score=0.9, reasons=["test"])
    slots = [assemble.Slot(0.0, 4.0, shot, 0.0), assemble.Slot(4.0, 4.0, shot, 4.0)]
    speech = {0: [(1.0, 3.0), (5.0, 7.0)]}  # seconds of the asset = seconds of the timeline here
    request = {"style": "vlog", "duration": 8.0, "aspect_ratio": "16:9", "resolution": "720p",
               "music": {"src": "asset:music", "volume": 0.8}}
    doc = assemble.document(slots, request, speech, {})
    assert "soundtrack" not in doc["timeline"]  # the music is laid as stretches instead
    music_clips = doc["timeline"]["tracks"][-1]["clips"]
    assert [c["asset"]["volume"] for c in music_clips] == pytest.approx([0.8, 0.24, 0.8, 0.24, 0.8])
    assert all(c["asset"]["trim"] == c["start"] for c in music_clips)  # one continuous piece of music
    out = tmp_path / "vlog.mp4"
    render(validate_edit(doc, resolve), out)
    with av.open(str(out)) as c:
        rate = c.streams.audio[0].sample_rate
        samples = np.concatenate([f.to_ndarray().reshape(len(f.layout.channels), -1)[0]
                                  for f in c.decode(audio=0)]).astype(np.float64)
    spoken = [_rms(samples, rate, 1.4, 2.6), _rms(samples, rate, 5.4, 6.6)]
    between = [_rms(samples, rate, 3.4, 4.6), _rms(samples, rate, 0.0, 0.6)]
    profile = [round(_rms(samples, rate, t / 4, t / 4 + 0.25), 3) for t in range(32)]
    assert min(between) > 0.03, (between, profile)  # the music is there between sentences
    for level in spoken:
        assert level / np.mean(between) == pytest.approx(assemble.DUCKED_VOLUME, abs=0.08), (spoken, between)
