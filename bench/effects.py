"""Effects speed: frames per second per effect at 720p and 1080p, against the bare decode+encode.

Each effect renders the same clip (the astronaut's face drifting over a gradient, 30 fps, no audio)
through :func:`vidlake.effects.render_file`; two baselines run in the same process on the same clip:
``transcode`` (one ffmpeg: decode, scale, x264 veryfast) and ``pipe`` (ffmpeg decode -> numpy frames
-> ffmpeg encode with an identity frame effect: what every frame effect pays before doing anything).
Filter effects are compared with ``transcode``, frame effects with ``pipe``. The CPU share is the
process's and its children's CPU seconds over wall seconds (2.0 = both cores of this machine).

    .venv/bin/python bench/effects.py [--seconds 4] [--sizes 720,1080]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import skimage.data

from vidlake.effects import FrameEffect, Params, parse_effects, render_file, stream_info
from vidlake.effects.base import Frame
from vidlake.effects.perception import Scene
from vidlake.effects.registry import effect
from vidlake.ffmpeg import MediaInput, ffmpeg_exe

FPS = 30


class _NoParams(Params):
    pass


@effect("identity", _NoParams)
class Identity(FrameEffect):
    """The bench's baseline: frames pass through Python untouched."""

    def apply(self, frame: Frame, scene: Scene) -> Frame:
        return frame


def make_clip(path: Path, height: int, seconds: float) -> None:
    width = height * 16 // 9
    face = cv2.resize(skimage.data.astronaut(), (height * 3 // 4, height * 3 // 4), interpolation=cv2.INTER_AREA)
    ramp = np.linspace(50, 170, width).astype(np.uint8)
    proc = subprocess.Popen([ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
                             f"{width}x{height}", "-r", str(FPS), "-i", "pipe:0", "-c:v", "libx264", "-preset",
                             "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", str(path)], stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for i in range(int(seconds * FPS)):
        canvas = np.empty((height, width, 3), np.uint8)
        canvas[:] = ramp[None, :, None]
        x = int((width - face.shape[1]) * (0.1 + 0.8 * i / (seconds * FPS)))
        canvas[height - face.shape[0]:, x:x + face.shape[1]] = face
        proc.stdin.write(canvas.tobytes())
    proc.stdin.close()
    assert proc.wait() == 0


def cpu_s() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_one(src: Path, height: int, seconds: float, effects: list[dict[str, Any]], work: Path,
            sticker: Path) -> tuple[float, float]:
    """Frames per second and CPU share of one render."""
    info = stream_info(height * 16 // 9, height, FPS, seconds)
    c0, t0 = cpu_s(), time.monotonic()
    result = render_file(MediaInput.untrusted(src, "mov"), work / "out.mp4", parse_effects(effects), info,
                         has_audio=False, work_dir=work, load=lambda s: sticker, timeout_s=3600)
    wall = time.monotonic() - t0
    return result.frames / wall, (cpu_s() - c0) / wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--sizes", default="720,1080")
    args = ap.parse_args()
    warm = "LUT_3D_SIZE 2\n" + "\n".join(f"{min(1, r * 1.1)} {g} {b * 0.9}" for b in (0, 1) for g in (0, 1)
                                         for r in (0, 1))
    cases: list[tuple[str, list[dict[str, Any]]]] = [
        ("transcode", []), ("pipe", [{"type": "identity"}]),
        ("denoise", [{"type": "denoise"}]), ("sharpen", [{"type": "sharpen"}]),
        ("lut", [{"type": "lut", "cube": warm}]), ("stabilize", [{"type": "stabilize"}]),
        ("auto_color", [{"type": "auto_color"}]), ("face_blur", [{"type": "face_blur"}]),
        ("background blur", [{"type": "background", "mode": "blur"}]),
        ("background replace", [{"type": "background", "mode": "replace"}]),
        ("beautify", [{"type": "beautify", "smooth": 0.6, "slim": 0.3, "eyes": 0.3}]),
        ("sticker", [{"type": "sticker", "src": "asset:x", "anchor": "forehead"}]),
        ("beautify + background", [{"type": "beautify", "smooth": 0.6},
                                   {"type": "background", "mode": "blur"}]),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sticker = work / "sticker.png"
        img = np.zeros((64, 128, 4), np.uint8)
        img[:, :, 0], img[:, :, 3] = 255, 200
        cv2.imwrite(str(sticker), img)
        for height in (int(s) for s in args.sizes.split(",")):
            src = work / f"src{height}.mp4"
            make_clip(src, height, args.seconds)
            base: dict[str, float] = {}
            print(f"\n{height}p, {args.seconds:g} s at {FPS} fps")
            print(f"{'effect':24s} {'fps':>7s} {'x real time':>12s} {'cost vs baseline':>17s} {'CPU share':>10s}")
            for name, effects in cases:
                fps, cpu = run_one(src, height, args.seconds, effects, work, sticker)
                frame_fx = any(e["type"] in ("identity", "auto_color", "face_blur", "background", "beautify",
                                             "sticker") for e in effects)
                ref = "pipe" if frame_fx else "transcode"
                if name in ("transcode", "pipe"):
                    base[name] = fps
                cost = base[ref] / fps if ref in base and name != ref else 1.0
                print(f"{name:24s} {fps:7.1f} {fps / FPS:11.2f}x {cost:15.2f}x {ref[0]} {cpu:9.2f}")


if __name__ == "__main__":
    main()
