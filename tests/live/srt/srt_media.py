"""Test media of the SRT tests (a module with a unique name: ``conftest`` imports collide across folders)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

FPS = 30
GOP = 30
SECONDS = 3

MakeTs = Callable[..., Path]


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
