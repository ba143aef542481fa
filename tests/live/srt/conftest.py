"""Fixtures for the SRT tests: tiny MPEG-TS files made by ffmpeg, publishers, the anyio backend."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from srt_media import SECONDS, MakeTs, h264_aac_args, source_args

from vidlake.ffmpeg import ffmpeg_exe


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return ffmpeg_exe()


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
