"""Throughput of a full analysis pass on 1080p: scenes + faces + smart cover + black/frozen/letterbox in
one shared decode, as a multiple of real time (video seconds per wall-clock second), plus the
decode alone as the baseline measured in the same run.

    .venv/bin/python bench/analysis_pass.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from vidlake.analyze.base import run_analysers
from vidlake.analyze.cover import SmartCover
from vidlake.analyze.faces import FaceDetector
from vidlake.analyze.frames import read_frames
from vidlake.analyze.quality import BlackFrameDetector, FrozenFrameDetector, LetterboxDetector
from vidlake.analyze.scenes import ShotDetector
from vidlake.ffmpeg import ffmpeg_exe


def make_source(path: Path, seconds: float) -> None:
    """1080p30 H.264: testsrc2 and mandelbrot shots alternating every 5 s (cuts), with audio."""
    shots = int(seconds // 5)
    inputs: list[str] = []
    for i in range(shots):
        source = "testsrc2" if i % 2 == 0 else "mandelbrot"
        inputs += ["-f", "lavfi", "-i", f"{source}=s=1920x1080:r=30,trim=duration=5"]
    graph = "".join(f"[{i}:v]" for i in range(shots)) + f"concat=n={shots}:v=1:a=0[v]"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[v]",
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(path)], check=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src.mp4"
        make_source(src, opts.seconds)
        t0 = time.perf_counter()
        frames = sum(1 for _ in read_frames(src, short_side=360))
        decode = time.perf_counter() - t0
        faces = FaceDetector()
        analysers = [ShotDetector(), faces, SmartCover(faces=faces), BlackFrameDetector(), FrozenFrameDetector(),
                     LetterboxDetector()]
        t1 = time.perf_counter()
        out = run_analysers(src, analysers)
        full = time.perf_counter() - t1
        seconds = float(out["video"]["duration"])
        print(f"source: 1920x1080 30 fps, {seconds:.1f} s, {len(out['scenes']['scenes'])} scenes found")
        print(f"decode alone (baseline, {frames} frames at short side 360): {decode:.2f} s = "
              f"{seconds / decode:.1f}x real time")
        print(f"full pass (scenes + faces + cover + black/frozen/letterbox): {full:.2f} s = "
              f"{seconds / full:.1f}x real time; overhead over decode {full / decode:.2f}x")


if __name__ == "__main__":
    main()
