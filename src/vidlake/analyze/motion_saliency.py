"""Motion saliency: where things move in the picture, for framing when no face is seen.

Used by :func:`vidlake.analyze.crop_plan.plan_crop` (the auto-reframe planner) as its fallback target.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from vidlake.analyze.base import Analyser
from vidlake.analyze.frames import Frame

FloatArray = npt.NDArray[np.float64]


class MotionSaliency(Analyser):
    """Centroid of frame-to-frame change: where things move (normalised 0..1 coordinates).

    Result: ``{"samples": [{"time": s, "x": 0..1, "y": 0..1, "strength": mean abs change 0..1}]}``.
    ``sample_fps``: samples per second of video; ``noise``: per-pixel luma change (0..255) ignored.
    """

    name: ClassVar[str] = "motion"
    short_side: ClassVar[int] = 72

    def __init__(self, *, sample_fps: float = 10.0, noise: float = 12.0) -> None:
        self.sample_fps = sample_fps
        self.noise = noise
        self._prev: FloatArray | None = None
        self._next_time = 0.0
        self.samples: list[dict[str, float]] = []

    def process(self, frame: Frame) -> None:
        """Compare this frame with the previous sampled one."""
        if frame.time + 1e-6 < self._next_time:
            return
        self._next_time = frame.time + 1.0 / self.sample_fps
        luma = frame.luma
        f = max(1, min(luma.shape) // 72)
        cur = luma[::f, ::f].astype(np.float64)
        prev, self._prev = self._prev, cur
        if prev is None or prev.shape != cur.shape:
            return
        diff = np.abs(cur - prev)
        diff[diff < self.noise] = 0.0
        total = float(diff.sum())
        strength = float(diff.mean() / 255.0)
        if total <= 0:
            self.samples.append({"time": round(frame.time, 3), "x": 0.5, "y": 0.5, "strength": 0.0})
            return
        h, w = diff.shape
        cx = float((diff.sum(axis=0) * (np.arange(w) + 0.5)).sum() / total / w)
        cy = float((diff.sum(axis=1) * (np.arange(h) + 0.5)).sum() / total / h)
        self.samples.append({"time": round(frame.time, 3), "x": round(cx, 4), "y": round(cy, 4),
                             "strength": round(strength, 5)})

    def result(self) -> dict[str, Any]:
        """The motion samples."""
        return {"samples": self.samples}
