"""Test media for the effects, with known truth: the astronaut's face moving over a plain backdrop,
a person cut-out composited over a known slide, a textured picture shaken by known offsets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
from face_media import FACE_512, astronaut, write_rgb_video

W, H = 640, 360
FPS = 25
BACKDROP = (40, 90, 160)


def face_frames(n: int, size: int = 300) -> tuple[list[np.ndarray], list[tuple[int, int, int, int]]]:
    """``n`` frames (W x H) of the astronaut photo scaled to ``size`` px, moving right 4 px a frame,
    and the face box (pixels) in each."""
    img = astronaut(size)
    k = size / 512
    frames, boxes = [], []
    for i in range(n):
        f = np.empty((H, W, 3), np.uint8)
        f[:] = BACKDROP
        x, y = 60 + 4 * i, H - size
        f[y:y + size, x:x + size] = img
        frames.append(f)
        boxes.append((int(x + FACE_512[0] * k), int(y + FACE_512[1] * k), int(x + FACE_512[2] * k),
                      int(y + FACE_512[3] * k)))
    return frames, boxes


def person_cutout(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut at ``size`` px and her silhouette (bool): MediaPipe's segmentation of the
    original photo at 0.5, largest component, holes filled. This is the composite's truth."""
    import mediapipe as mp

    img = astronaut(512)
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        prob = seg.process(img).segmentation_mask
    hard = (prob > 0.5).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(hard)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    mask = (labels == biggest).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = np.zeros_like(mask)
    cv2.drawContours(filled, contours, -1, 1, thickness=-1)
    person = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    truth = cv2.resize(filled, (size, size), interpolation=cv2.INTER_NEAREST).astype(bool)
    return person, truth


def slide() -> np.ndarray:
    """A lecture slide: light page, a title bar and lines of 'text' (W x H RGB)."""
    page = np.empty((H, W, 3), np.uint8)
    page[:] = (235, 235, 228)
    page[20:60, 30:W - 30] = (30, 60, 140)
    for row in range(6):
        y = 90 + row * 40
        page[y:y + 12, 40:40 + 300 + 40 * (row % 3)] = (60, 60, 60)
    return page


def composite_frames(n: int, still_from: int, size: int = 300) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``n`` frames of the cut-out over the slide (moving 3 px a frame, then still from frame
    ``still_from`` on) and the truth person mask of each."""
    person, truth = person_cutout(size)
    bg = slide()
    frames, masks = [], []
    for i in range(n):
        x, y = 250 + 3 * min(i, still_from), H - size
        f = bg.copy()
        region = f[y:y + size, x:x + size]
        region[truth] = person[truth]
        m = np.zeros((H, W), bool)
        m[y:y + size, x:x + size] = truth
        frames.append(f)
        masks.append(m)
    return frames, masks


def shaken_frames(n: int, amplitude: int = 10, seed: int = 3) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` W x H crops of a larger textured picture at random offsets (pixels, returned ``(n, 2)``)."""
    rng = np.random.default_rng(seed)
    big = cv2.resize(astronaut(512), (W + 4 * amplitude, H + 4 * amplitude), interpolation=cv2.INTER_AREA)
    offsets = rng.integers(-amplitude, amplitude + 1, size=(n, 2))
    c = 2 * amplitude
    frames = [np.ascontiguousarray(big[c + dy:c + dy + H, c + dx:c + dx + W]) for dx, dy in offsets]
    return frames, offsets


def write(path: Path, frames: list[np.ndarray], fps: int = 25) -> Path:
    """Encode frames to H.264 (crf 16: little coding noise in the measurements)."""
    return write_rgb_video(path, frames, fps=fps, crf=16)


def read_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a file as RGB (through the effects' own decoder pipe)."""
    from vidlake.ffmpeg import FFmpegCommand, MediaInput
    from vidlake.ffmpeg.frames import open_decoder

    cap = cv2.VideoCapture(str(path))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    cap.release()
    cmd = FFmpegCommand()
    cmd.add_input(MediaInput.untrusted(path, "mov"))
    cmd.add_output("pipe:1", ["-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24"])
    with open_decoder(cmd, w, h, timeout_s=60) as dec:
        return [f.copy() for f in dec]


def apply(src: Path, out: Path, effects: list[dict[str, Any]], *, load: Any = None) -> Path:
    """Render ``src`` (640x360 at 25 fps) through ``effects`` into ``out``."""
    from vidlake.effects import render_file, stream_info
    from vidlake.effects.registry import parse_effects
    from vidlake.ffmpeg import MediaInput

    cap = cv2.VideoCapture(str(src))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    cap.release()
    info = stream_info(w, h, FPS, n / FPS)
    render_file(MediaInput.untrusted(src, "mov"), out, parse_effects(effects), info, has_audio=False,
                work_dir=out.parent, load=load, timeout_s=120)
    return out
