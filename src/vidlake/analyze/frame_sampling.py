"""Plane decimation: reduce a decoded PyAV frame to a small YUV 4:4:4 image without colour conversion.

The Y, U and V planes are point-sampled on one regular grid (one pixel every ``factor`` pixels, the
factor rounded up to a multiple of the chroma subsampling so 4:2:0 chroma lands on the same grid)
directly from the decoder's buffers, so no full-resolution conversion ever happens. Used by the
decoders of :mod:`vidlake.analyze.frame_decoders` (on their own threads) for
:func:`vidlake.analyze.frames.read_frames`.
"""

from __future__ import annotations

import av
import numpy as np
import numpy.typing as npt

#: Planar 8-bit YUV pixel formats read by plane decimation; others go through swscale.
_PLANAR_YUV: dict[str, tuple[int, int]] = {
    # name: (log2 horizontal chroma subsampling, log2 vertical chroma subsampling)
    "yuv420p": (1, 1),
    "yuvj420p": (1, 1),
    "yuv422p": (1, 0),
    "yuvj422p": (1, 0),
    "yuv444p": (0, 0),
    "yuvj444p": (0, 0),
}

#: An 8-bit image, ``(height, width)`` or ``(height, width, 3)`` pixels.
Image = npt.NDArray[np.uint8]

#: ``(pts or None, sampled YUV, full range, BT.709)`` of one decoded frame.
Decoded = tuple["int | None", Image, bool, bool]


def _is_bt709(colorspace: int, height: int) -> bool:
    """BT.709 when tagged so (1); BT.601 when tagged 5/6; else guessed from the height (>= 720)."""
    if colorspace == 1:
        return True
    if colorspace in (5, 6):
        return False
    return height >= 720


class Sampler:
    """Point-samples planar YUV frames every ``factor`` pixels with plain slicing (no copies but one).

    The factor is rounded up to a multiple of the chroma subsampling, so luma and chroma samples sit
    on the same grid and no interpolation is needed. ``height`` (pixels) picks the colour matrix of
    untagged streams."""

    def __init__(self, factor: int, height: int) -> None:
        self.factor = factor
        self.height = height

    def sample(self, vf: av.VideoFrame) -> Decoded:
        """``(pts, yuv, full_range, bt709)`` of one decoded frame."""
        name = vf.format.name
        full_range = name.startswith("yuvj") or vf.color_range == 2
        bt709 = _is_bt709(vf.colorspace, self.height)
        if name not in _PLANAR_YUV:
            vf = vf.reformat(format="yuv444p")
            name = "yuv444p"
        sx, sy = _PLANAR_YUV[name]
        f = grid_step(self.factor, max(sx, sy))
        h, w = -(-vf.height // f), -(-vf.width // f)
        out = np.empty((h, w, 3), np.uint8)
        for i, plane in enumerate(vf.planes[:3]):
            buf = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
            fy, fx = (f, f) if i == 0 else (f >> sy, f >> sx)
            out[:, :, i] = buf[::fy, ::fx][:h, :w]
        return vf.pts, out, full_range, bt709


def grid_step(factor: int, log2_sub: int) -> int:
    """Smallest multiple of ``2 ** log2_sub`` that is >= ``factor``."""
    m = 1 << log2_sub
    return max(m, -(-factor // m) * m)
