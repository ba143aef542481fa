"""``sticker``: an image (PNG with transparency) anchored to a face landmark, scaled with the face's
width and rotated with its roll (the eye line), on every face the mesh follows. One
``cv2.warpAffine`` into the sticker's bounding box and one alpha blend per face and frame."""

from __future__ import annotations

from typing import ClassVar, Literal

import cv2
import numpy as np
from pydantic import Field

from vidlake.effects import landmarks as lm
from vidlake.effects.base import Frame, FrameEffect, Params, SourceLoader, Stage, StreamInfo
from vidlake.effects.perception import Scene
from vidlake.effects.registry import effect
from vidlake.effects.sources import SRC_PATTERN, SourceError, read_image

ANCHORS = {"forehead": lm.FOREHEAD, "nose": lm.NOSE_TIP, "eyes": lm.BETWEEN_EYES, "chin": lm.CHIN}


class StickerParams(Params):
    """``src`` an image (``asset:<id>`` or https URL); ``anchor`` forehead/nose/eyes/chin (default
    forehead); ``scale`` 0.1..4 sticker width in face widths (default 1); ``offset`` -2..2 face widths
    along the face's vertical axis, up positive (default 0)."""

    src: str = Field(..., pattern=SRC_PATTERN, max_length=2048, description="the sticker image")
    anchor: Literal["forehead", "nose", "eyes", "chin"] = Field("forehead", description="landmark anchor")
    scale: float = Field(1.0, ge=0.1, le=4, description="width in face widths; default 1")
    offset: float = Field(0.0, ge=-2, le=2, description="face widths up the face axis; default 0")


@effect("sticker", StickerParams)
class Sticker(FrameEffect):
    """A face-anchored image (see the module docstring)."""

    stage: ClassVar[Stage] = Stage.PORTRAIT
    needs: ClassVar[frozenset[str]] = frozenset({"mesh"})
    params: StickerParams

    def begin(self, info: StreamInfo, load: SourceLoader | None) -> None:
        """Load the image (RGBA)."""
        if load is None:
            raise SourceError("src: this door cannot load media")
        image = read_image(load(self.params.src))
        if image is None:
            raise SourceError("src: the sticker is not an image")
        self.image = image

    def apply(self, frame: Frame, scene: Scene) -> Frame:
        """Draw the sticker on every face."""
        h, w = frame.shape[:2]
        sh, sw = self.image.shape[:2]
        for pts in scene.mesh:
            face_w = lm.face_width(pts)
            angle = lm.roll(pts)
            scale = face_w * self.params.scale / sw
            up = np.array([np.sin(np.radians(angle)), -np.cos(np.radians(angle))], np.float32)
            centre = pts[ANCHORS[self.params.anchor]] + up * self.params.offset * face_w
            m = np.asarray(cv2.getRotationMatrix2D((sw / 2, sh / 2), -angle, scale), np.float64)
            m[:, 2] += centre - np.array([sw / 2, sh / 2])
            corners = np.array([[0, 0, 1], [sw, 0, 1], [0, sh, 1], [sw, sh, 1]], np.float32) @ m.T
            x0, y0 = np.floor(corners.min(axis=0)).astype(int)
            x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
            x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
            if x1 - x0 < 1 or y1 - y0 < 1:
                continue
            m[:, 2] -= (x0, y0)
            patch = cv2.warpAffine(self.image, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
            alpha = patch[:, :, 3:4].astype(np.float32) / 255.0
            roi = frame[y0:y1, x0:x1]
            roi[:] = (patch[:, :, :3] * alpha + roi * (1.0 - alpha) + 0.5).astype(np.uint8)
        return frame
