"""Technical quality analysers: black frames, frozen frames and letterbox / pillarbox bars.

All three work on the shared reduced frames (:mod:`vidlake.analyze.frames`), so their time precision
is one analysed frame and their spatial precision one decimation step of the frame source. Luma
levels are on a 0..1 scale with the video range (16..235) mapped to 0..1.

Results (times in seconds, sizes in pixels of the original video)::

    black:     {"intervals": [{"start": s, "end": s}, ...], "black_seconds": s}
    frozen:    {"intervals": [{"start": s, "end": s}, ...], "frozen_seconds": s}
    letterbox: {"top": px, "bottom": px, "left": px, "right": px,
                "active": {"x": px, "y": px, "width": px, "height": px}}

An interval's ``end`` is the time of the first frame after it (or the end of the analysed video).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from vidlake.analyze.base import Analyser
from vidlake.analyze.frames import Frame, VideoInfo


def _luma01(frame: Frame) -> npt.NDArray[np.float32]:
    y = frame.luma.astype(np.float32)
    out: npt.NDArray[np.float32] = y / 255.0 if frame.full_range else (y - 16.0) / 219.0
    return out


class _Intervals:
    """Collects runs of flagged frames longer than ``min_s`` seconds."""

    def __init__(self, min_s: float) -> None:
        self.min_s = min_s
        self.runs: list[tuple[float, float]] = []
        self.start: float | None = None
        self.last = 0.0

    def step(self, time: float, flagged: bool) -> None:
        if flagged and self.start is None:
            self.start = time
        elif not flagged and self.start is not None:
            self._close(time)
        self.last = time

    def _close(self, end: float) -> None:
        assert self.start is not None
        if end - self.start >= self.min_s:
            self.runs.append((self.start, end))
        self.start = None

    def finish(self, end: float) -> list[dict[str, float]]:
        if self.start is not None:
            self._close(max(end, self.last))
        return [{"start": round(a, 3), "end": round(b, 3)} for a, b in self.runs]


class BlackFrameDetector(Analyser):
    """Runs of black frames: at most ``max_lit_share`` of the pixels brighter than ``pixel_luma``
    (0..1), lasting at least ``min_s`` seconds (like FFmpeg's ``blackdetect``)."""

    name: ClassVar[str] = "black"

    def __init__(self, *, pixel_luma: float = 0.10, max_lit_share: float = 0.02, min_s: float = 0.5) -> None:
        self.pixel_luma = pixel_luma
        self.max_lit_share = max_lit_share
        self.runs = _Intervals(min_s)
        self.end = 0.0

    def begin(self, info: VideoInfo) -> None:
        """Remember the duration (seconds) to close a run at the end of the video."""
        self.end = info.duration

    def process(self, frame: Frame) -> None:
        """Flag the frame when nearly all its pixels are dark."""
        lit = float((_luma01(frame) > self.pixel_luma).mean())
        self.runs.step(frame.time, lit <= self.max_lit_share)

    def result(self) -> dict[str, Any]:
        """Black intervals and their total duration in seconds."""
        intervals = self.runs.finish(self.end)
        return {"intervals": intervals, "black_seconds": round(sum(i["end"] - i["start"] for i in intervals), 3)}


class FrozenFrameDetector(Analyser):
    """Runs of frames that do not change: mean absolute luma difference with the previous analysed
    frame below ``noise`` (0..1), lasting at least ``min_s`` seconds (like FFmpeg's ``freezedetect``).
    A perfectly still shot (a tripod on a still scene) is reported too; callers judge."""

    name: ClassVar[str] = "frozen"

    def __init__(self, *, noise: float = 0.002, min_s: float = 1.0) -> None:
        self.noise = noise
        self.runs = _Intervals(min_s)
        self.previous: npt.NDArray[np.float32] | None = None
        self.previous_time = 0.0
        self.end = 0.0

    def begin(self, info: VideoInfo) -> None:
        """Remember the duration (seconds) to close a run at the end of the video."""
        self.end = info.duration

    def process(self, frame: Frame) -> None:
        """Compare the frame with the previous one; a frozen run starts at the repeated frame."""
        y = _luma01(frame)
        prev = self.previous
        still = prev is not None and prev.shape == y.shape and float(np.abs(y - prev).mean()) < self.noise
        # The first frame of a freeze is the one being repeated: start the run there.
        self.runs.step(self.previous_time if still and self.runs.start is None else frame.time, still)
        self.previous, self.previous_time = y, frame.time

    def result(self) -> dict[str, Any]:
        """Frozen intervals and their total duration in seconds."""
        intervals = self.runs.finish(self.end)
        return {"intervals": intervals, "frozen_seconds": round(sum(i["end"] - i["start"] for i in intervals), 3)}


class LetterboxDetector(Analyser):
    """Black bars: edge rows (columns) whose brightest pixel stays under ``bar_luma`` (0..1) in at
    least ``1 - max_lit_share`` of the frames; a flash or a title over the bar does not undo it."""

    name: ClassVar[str] = "letterbox"
    short_side: ClassVar[int] = 180

    def __init__(self, *, bar_luma: float = 0.08, max_lit_share: float = 0.05) -> None:
        self.bar_luma = bar_luma
        self.max_lit_share = max_lit_share
        self.rows_lit: npt.NDArray[np.int64] | None = None
        self.cols_lit: npt.NDArray[np.int64] | None = None
        self.frames = 0
        self.size = (0, 0)

    def begin(self, info: VideoInfo) -> None:
        """Remember the original size (pixels) to scale the bars back."""
        self.size = (info.width, info.height)

    def process(self, frame: Frame) -> None:
        """Count, per row and column, the frames where it has a lit pixel."""
        lit = _luma01(frame) > self.bar_luma
        rows, cols = lit.any(axis=1), lit.any(axis=0)
        if self.rows_lit is None or self.rows_lit.shape != rows.shape or self.cols_lit is None \
                or self.cols_lit.shape != cols.shape:
            self.rows_lit = np.zeros(rows.shape, np.int64)
            self.cols_lit = np.zeros(cols.shape, np.int64)
            self.frames = 0
        self.rows_lit += rows
        self.cols_lit += cols
        self.frames += 1

    def result(self) -> dict[str, Any]:
        """Bar sizes and the active picture rectangle, in pixels of the original video."""
        width, height = self.size
        if self.rows_lit is None or self.cols_lit is None or self.frames == 0:
            return {"top": 0, "bottom": 0, "left": 0, "right": 0,
                    "active": {"x": 0, "y": 0, "width": width, "height": height}}
        limit = self.max_lit_share * self.frames
        top, bottom = _bars(self.rows_lit <= limit)
        left, right = _bars(self.cols_lit <= limit)
        sy, sx = height / self.rows_lit.size, width / self.cols_lit.size
        out = {"top": round(top * sy), "bottom": round(bottom * sy), "left": round(left * sx),
               "right": round(right * sx)}
        active = {"x": out["left"], "y": out["top"], "width": max(0, width - out["left"] - out["right"]),
                  "height": max(0, height - out["top"] - out["bottom"])}
        return {**out, "active": active}


def _bars(dark: npt.NDArray[np.bool_]) -> tuple[int, int]:
    """Lengths of the dark runs at both ends of a 1-D mask (0, 0 when everything is dark)."""
    if dark.all():
        return 0, 0
    lit = np.flatnonzero(~dark)
    return int(lit[0]), int(dark.size - 1 - lit[-1])
