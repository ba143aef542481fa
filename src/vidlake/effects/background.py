"""``background``: blur or replace what is behind the person (the online-class scene).

The person mask comes from the shared perception (MediaPipe selfie segmentation at 256x144 inside
the analysis picture, averaged over time with weight ``smoothing`` for the previous mask so edges do
not flicker). It is feathered at low resolution (Gaussian, ``feather`` of the frame width), resized
to full resolution and used as the weight of one vectorised blend (``cv2.blendLinear``) between the
frame and the new background: the frame blurred (at quarter resolution: a blurred background loses
nothing), a colour, an image or a looping video (``src``, fitted by ``fit``).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import cv2
import numpy as np
from pydantic import Field

from vidlake.effects.base import Frame, FrameEffect, Params, SourceLoader, Stage, StreamInfo
from vidlake.effects.perception import Scene
from vidlake.effects.registry import effect
from vidlake.effects.sources import SRC_PATTERN, LoopingVideo, SourceError, fit_image, read_image

Mask = np.ndarray


class BackgroundParams(Params):
    """``mode`` blur (default) or replace; ``strength`` 0..1 of the blur (default 0.6); for replace a
    ``color`` (#rrggbb, default #00b140) or a ``src`` (image or video, ``asset:<id>`` or https URL)
    fitted by ``fit`` (cover/contain/stretch, default cover); ``feather`` 0..1 (edge softness, default
    0.3); ``smoothing`` 0..0.95 (temporal mask averaging, default 0.5); ``threshold`` 0..1 of the
    mask where the person starts (default 0.5)."""

    mode: Literal["blur", "replace"] = Field("blur", description="blur or replace the background")
    strength: float = Field(0.6, ge=0, le=1, description="blur amount; default 0.6")
    color: str = Field("#00b140", pattern=r"^#[0-9a-fA-F]{6}$", description="replacement colour")
    src: str | None = Field(None, pattern=SRC_PATTERN, max_length=2048, description="replacement media")
    fit: Literal["cover", "contain", "stretch"] = Field("cover", description="how src fills the frame")
    feather: float = Field(0.3, ge=0, le=1, description="edge softness; default 0.3")
    smoothing: float = Field(0.5, ge=0, le=0.95, description="weight of the previous mask; default 0.5")
    threshold: float = Field(0.5, ge=0.05, le=0.95, description="mask level of the person edge")


def weights(mask: Mask, size: tuple[int, int], feather: float, threshold: float) -> Mask:
    """Full-resolution person weight (float32 0..1, ``size`` = (width, height)) from a low-resolution
    probability mask: a soft step around ``threshold``, feathered, then resized."""
    soft = np.clip((mask - threshold) * 8.0 + 0.5, 0.0, 1.0).astype(np.float32)
    sigma = feather * 0.015 * mask.shape[1]
    if sigma > 0.3:
        soft = np.asarray(cv2.GaussianBlur(soft, (0, 0), sigma), np.float32)
    return np.asarray(cv2.resize(soft, size, interpolation=cv2.INTER_LINEAR), np.float32)


@effect("background", BackgroundParams)
class Background(FrameEffect):
    """Background blur or replacement (see the module docstring)."""

    stage: ClassVar[Stage] = Stage.PORTRAIT
    needs: ClassVar[frozenset[str]] = frozenset({"person"})
    params: BackgroundParams

    def begin(self, info: StreamInfo, load: SourceLoader | None) -> None:
        """Prepare the replacement (a colour plane, a fitted image or a looping video)."""
        p = self.params
        self.still: Frame | None = None
        self.video: LoopingVideo | None = None
        if p.mode != "replace":
            return
        if p.src is None:
            self.still = np.empty((info.height, info.width, 3), np.uint8)
            self.still[:] = [int(p.color[i:i + 2], 16) for i in (1, 3, 5)]
            return
        if load is None:
            raise SourceError("src: this door cannot load media")
        path = load(p.src)
        image = read_image(path)
        if image is not None:
            self.still = fit_image(image, info.width, info.height, p.fit)
        else:
            self.video = LoopingVideo(path, info, p.fit)

    def backdrop(self, frame: Frame) -> Frame:
        """What shows behind the person in this frame."""
        if self.video is not None:
            return self.video.next()
        if self.still is not None:
            return self.still
        h, w = frame.shape[:2]
        small = cv2.resize(frame, (max(2, w // 4), max(2, h // 4)), interpolation=cv2.INTER_AREA)
        sigma = 0.5 + 12.0 * self.params.strength
        small = cv2.GaussianBlur(small, (0, 0), sigma)
        return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR))

    def apply(self, frame: Frame, scene: Scene) -> Frame:
        """Blend the frame over the backdrop with the feathered person weight."""
        h, w = frame.shape[:2]
        fg = weights(scene.person, (w, h), self.params.feather, self.params.threshold)
        bg = self.backdrop(frame)
        return np.asarray(cv2.blendLinear(frame, bg, fg, 1.0 - fg), np.uint8)

    def close(self) -> None:
        """Stop a video backdrop's decoder."""
        if self.video is not None:
            self.video.close()
