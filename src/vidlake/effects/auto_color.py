"""``auto_color``: automatic white balance (grey world) and exposure, smoothed over time.

Per frame, on the low-resolution analysis picture: channel means of the mid-tones (luma 16..240)
give grey-world gains, the mean luma gives an exposure gamma that moves it towards 0.45; both follow
a running average with a time constant of ``smoothing`` seconds so the picture does not pump. The
correction is one 256-entry lookup table per channel applied at full resolution (``cv2.LUT``).
"""

from __future__ import annotations

import math
from typing import ClassVar

import cv2
import numpy as np
from pydantic import Field

from vidlake.effects.base import Frame, FrameEffect, Params, SourceLoader, Stage, StreamInfo
from vidlake.effects.perception import Scene
from vidlake.effects.registry import effect

TARGET_LUMA = 0.45


class AutoColorParams(Params):
    """``white_balance`` 0..1 and ``exposure`` 0..1 (how much of each correction; default 1),
    ``smoothing`` 0..10 seconds (time constant; default 1)."""

    white_balance: float = Field(1.0, ge=0, le=1, description="grey-world correction share; default 1")
    exposure: float = Field(1.0, ge=0, le=1, description="exposure correction share; default 1")
    smoothing: float = Field(1.0, ge=0, le=10, description="seconds of temporal smoothing; default 1")


@effect("auto_color", AutoColorParams)
class AutoColor(FrameEffect):
    """Grey-world white balance and exposure (see the module docstring)."""

    stage: ClassVar[Stage] = Stage.COLOUR
    params: AutoColorParams

    def begin(self, info: StreamInfo, load: SourceLoader | None) -> None:
        """Reset the running averages; the weight of a new frame follows from ``smoothing`` and fps."""
        tau_frames = self.params.smoothing * (info.fps or 30.0)
        self.alpha = 1.0 if tau_frames < 1 else 1.0 - math.exp(-1.0 / tau_frames)
        self.gains: np.ndarray | None = None
        self.gamma = 1.0
        self.ramp = np.arange(256, dtype=np.float32) / 255.0

    def measure(self, small: Frame) -> tuple[np.ndarray, float]:
        """Grey-world gains (3,) and exposure gamma of one analysis picture."""
        px = small.reshape(-1, 3).astype(np.float32)
        luma = px @ np.array([0.2126, 0.7152, 0.0722], np.float32)
        mid = px[(luma > 16) & (luma < 240)]
        if len(mid) < 64:
            return np.ones(3, np.float32), 1.0
        means = mid.mean(axis=0) + 1e-3
        gains = np.clip(means.mean() / means, 0.6, 1.6)
        gains = 1.0 + self.params.white_balance * (gains - 1.0)
        mean_luma = float(np.clip(luma.mean() / 255.0, 0.02, 0.98))
        gamma = float(np.clip(math.log(TARGET_LUMA) / math.log(mean_luma), 0.5, 2.0)) ** self.params.exposure
        return gains.astype(np.float32), gamma

    def apply(self, frame: Frame, scene: Scene) -> Frame:
        """Update the running averages and apply the per-channel tables."""
        gains, gamma = self.measure(scene.small)
        if self.gains is None:
            self.gains, self.gamma = gains, gamma
        else:
            self.gains = self.gains + self.alpha * (gains - self.gains)
            self.gamma = self.gamma + self.alpha * (gamma - self.gamma)
        curve = np.power(self.ramp, self.gamma)
        table = np.clip(np.outer(curve, self.gains) * 255.0 + 0.5, 0, 255).astype(np.uint8).reshape(1, 256, 3)
        return np.asarray(cv2.LUT(frame, table), np.uint8)
