"""Test media with a face at known positions: scikit-image's astronaut photo (its face box labelled
by hand on the 512x512 photo), and raw RGB frames encoded to H.264 with the real ffmpeg."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path

import cv2
import numpy as np
import skimage.data

from vidlake.ffmpeg import ffmpeg_exe

#: The face box in ``skimage.data.astronaut()`` (x0, y0, x1, y1), pixels of the 512x512 photo.
FACE_512 = (176.0, 56.0, 272.0, 172.0)


def astronaut(size: int) -> np.ndarray:
    """The astronaut photo scaled to ``size`` x ``size`` pixels (RGB)."""
    return np.asarray(cv2.resize(skimage.data.astronaut(), (size, size), interpolation=cv2.INTER_AREA))


def write_rgb_video(path: Path, frames: Iterable[np.ndarray], fps: int = 25, crf: int = 20) -> Path:
    """Encode RGB frames (H x W x 3 uint8, all the same size) to an H.264 MP4 at ``fps``."""
    it: Iterator[np.ndarray] = iter(frames)
    first = next(it)
    height, width = first.shape[:2]
    proc = subprocess.Popen(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
         "-r", str(fps), "-i", "pipe:0", "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf),
         "-pix_fmt", "yuv420p", str(path)],
        stdin=subprocess.PIPE,
    )
    assert proc.stdin is not None
    for frame in chain([first], it):
        proc.stdin.write(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
    proc.stdin.close()
    assert proc.wait() == 0
    return path
