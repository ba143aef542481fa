"""Cost of the shot quality meter per frame, against the decode and FrozenFrameDetector of the same run.

A 360p25 (or ``--size``) H.264 ``testsrc2`` clip of ``--frames`` frames is decoded once into memory as
the run would hand it over (short side 240, the meter's own ask); then each analyser processes those
frames alone, so the figures are the analyser's own milliseconds per frame, next to the decode's.

    .venv/bin/python bench/shot_quality.py [--frames 600] [--size 640x360] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from vidlake.analyze.base import Analyser
from vidlake.analyze.frames import Frame, read_frames
from vidlake.analyze.quality import FrozenFrameDetector
from vidlake.analyze.shot_quality import ShotQualityMeter
from vidlake.ffmpeg import ffmpeg_exe


def make_source(path: Path, frames: int, size: str) -> None:
    """``frames`` frames of 25 fps ``testsrc2`` at ``size``, H.264."""
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={size}:r=25",
                    "-frames:v", str(frames), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                    str(path)], check=True)


def per_frame_ms(make: Callable[[], Analyser], frames: Sequence[Frame], repeat: int) -> float:
    """Best of ``repeat`` runs: milliseconds per frame of ``process`` plus ``result``."""
    best = float("inf")
    for _ in range(repeat):
        analyser = make()
        t0 = time.perf_counter()
        for frame in frames:
            analyser.process(frame)
        analyser.result()
        best = min(best, time.perf_counter() - t0)
    return best * 1000 / len(frames)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--repeat", type=int, default=3)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src.mp4"
        make_source(src, opts.frames, opts.size)
        t0 = time.perf_counter()
        frames = list(read_frames(src, short_side=ShotQualityMeter.short_side, fast=False))
        decode = (time.perf_counter() - t0) * 1000 / len(frames)
    h, w = frames[0].luma.shape
    print(f"{len(frames)} frames of {opts.size}, analysed at {w}x{h}")
    print(f"decode (full, short side {ShotQualityMeter.short_side}): {decode:.3f} ms/frame")
    frozen = per_frame_ms(FrozenFrameDetector, frames, opts.repeat)
    print(f"frozen (every frame):              {frozen:.3f} ms/frame")
    for fps in (4.0, 25.0):
        ms = per_frame_ms(lambda fps=fps: ShotQualityMeter(sample_fps=fps), frames, opts.repeat)
        print(f"shot_quality sample_fps={fps:<8g}   {ms:.3f} ms/frame  "
              f"({ms / decode:.3f} x decode, {ms / frozen:.2f} x frozen)")


if __name__ == "__main__":
    main()
