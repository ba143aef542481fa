"""``face_blur``: hide faces for privacy, following face tracks.

Faces come from the shared perception (BlazeFace full-range at analysis resolution, linked into
tracks, each box held for a few frames after a missed detection so a face never flashes through).
Each box is enlarged by ``margin`` and covered at full resolution: ``blur`` (the region squeezed to
a few pixels and stretched back, then smoothed: nothing recoverable remains), ``mosaic`` (blocks) or
``box`` (solid colour). ``keep_largest`` leaves the largest face (the presenter) visible.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import cv2
from pydantic import Field

from vidlake.effects.base import Frame, FrameEffect, Params, Stage
from vidlake.effects.perception import Scene
from vidlake.effects.registry import effect


class FaceBlurParams(Params):
    """``style`` blur/mosaic/box (default blur); ``strength`` 0..1 (default 0.8; coarser with more);
    ``margin`` 0..1 of the box size added on each side (default 0.25); ``keep_largest`` (default
    false); ``color`` of ``box`` (#rrggbb, default #000000)."""

    style: Literal["blur", "mosaic", "box"] = Field("blur", description="how faces are covered")
    strength: float = Field(0.8, ge=0, le=1, description="0 light .. 1 coarsest; default 0.8")
    margin: float = Field(0.25, ge=0, le=1, description="fraction of the face box added per side")
    keep_largest: bool = Field(False, description="leave the largest face visible; default false")
    color: str = Field("#000000", pattern=r"^#[0-9a-fA-F]{6}$", description="box colour; default #000000")


@effect("face_blur", FaceBlurParams)
class FaceBlur(FrameEffect):
    """Covers tracked faces (see the module docstring)."""

    stage: ClassVar[Stage] = Stage.PORTRAIT
    needs: ClassVar[frozenset[str]] = frozenset({"faces"})
    params: FaceBlurParams

    def apply(self, frame: Frame, scene: Scene) -> Frame:
        """Cover every (non-kept) face box in place."""
        faces = scene.faces
        if self.params.keep_largest and faces:
            largest = max(faces, key=lambda f: f.area)
            faces = [f for f in faces if f is not largest]
        h, w = frame.shape[:2]
        for face in faces:
            x0, y0, x1, y1 = face.box
            mx, my = (x1 - x0) * self.params.margin, (y1 - y0) * self.params.margin
            a0, b0 = max(0, int(x0 - mx)), max(0, int(y0 - my))
            a1, b1 = min(w, int(x1 + mx + 1)), min(h, int(y1 + my + 1))
            if a1 - a0 < 2 or b1 - b0 < 2:
                continue
            self._cover(frame[b0:b1, a0:a1])
        return frame

    def _cover(self, roi: Frame) -> None:
        p = self.params
        h, w = roi.shape[:2]
        if p.style == "box":
            roi[:] = [int(p.color[i:i + 2], 16) for i in (1, 3, 5)]
            return
        cells = max(3, round(10 - 7 * p.strength))  # cells across the region: 4 at the default 0.8
        sw, sh = cells, max(3, round(cells * h / w))
        tiny = cv2.resize(roi, (sw, sh), interpolation=cv2.INTER_AREA)
        if p.style == "mosaic":
            roi[:] = cv2.resize(tiny, (w, h), interpolation=cv2.INTER_NEAREST)
            return
        big = cv2.resize(tiny, (w, h), interpolation=cv2.INTER_LINEAR)
        k = max(3, (min(w, h) // sw) | 1)
        roi[:] = cv2.GaussianBlur(big, (k, k), 0)
