"""Fixtures for the SRT tests: tiny MPEG-TS files made by ffmpeg, publishers, the anyio backend."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from vidlake.ffmpeg import ffmpeg_exe

FPS = 30
GOP = 30
SECONDS = 3

MakeTs = Callable[..., Path]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return ffmpeg_exe()


def source_args(seconds: float, size: str = "320x180", fps: int = FPS, audio_rate: int = 48000) -> list[str]:
    """ffmpeg inputs: testsrc2 video and a sine tone, ``seconds`` long."""
    return [
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={audio_rate}",
        "-t", f"{seconds:g}",
    ]


def h264_aac_args(gop: int = GOP) -> list[str]:
    """Encoder options: x264 with a fixed keyframe interval of ``gop`` frames, AAC audio."""
    return ["-c:v", "libx264", "-preset", "ultrafast", "-g", str(gop), "-sc_threshold", "0",
            "-pix_fmt", "yuv420p", "-c:a", "aac"]


@pytest.fixture(scope="session")
def make_ts(tmp_path_factory: pytest.TempPathFactory, ffmpeg: str) -> MakeTs:
    """``make_ts(name, codec_args, seconds=3, size=..., extra=[...])`` -> a TS file made by ffmpeg."""
    root = tmp_path_factory.mktemp("srt-ts")

    def make(name: str, codec_args: Sequence[str], seconds: float = SECONDS, size: str = "320x180",
             extra: Sequence[str] = ()) -> Path:
        out = root / f"{name}.ts"
        if not out.exists():
            subprocess.run(
                [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", *source_args(seconds, size),
                 *codec_args, *extra, "-f", "mpegts", str(out)],
                check=True, timeout=120,
            )
        return out

    return make


@pytest.fixture(scope="session")
def sample_ts(make_ts: MakeTs) -> Path:
    """3 s of 320x180 H.264 at 30 fps, keyframe every 30 frames, plus AAC (48 kHz mono)."""
    return make_ts("h264_aac", h264_aac_args())
