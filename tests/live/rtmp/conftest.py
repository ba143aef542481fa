"""Fixtures for the RTMP tests: a tiny FLV made by ffmpeg, and the anyio backend."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from vidlake.ffmpeg import ffmpeg_exe

FPS = 25
GOP = 25
SAMPLE_SECONDS = 2


@dataclass(frozen=True)
class SampleSpec:
    """What :func:`sample_flv` contains: frames per second, keyframe interval (frames), seconds."""

    fps: int = FPS
    gop: int = GOP
    seconds: int = SAMPLE_SECONDS

    @property
    def frames(self) -> int:
        return self.fps * self.seconds


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return ffmpeg_exe()


@pytest.fixture(scope="session")
def sample_spec() -> SampleSpec:
    return SampleSpec()


@pytest.fixture(scope="session")
def sample_flv(tmp_path_factory: pytest.TempPathFactory, ffmpeg: str) -> Path:
    """A 2 s FLV: 320x180 H.264 at 25 fps with a keyframe every 25 frames, plus AAC audio (stereo)."""
    out = tmp_path_factory.mktemp("rtmp") / "sample.flv"
    subprocess.run(
        [
            ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate={FPS}",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
            "-t", str(SAMPLE_SECONDS), "-ac", "2",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", str(GOP), "-sc_threshold", "0", "-c:a", "aac",
            "-f", "flv", str(out),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip
    return out
