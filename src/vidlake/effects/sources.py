"""Media an effect draws with (``src`` of a background or sticker): still images and looping videos.

A ``src`` is ``asset:<id>`` or an ``https://`` URL, resolved by the door that runs the effects to a
local file (the asset job and the edit render use the edit package's library resolver: an asset of
another environment is refused there). Images are decoded by OpenCV (PNG/JPEG/WebP, alpha kept);
anything else is treated as video and decoded by ffmpeg at the output size and frame rate, looping.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from vidlake.effects.base import Frame, StreamInfo
from vidlake.ffmpeg import FFmpegCommand, MediaInput
from vidlake.ffmpeg.frames import FrameDecoder, open_decoder

#: Largest image accepted (pixels per side) and file size (bytes).
MAX_IMAGE_SIDE = 8192
MAX_IMAGE_BYTES = 64 * 1024 * 1024
SRC_PATTERN = r"^(asset:[A-Za-z0-9_.\-]+|https://\S+)$"
Fit = Literal["cover", "contain", "stretch"]


class SourceError(ValueError):
    """A ``src`` file is not a usable image or video."""


def read_image(path: Path) -> Frame | None:
    """The image at ``path`` as RGBA uint8, or None if it is not an image OpenCV can decode."""
    if path.stat().st_size > MAX_IMAGE_BYTES:
        raise SourceError(f"image is larger than {MAX_IMAGE_BYTES} bytes")
    data = np.fromfile(str(path), np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        return None
    if max(img.shape[:2]) > MAX_IMAGE_SIDE:
        raise SourceError(f"image is larger than {MAX_IMAGE_SIDE} pixels per side")
    if img.dtype != np.uint8:
        img = (img / 257).astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGBA)
    elif img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGBA)
    else:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    return np.ascontiguousarray(img)


def fit_image(img: Frame, width: int, height: int, fit: Fit, fill: tuple[int, int, int] = (0, 0, 0)) -> Frame:
    """``img`` (RGB or RGBA) resized to ``width`` x ``height`` pixels: ``cover`` fills and crops,
    ``contain`` fits inside on ``fill``, ``stretch`` ignores the aspect ratio. Returns RGB."""
    rgb = img[:, :, :3]
    h, w = rgb.shape[:2]
    if fit == "stretch":
        return np.asarray(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA))
    scale = max(width / w, height / h) if fit == "cover" else min(width / w, height / h)
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if fit == "cover":
        x, y = (sw - width) // 2, (sh - height) // 2
        return np.ascontiguousarray(resized[y:y + height, x:x + width])
    out = np.empty((height, width, 3), np.uint8)
    out[:] = fill
    x, y = (width - sw) // 2, (height - sh) // 2
    out[y:y + sh, x:x + sw] = resized
    return out


class LoopingVideo:
    """Frames of a video file at the pipeline's size and rate, from the start again at its end.

    ``fit``: as :func:`fit_image` (done by ffmpeg's ``scale``/``crop``/``pad``)."""

    def __init__(self, path: Path, info: StreamInfo, fit: Fit, *, timeout_s: float = 24 * 3600.0) -> None:
        from vidlake.vod.probe import MediaRejected, probe

        try:
            result = probe(path, validate_limits=False)
        except (MediaRejected, OSError) as exc:
            raise SourceError(f"not an image or a video: {exc}") from exc
        if result.video is None:
            raise SourceError("has no picture")
        self.media = MediaInput.untrusted(path, result.format_name)
        self.info, self.fit, self.timeout_s = info, fit, timeout_s
        self._it: Iterator[Frame] | None = None
        self._decoder: FrameDecoder | None = None

    def _filters(self) -> str:
        w, h = self.info.width, self.info.height
        if self.fit == "stretch":
            geo = f"scale={w}:{h}"
        elif self.fit == "cover":
            geo = f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}"
        else:
            geo = f"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2"
        return f"fps={self.info.fps:g},{geo},setsar=1,format=rgb24"

    def _open(self) -> Iterator[Frame]:
        cmd = FFmpegCommand()
        cmd.add_input(self.media)
        cmd.add_output("pipe:1", ["-map", "0:v:0", "-vf", self._filters(), "-f", "rawvideo", "-pix_fmt", "rgb24"])
        decoder = open_decoder(cmd, self.info.width, self.info.height, timeout_s=self.timeout_s)
        self._decoder = decoder
        return iter(decoder)

    def next(self) -> Frame:
        """The next frame (RGB, output size)."""
        for _ in range(2):
            if self._it is None:
                self._it = self._open()
            frame = next(self._it, None)
            if frame is not None:
                return frame
            self._it = None
        raise SourceError("the video has no frames")

    def close(self) -> None:
        """Stop the decoder."""
        if self._decoder is not None:
            self._decoder.close()
