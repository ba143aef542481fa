"""What frame effects know about the picture, computed once per frame at low resolution.

:class:`Perception` holds the models of one pipeline run (borrowed from :mod:`vidlake.effects.models`)
and the temporal state: face-mesh landmarks smoothed by a One-Euro filter per face (steady when
still, little lag when moving), face boxes linked into tracks (:class:`vidlake.analyze.faces.FaceTracker`)
and held for a few frames after a miss, and a person mask averaged over time. Each frame gets a
:class:`Scene` whose properties compute what an effect asks for, once, and cache it.

Coordinates handed to effects are full-resolution pixels; the person mask is low resolution
(float32 0..1) and effects resize it to where they apply it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from vidlake.analyze.faces import Detection, FaceTracker
from vidlake.effects import models
from vidlake.effects.base import Frame, StreamInfo
from vidlake.effects.landmarks import Points

#: Long side (pixels) of the picture the models see.
ANALYSIS_LONG_SIDE = 640
#: Frames a lost face box stays covered (face blur must not flash a face on one missed detection).
HOLD_FRAMES = 8
FloatMask = npt.NDArray[np.float32]


@dataclass
class FaceBox:
    """A tracked face: ``track`` id and ``box`` (x0, y0, x1, y1) in full-resolution pixels."""

    track: int
    box: tuple[float, float, float, float]

    @property
    def area(self) -> float:
        """Box area in square pixels."""
        return max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1])


class _OneEuro:
    """One-Euro filter over an array (Casiez et al. 2012): cutoff rises with speed. Rates in Hz."""

    def __init__(self, fps: float, min_cutoff: float = 1.5, beta: float = 0.05, d_cutoff: float = 1.0) -> None:
        self.fps, self.min_cutoff, self.beta, self.d_cutoff = fps, min_cutoff, beta, d_cutoff
        self.x: Points | None = None
        self.dx: Points | None = None

    def _alpha(self, cutoff: float | npt.NDArray[np.float32]) -> Any:
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau * self.fps)

    def __call__(self, x: Points) -> Points:
        if self.x is None or self.dx is None:
            self.x, self.dx = x.copy(), np.zeros_like(x)
            return x
        dx = (x - self.x) * self.fps
        a_d = self._alpha(self.d_cutoff)
        self.dx = (a_d * dx + (1 - a_d) * self.dx).astype(np.float32)
        speed = np.linalg.norm(self.dx, axis=-1, keepdims=True)
        a = self._alpha(self.min_cutoff + self.beta * speed)
        self.x = (a * x + (1 - a) * self.x).astype(np.float32)
        return self.x


class Perception:
    """Models and temporal state of one run over one stream (see the module docstring).

    ``max_faces``: faces the mesh follows; ``mask_smoothing``: weight of the previous person mask in
    its running average (0 = none, 0.9 = heavy)."""

    def __init__(self, info: StreamInfo, *, max_faces: int = 4, mask_smoothing: float = 0.5) -> None:
        self.info = info
        scale = min(1.0, ANALYSIS_LONG_SIDE / max(info.width, info.height))
        self.small_size = (max(2, round(info.width * scale)), max(2, round(info.height * scale)))
        self.scale = info.width / self.small_size[0]
        self.max_faces = max_faces
        self.mask_smoothing = mask_smoothing
        self._stack = contextlib.ExitStack()
        self._models: dict[str, Any] = {}
        self._mesh_filters: list[tuple[npt.NDArray[np.float32], _OneEuro]] = []
        self._tracker = FaceTracker(iou_threshold=0.2, max_gap_s=HOLD_FRAMES / max(info.fps, 1.0))
        self._held: dict[int, tuple[int, tuple[float, float, float, float]]] = {}
        self._mask: FloatMask | None = None
        self.frame_index = -1

    def model(self, kind: str, **options: Any) -> Any:
        """The run's ``kind`` model, borrowed from the process pool on first use."""
        if kind not in self._models:
            self._models[kind] = self._stack.enter_context(models.borrow(kind, **options))
        return self._models[kind]

    def close(self) -> None:
        """Give the models back to the pool."""
        self._stack.close()
        self._models.clear()

    # -- per-frame computations (called through Scene) ------------------------------------------
    def mesh(self, small: Frame) -> list[Points]:
        """Smoothed 468 landmarks per face, full-resolution pixels, ordered left to right."""
        out = self.model("face_mesh", max_num_faces=self.max_faces).process(small)
        raw: list[Points] = []
        for face in out.multi_face_landmarks or []:
            pts = np.array([(p.x, p.y) for p in face.landmark], np.float32)
            raw.append(pts * np.array([self.info.width, self.info.height], np.float32))
        kept: list[tuple[npt.NDArray[np.float32], _OneEuro]] = []
        result: list[Points] = []
        for pts in raw:
            centre = pts.mean(axis=0)
            best = min(self._mesh_filters, key=lambda f: float(np.linalg.norm(f[0] - centre)), default=None)
            size = float(np.ptp(pts[:, 0]))
            if best is not None and float(np.linalg.norm(best[0] - centre)) < 0.5 * size and \
                    all(best is not k for k in kept):
                filt = best[1]
            else:
                filt = _OneEuro(self.info.fps or 30.0)
            smooth = filt(pts)
            kept.append((centre, filt))
            result.append(smooth)
        self._mesh_filters = kept
        return sorted(result, key=lambda p: float(p[:, 0].mean()))

    def faces(self, small: Frame, time: float) -> list[FaceBox]:
        """Tracked face boxes (full-resolution pixels), including boxes held after a recent miss."""
        out = self.model("face_detection", min_detection_confidence=0.4).process(small)
        dets: list[Detection] = []
        for det in out.detections or []:
            rel = det.location_data.relative_bounding_box
            box = (max(0.0, rel.xmin), max(0.0, rel.ymin), min(1.0, rel.xmin + rel.width),
                   min(1.0, rel.ymin + rel.height))
            if box[2] > box[0] and box[3] > box[1]:
                dets.append(Detection(box, float(det.score[0])))
        ids = self._tracker.update(time, dets)
        w, h = self.info.width, self.info.height
        for track, det in zip(ids, dets, strict=True):
            box = (det.box[0] * w, det.box[1] * h, det.box[2] * w, det.box[3] * h)
            prev = self._held.get(track)
            if prev is not None:  # light smoothing of a tracked box
                box = tuple(0.6 * a + 0.4 * b for a, b in zip(box, prev[1], strict=True))  # type: ignore[assignment]
            self._held[track] = (self.frame_index, box)
        self._held = {t: v for t, v in self._held.items() if self.frame_index - v[0] <= HOLD_FRAMES}
        return [FaceBox(t, v[1]) for t, v in sorted(self._held.items())]

    def person(self, small: Frame) -> FloatMask:
        """Person mask at analysis resolution (float32 0..1), averaged over time."""
        mask = np.asarray(self.model("selfie_segmentation").process(small).segmentation_mask, np.float32)
        if self._mask is not None and self._mask.shape == mask.shape and self.mask_smoothing > 0:
            keep = self.mask_smoothing
            mask = np.asarray(cv2.addWeighted(self._mask, keep, mask, 1.0 - keep, 0.0), np.float32)
        self._mask = mask
        return mask

    def scene(self, frame: Frame, index: int, time: float) -> Scene:
        """The :class:`Scene` of one frame (call once per frame, in order)."""
        self.frame_index = index
        return Scene(self, frame, index, time)


class Scene:
    """One frame and what is known about it; each property is computed on first use."""

    def __init__(self, perception: Perception, frame: Frame, index: int, time: float) -> None:
        self.perception = perception
        self.frame = frame
        self.index = index
        self.time = time
        self._small: Frame | None = None
        self._cache: dict[str, Any] = {}

    @property
    def small(self) -> Frame:
        """The frame at analysis resolution (RGB uint8; taken from the frame as it arrived)."""
        if self._small is None:
            size = self.perception.small_size
            if size == (self.frame.shape[1], self.frame.shape[0]):
                self._small = self.frame.copy()
            else:
                self._small = np.asarray(cv2.resize(self.frame, size, interpolation=cv2.INTER_AREA))
        return self._small

    @property
    def mesh(self) -> list[Points]:
        """Face-mesh landmarks per face (468 x 2 float32, full-resolution pixels)."""
        if "mesh" not in self._cache:
            self._cache["mesh"] = self.perception.mesh(self.small)
        return self._cache["mesh"]

    @property
    def faces(self) -> list[FaceBox]:
        """Tracked face boxes (full-resolution pixels)."""
        if "faces" not in self._cache:
            self._cache["faces"] = self.perception.faces(self.small, self.time)
        return self._cache["faces"]

    @property
    def person(self) -> FloatMask:
        """Person mask at analysis resolution (float32 0..1)."""
        if "person" not in self._cache:
            self._cache["person"] = self.perception.person(self.small)
        return self._cache["person"]

    def prefetch(self, needs: frozenset[str]) -> None:
        """Compute ``needs`` now, on the unmodified frame (before any effect draws on it)."""
        for name in ("mesh", "faces", "person"):
            if name in needs:
                getattr(self, name)
