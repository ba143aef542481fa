"""Fixtures for the editing tests: tiny generated sources, a resolver over them, and probes.

Every ``asset:<name>`` used by examples/timelines and examples/templates maps to a file generated
here with ffmpeg's lavfi sources (solid colours with sine tones, testsrc2, PNG stills).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from vidlake.edit import ResolveError, SourceInfo
from vidlake.ffmpeg import ffmpeg_exe

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

#: name -> (lavfi video source or None, audio tone in Hz or None, seconds, still image?)
COLOR_CLIPS: dict[str, tuple[str, int]] = {
    "red": ("#ff0000", 300),
    "green": ("#00ff00", 400),
    "blue": ("#0000ff", 500),
    "yellow": ("#ffff00", 600),
}
CLIP_S = 4.0


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True,
                   timeout=60)


def _video(path: Path, vsrc: str, tone: int, seconds: float) -> None:
    _ff("-f", "lavfi", "-i", f"{vsrc}:s=320x180:d={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-ac", "2", "-shortest", str(path))


def probe(path: Path) -> SourceInfo:
    """A real resolver's view of a file, read with PyAV."""
    with av.open(str(path)) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        is_still = path.suffix.lower() in (".png", ".jpg", ".jpeg")
        duration = None if is_still or container.duration is None else container.duration / 1_000_000
        return SourceInfo(
            path=str(path), duration_s=duration, has_video=video is not None, has_audio=audio is not None,
            width=video.codec_context.width if video else None,
            height=video.codec_context.height if video else None,
        )


@dataclass
class Media:
    """Generated sources: ``files[name]`` is the file behind ``asset:<name>``."""

    root: Path
    files: dict[str, Path]

    def resolver(self) -> Callable[[str], SourceInfo]:
        cache: dict[str, SourceInfo] = {}

        def resolve(src: str) -> SourceInfo:
            if not src.startswith("asset:"):
                raise ResolveError("only asset:<id> sources exist in this environment")
            name = src.removeprefix("asset:")
            if name not in self.files:
                raise ResolveError(f"unknown asset id {name!r}")
            if name not in cache:
                cache[name] = probe(self.files[name])
            return cache[name]

        return resolve


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    root = tmp_path_factory.mktemp("edit-media")
    files: dict[str, Path] = {}
    for name, (color, tone) in COLOR_CLIPS.items():
        files[name] = root / f"{name}.mp4"
        _video(files[name], f"color=c=0x{color[1:]}:r=30", tone, CLIP_S)
    files["bars"] = root / "bars.mp4"
    _video(files["bars"], "testsrc2=r=30", 700, 6.0)
    files["music"] = root / "music.m4a"
    _ff("-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:duration=20", "-ac", "2",
        "-c:a", "aac", str(files["music"]))
    files["tone"] = root / "tone.m4a"
    _ff("-f", "lavfi", "-i", "sine=frequency=880:sample_rate=48000:duration=4", "-ac", "2",
        "-c:a", "aac", str(files["tone"]))
    files["logo"] = root / "logo.png"
    _ff("-f", "lavfi", "-i", "color=c=0xff00ff:s=80x80", "-frames:v", "1", str(files["logo"]))
    files["photo"] = root / "photo.png"
    _ff("-f", "lavfi", "-i", "testsrc2=s=640x360", "-frames:v", "1", str(files["photo"]))
    files["halves"] = root / "halves.png"  # left half red, right half blue (crop focus)
    _ff("-f", "lavfi", "-i", "color=c=red:s=640x360", "-f", "lavfi", "-i", "color=c=blue:s=320x360",
        "-filter_complex", "[0][1]overlay=320:0", "-frames:v", "1", str(files["halves"]))
    files["product"] = root / "product.png"
    _ff("-f", "lavfi", "-i", "color=c=0xff8000:s=360x640", "-frames:v", "1", str(files["product"]))
    return Media(root, files)


# -- reading results ----------------------------------------------------------------------------


@dataclass
class Rendered:
    """What a rendered file holds: seconds, pixels, and whether audio is there."""

    duration_s: float
    width: int
    height: int
    has_audio: bool


def inspect(path: Path) -> Rendered:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        duration = (c.duration or 0) / 1_000_000
        return Rendered(duration, v.codec_context.width, v.codec_context.height, bool(c.streams.audio))


def frame_at(path: Path, t: float) -> np.ndarray:
    """The RGB frame (height x width x 3, uint8) shown at ``t`` seconds."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        last = None
        for frame in c.decode(stream):
            if frame.time is not None and frame.time > t + 1e-3:
                break
            last = frame
        assert last is not None, f"no frame at {t} s"
        return last.to_ndarray(format="rgb24")


def mean_rgb(frame: np.ndarray, box: tuple[float, float, float, float] = (0.3, 0.3, 0.7, 0.7)) -> np.ndarray:
    """Average colour inside ``box`` = (x0, y0, x1, y1) as fractions of the frame."""
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = box
    region = frame[int(y0 * h): int(y1 * h), int(x0 * w): int(x1 * w)]
    return np.asarray(region.reshape(-1, 3).mean(axis=0))


def audio_rms(path: Path, t0: float, t1: float) -> float:
    """Root-mean-square amplitude (full scale = 1.0) of the audio between ``t0`` and ``t1`` seconds."""
    chunks: list[np.ndarray] = []
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        for frame in c.decode(stream):
            if frame.time is None:
                continue
            data = frame.to_ndarray().astype(np.float64)
            n = data.shape[-1]
            times = frame.time + np.arange(n) / frame.sample_rate
            keep = (times >= t0) & (times < t1)
            if keep.any():
                chunks.append(data[..., keep].reshape(-1))
    if not chunks:
        return 0.0
    samples = np.concatenate(chunks)
    return float(np.sqrt(np.mean(samples**2)))
