"""Smart cover: the best thumbnail time of a video.

:class:`SmartCover` samples ``sample_fps`` frames per second and keeps a few numbers per sample (about
0.6 KiB): sharpness (variance of the Laplacian of the luma), exposure (mean, spread and clipped share
of the luma), a 32x18 luma thumbnail (for the change to the neighbouring samples) and the faces seen.
:meth:`SmartCover.result` scores every sample, each part on 0..1:

* ``sharpness``: log Laplacian variance relative to the video's 90th percentile;
* ``exposure``: mid-grey mean, good spread, few clipped pixels; black, white and flat frames are
  rejected outright (score 0);
* ``stability``: low change to the previous *and* next sample (the smaller of the two), so frames
  inside fades, dissolves and fast motion lose while a steady frame just after a cut does not;
* ``faces``: the best face (detector score x size, full credit from 12 % of the frame width).

``score = (0.35 sharpness + 0.25 exposure + 0.40 faces) x (0.3 + 0.7 stability)``, 0 when rejected.

Faces come from a :class:`~vidlake.analyze.faces.FaceDetector`: pass the instance of the same run
(``SmartCover(faces=detector)``; the run feeds it) or let the cover own one (default, it then feeds
its own detector at ``sample_fps``); ``faces=False`` disables faces.

Result (times in seconds)::

    {"time": s, "score": 0..1, "breakdown": {"sharpness":..., "exposure":..., "stability":...,
     "faces":..., "face_count": n}, "candidates": [{"time": s, "score": ..., "breakdown": {...}}, ...]}

``candidates`` are the ``top_n`` best samples at least ``min_gap_s`` apart (the first is ``time``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from vidlake.analyze.base import Analyser
from vidlake.analyze.faces import Detection, FaceDetector
from vidlake.analyze.frames import Frame, VideoInfo

FloatArray = npt.NDArray[np.float64]


def laplacian_variance(luma: npt.NDArray[np.uint8]) -> float:
    """Variance of the 4-neighbour Laplacian of a luma image (grey levels squared)."""
    f = luma.astype(np.float32)
    if f.shape[0] < 3 or f.shape[1] < 3:
        return 0.0
    lap = 4 * f[1:-1, 1:-1] - f[:-2, 1:-1] - f[2:, 1:-1] - f[1:-1, :-2] - f[1:-1, 2:]
    return float(lap.var())


def _thumb(luma: FloatArray, w: int = 32, h: int = 18) -> FloatArray:
    """Block-mean downscale to ``w`` x ``h``."""
    ys = np.linspace(0, luma.shape[0], h + 1).astype(int)
    xs = np.linspace(0, luma.shape[1], w + 1).astype(int)
    rows = np.add.reduceat(luma, ys[:-1], axis=0) / np.diff(ys)[:, None]
    out: FloatArray = np.add.reduceat(rows, xs[:-1], axis=1) / np.diff(xs)[None, :]
    return out


class SmartCover(Analyser):
    """Pick the best cover frame (see the module docstring). ``sample_fps``: samples per second;
    ``top_n``: candidates returned; ``min_gap_s``: minimum distance between candidates (seconds)."""

    name: ClassVar[str] = "cover"
    short_side: ClassVar[int] = 180

    def __init__(self, *, faces: FaceDetector | Literal[False] | None = None, sample_fps: float = 5.0,
                 top_n: int = 5, min_gap_s: float = 1.0) -> None:
        self.sample_fps = sample_fps
        self.top_n = top_n
        self.min_gap_s = min_gap_s
        self._own_faces = faces is None
        self.faces: FaceDetector | None = (FaceDetector(sample_fps=sample_fps) if faces is None
                                           else faces if faces is not False else None)
        self._next_time = 0.0
        self.times: list[float] = []
        self.sharp: list[float] = []
        self.mean: list[float] = []
        self.spread: list[float] = []
        self.clipped: list[float] = []
        self.thumbs: list[FloatArray] = []

    def begin(self, info: VideoInfo) -> None:
        """Pass the stream description to an owned face detector."""
        if self._own_faces and self.faces is not None:
            self.faces.begin(info)

    def process(self, frame: Frame) -> None:
        """Measure one frame every ``1 / sample_fps`` seconds."""
        if frame.time + 1e-6 < self._next_time:
            return
        self._next_time = frame.time + 1.0 / self.sample_fps
        luma = frame.luma
        y = luma.astype(np.float64)
        if not frame.full_range:
            y = (y - 16.0) * (255.0 / 219.0)
        y = np.clip(y, 0.0, 255.0) / 255.0
        self.times.append(frame.time)
        self.sharp.append(laplacian_variance(luma))
        self.mean.append(float(y.mean()))
        self.spread.append(float(y.std()))
        self.clipped.append(float(((y < 0.03) | (y > 0.97)).mean()))
        self.thumbs.append(_thumb(y))
        if self._own_faces and self.faces is not None:
            self.faces.detect(frame.time, frame.rgb)

    def _face_scores(self) -> tuple[FloatArray, list[int]]:
        scores = np.zeros(len(self.times))
        counts = [0] * len(self.times)
        if self.faces is None:
            return scores, counts
        for i, t in enumerate(self.times):
            found: list[Detection] | None = self.faces.faces_at(t)
            if not found:
                continue
            counts[i] = len(found)
            scores[i] = max(d.score * min(1.0, (d.box[2] - d.box[0]) / 0.12) for d in found)
        return scores, counts

    def scores(self) -> dict[str, FloatArray]:
        """Per-sample parts and total (arrays aligned with ``self.times``)."""
        n = len(self.times)
        sharp_raw = np.log1p(np.array(self.sharp))
        ref = float(np.percentile(sharp_raw, 90)) if n else 1.0
        sharpness = np.clip(sharp_raw / ref, 0.0, 1.0) if ref > 0 else np.zeros(n)
        mean = np.array(self.mean)
        spread = np.array(self.spread)
        clipped = np.array(self.clipped)
        exposure = (0.5 * np.clip(1.0 - np.abs(mean - 0.45) / 0.45, 0.0, 1.0)
                    + 0.3 * np.clip(spread / 0.2, 0.0, 1.0) + 0.2 * (1.0 - clipped))
        ok = (mean > 0.08) & (mean < 0.92) & (spread > 0.03) & (clipped < 0.6)
        change = np.zeros(n)
        if n > 1:
            steps = np.array([np.abs(a - b).mean() for a, b in zip(self.thumbs[1:], self.thumbs[:-1], strict=True)])
            # a frame inside a fade/dissolve changes on both sides; one just after a cut on one side only
            before = np.concatenate(([steps[0]], steps))
            after = np.concatenate((steps, [steps[-1]]))
            change = np.minimum(before, after)
        stability = np.exp(-change / 0.03)
        faces, _ = self._face_scores()
        total = (0.35 * sharpness + 0.25 * exposure + 0.40 * faces) * (0.3 + 0.7 * stability) * ok
        return {"sharpness": sharpness, "exposure": exposure * ok, "stability": stability, "faces": faces,
                "score": total}

    def result(self) -> dict[str, Any]:
        """Best time, its breakdown and the top candidates (see the module docstring)."""
        if not self.times:
            return {"time": None, "score": 0.0, "breakdown": {}, "candidates": []}
        parts = self.scores()
        _, counts = self._face_scores()
        order = np.argsort(-parts["score"], kind="stable")
        picked: list[int] = []
        for i in order:
            if all(abs(self.times[i] - self.times[j]) >= self.min_gap_s for j in picked):
                picked.append(int(i))
            if len(picked) >= self.top_n:
                break

        def entry(i: int) -> dict[str, Any]:
            breakdown: dict[str, Any] = {k: round(float(v[i]), 4) for k, v in parts.items() if k != "score"}
            breakdown["face_count"] = counts[i]
            return {"time": round(self.times[i], 3), "score": round(float(parts["score"][i]), 4),
                    "breakdown": breakdown}

        candidates = [entry(i) for i in picked]
        best = candidates[0]
        return {"time": best["time"], "score": best["score"], "breakdown": best["breakdown"],
                "candidates": candidates, "sample_fps": self.sample_fps}
