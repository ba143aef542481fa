"""Face detection and tracking over the shared decode.

:class:`FaceDetector` samples the frame stream at ``sample_fps`` (frames per second of video time),
detects faces with a model that ships inside a wheel and links detections over time into tracks.

Backends (nothing is downloaded at run time):

* ``"mediapipe"`` (default when importable): MediaPipe 0.10.21's legacy ``face_detection``
  solution (BlazeFace; ``model_selection=1`` is the full-range model, good for faces from about 2 %
  of the frame width up; ``0`` the short-range model for close-ups).
* ``"haar"``: OpenCV 4's frontal-face Haar cascade from ``cv2.data`` (slower, more false positives;
  the fallback when MediaPipe is not installed).

Tracking is greedy: each detection joins the live track whose last box overlaps it most
(IoU >= ``iou_threshold``, or centres closer than ``centre_ratio`` box sizes for fast motion); a
track not seen for ``max_gap_s`` seconds ends.

Result (boxes are ``[x0, y0, x1, y1]`` normalised to 0..1 of the frame width/height, times in
seconds, scores 0..1)::

    {"backend": "mediapipe", "sample_fps": 8.0, "width": 1280, "height": 720,
     "frames": [{"time": s, "faces": [{"box": [...], "score": p, "track": id}, ...]}, ...],
     "tracks": [{"id": 0, "start": s, "end": s, "count": n, "score": mean p,
                 "boxes": [{"time": s, "box": [...], "score": p}, ...]}, ...]}

``frames`` lists every sampled frame, including those without faces, so consumers (reframing,
covers) know where the detector looked and found nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from vidlake.analyze.base import Analyser
from vidlake.analyze.frames import Frame, VideoInfo

Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class Detection:
    """One face: ``box`` normalised ``(x0, y0, x1, y1)``, ``score`` 0..1."""

    box: Box
    score: float


class FaceBackend(Protocol):
    """Detects faces in one RGB uint8 image ``(h, w, 3)``."""

    name: str

    def detect(self, rgb: npt.NDArray[np.uint8]) -> list[Detection]:
        """Faces in the image, boxes normalised to the image size."""
        ...


class MediaPipeBackend:
    """MediaPipe BlazeFace (bundled model). ``model_selection``: 1 full range, 0 short range."""

    name = "mediapipe"

    def __init__(self, *, min_score: float = 0.5, model_selection: int = 1) -> None:
        import mediapipe as mp  # heavy import, kept out of module import time

        self._detector = mp.solutions.face_detection.FaceDetection(
            model_selection=model_selection, min_detection_confidence=min_score
        )

    def detect(self, rgb: npt.NDArray[np.uint8]) -> list[Detection]:
        """Faces in ``rgb``; boxes are clipped to the image."""
        out = self._detector.process(np.ascontiguousarray(rgb))
        found: list[Detection] = []
        for det in out.detections or []:
            rel = det.location_data.relative_bounding_box
            box = _clip((rel.xmin, rel.ymin, rel.xmin + rel.width, rel.ymin + rel.height))
            if box[2] > box[0] and box[3] > box[1]:
                found.append(Detection(box, float(det.score[0])))
        return found

    def close(self) -> None:
        """Release the graph."""
        self._detector.close()


class HaarBackend:
    """OpenCV's frontal-face Haar cascade; ``score`` is a rough confidence from the neighbour count."""

    name = "haar"

    def __init__(self, *, min_neighbors: int = 5, min_size_ratio: float = 0.04) -> None:
        import cv2

        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"cannot load the Haar cascade {path}")
        self.min_neighbors = min_neighbors
        self.min_size_ratio = min_size_ratio

    def detect(self, rgb: npt.NDArray[np.uint8]) -> list[Detection]:
        """Faces in ``rgb`` (detected on its grey version)."""
        import cv2

        grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        h, w = grey.shape
        side = max(12, int(min(h, w) * self.min_size_ratio))
        rects, _, weights = self._cascade.detectMultiScale3(
            grey, scaleFactor=1.1, minNeighbors=self.min_neighbors, minSize=(side, side),
            outputRejectLevels=True,
        )
        found: list[Detection] = []
        for (x, y, bw, bh), weight in zip(rects, np.ravel(weights), strict=False):
            score = float(1.0 / (1.0 + np.exp(-float(weight))))
            found.append(Detection(_clip((x / w, y / h, (x + bw) / w, (y + bh) / h)), score))
        return found


def make_backend(name: str = "auto", *, min_score: float = 0.5) -> FaceBackend:
    """A detector backend: ``"mediapipe"``, ``"haar"`` or ``"auto"`` (MediaPipe if importable)."""
    if name in ("auto", "mediapipe"):
        try:
            return MediaPipeBackend(min_score=min_score)
        except ImportError:
            if name == "mediapipe":
                raise
    if name in ("auto", "haar"):
        return HaarBackend()
    raise ValueError(f"unknown face backend {name!r}")


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes (0..1)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _clip(box: Box) -> Box:
    x0, y0, x1, y1 = (min(1.0, max(0.0, float(v))) for v in box)
    return (x0, y0, x1, y1)


@dataclass
class _Track:
    id: int
    times: list[float] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    @property
    def last_time(self) -> float:
        return self.times[-1]


class FaceTracker:
    """Links detections into tracks (see the module docstring); times in seconds."""

    def __init__(self, *, iou_threshold: float = 0.3, centre_ratio: float = 0.75, max_gap_s: float = 0.6) -> None:
        self.iou_threshold = iou_threshold
        self.centre_ratio = centre_ratio
        self.max_gap_s = max_gap_s
        self.tracks: list[_Track] = []
        self._live: list[_Track] = []

    def update(self, time: float, detections: list[Detection]) -> list[int]:
        """Assign ``detections`` seen at ``time`` to tracks; returns the track id of each."""
        self._live = [t for t in self._live if time - t.last_time <= self.max_gap_s]
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self._live):
            last = track.boxes[-1]
            for di, det in enumerate(detections):
                score = self._affinity(last, det.box)
                if score > 0.0:
                    pairs.append((score, ti, di))
        pairs.sort(reverse=True)
        ids: list[int | None] = [None] * len(detections)
        used: set[int] = set()
        for _, ti, di in pairs:
            if ti in used or ids[di] is not None:
                continue
            used.add(ti)
            ids[di] = self._extend(self._live[ti], time, detections[di])
        for di, det in enumerate(detections):
            if ids[di] is None:
                track = _Track(id=len(self.tracks))
                self.tracks.append(track)
                self._live.append(track)
                ids[di] = self._extend(track, time, det)
        return [i for i in ids if i is not None]

    def _affinity(self, a: Box, b: Box) -> float:
        overlap = iou(a, b)
        if overlap >= self.iou_threshold:
            return 1.0 + overlap
        size = max(a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1])
        dist = float(np.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2))
        similar = min(a[2] - a[0], b[2] - b[0]) / max(a[2] - a[0], b[2] - b[0], 1e-9) > 0.5
        if similar and dist < self.centre_ratio * size:
            return 1.0 - dist / (self.centre_ratio * size) * 0.99
        return 0.0

    @staticmethod
    def _extend(track: _Track, time: float, det: Detection) -> int:
        track.times.append(time)
        track.boxes.append(det.box)
        track.scores.append(det.score)
        return track.id


class FaceDetector(Analyser):
    """Per-frame face detections and tracks (see the module docstring).

    ``sample_fps``: detections per second of video (frames in between are skipped);
    ``min_score``: detector confidence threshold (0..1); ``backend``: ``"auto"``, ``"mediapipe"``,
    ``"haar"`` or a :class:`FaceBackend` instance; ``min_track_count``: tracks with fewer detections
    are dropped from ``tracks`` (their detections stay in ``frames`` with ``track`` = None).
    """

    name: ClassVar[str] = "faces"
    short_side: ClassVar[int] = 360

    def __init__(self, *, sample_fps: float = 8.0, min_score: float = 0.5, backend: str | FaceBackend = "auto",
                 min_track_count: int = 2, iou_threshold: float = 0.3, max_gap_s: float = 0.6) -> None:
        self.sample_fps = sample_fps
        self.min_score = min_score
        self._backend_spec = backend
        self._backend: FaceBackend | None = None
        self.min_track_count = min_track_count
        self.tracker = FaceTracker(iou_threshold=iou_threshold, max_gap_s=max_gap_s)
        self.samples: list[tuple[float, list[Detection], list[int]]] = []
        self.width = 0
        self.height = 0
        self._next_time = 0.0

    @property
    def backend(self) -> FaceBackend:
        """The detector (created on first use)."""
        if self._backend is None:
            spec = self._backend_spec
            self._backend = make_backend(spec, min_score=self.min_score) if isinstance(spec, str) else spec
        return self._backend

    def begin(self, info: VideoInfo) -> None:
        """Remember the coded size (pixels) for the result."""
        self.width, self.height = info.width, info.height

    def process(self, frame: Frame) -> None:
        """Detect faces on frames at most every ``1 / sample_fps`` seconds."""
        if frame.time + 1e-6 < self._next_time:
            return
        self._next_time = frame.time + 1.0 / self.sample_fps if self.sample_fps > 0 else 0.0
        self.detect(frame.time, frame.rgb)

    def detect(self, time: float, rgb: npt.NDArray[np.uint8]) -> list[Detection]:
        """Detect and track faces in one RGB image taken at ``time`` seconds (used by ``process``)."""
        found = [d for d in self.backend.detect(rgb) if d.score >= self.min_score]
        ids = self.tracker.update(time, found)
        self.samples.append((time, found, ids))
        return found

    def faces_at(self, time: float, tolerance: float | None = None) -> list[Detection] | None:
        """Detections of the sample nearest ``time`` (seconds); None when none within ``tolerance``
        (default: one sampling period)."""
        if not self.samples:
            return None
        tol = tolerance if tolerance is not None else (1.0 / self.sample_fps if self.sample_fps > 0 else 0.0)
        times = np.fromiter((s[0] for s in self.samples), float, len(self.samples))
        i = int(np.argmin(np.abs(times - time)))
        if abs(times[i] - time) > tol + 1e-6:
            return None
        return self.samples[i][1]

    def result(self) -> dict[str, Any]:
        """Frames and tracks (see the module docstring)."""
        kept = {t.id for t in self.tracker.tracks if len(t.times) >= self.min_track_count}
        renumber = {old: new for new, old in enumerate(sorted(kept))}
        frames = [
            {"time": round(t, 3),
             "faces": [{"box": _round_box(d.box), "score": round(d.score, 3), "track": renumber.get(i)}
                       for d, i in zip(dets, ids, strict=True)]}
            for t, dets, ids in self.samples
        ]
        tracks = [
            {"id": renumber[t.id], "start": round(t.times[0], 3), "end": round(t.times[-1], 3),
             "count": len(t.times), "score": round(float(np.mean(t.scores)), 3),
             "boxes": [{"time": round(tt, 3), "box": _round_box(b), "score": round(s, 3)}
                       for tt, b, s in zip(t.times, t.boxes, t.scores, strict=True)]}
            for t in self.tracker.tracks if t.id in kept
        ]
        return {
            "backend": self._backend.name if self._backend is not None else (
                self._backend_spec if isinstance(self._backend_spec, str) else self._backend_spec.name),
            "sample_fps": self.sample_fps,
            "width": self.width,
            "height": self.height,
            "frames": frames,
            "tracks": tracks,
        }


def _round_box(box: Box) -> list[float]:
    return [round(v, 4) for v in box]
