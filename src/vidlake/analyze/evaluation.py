"""Scoring detected shot boundaries against a ground-truth table.

Truth rows have ``type`` (``cut``/``fade``/``dissolve`` are boundaries; ``flash``/``pan``/``zoom``
are zones where nothing may be detected), ``start`` and ``end`` in seconds. A detection (start, end
in seconds, type ignored) matches a boundary when the two intervals, each widened by
``tolerance`` seconds, overlap; matching is one-to-one, nearest centres first. Every unmatched
detection is a false positive charged to the type of the nearest truth row (boundary or zone), so
per-type F1 = 2·TP / (2·TP + FP + FN) needs no type labels from the detector and treats every
detector alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

BOUNDARY_TYPES = ("cut", "fade", "dissolve")
ZONE_TYPES = ("flash", "pan", "zoom")


@dataclass(frozen=True)
class Event:
    """A truth row or a detection: ``type``, ``start`` and ``end`` in seconds."""

    type: str
    start: float
    end: float

    @property
    def centre(self) -> float:
        return 0.5 * (self.start + self.end)


@dataclass
class Score:
    """Counts for one type (``tp``, ``fp``, ``fn``) and the derived precision, recall and F1."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else 1.0

    def add(self, other: Score) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn


@dataclass
class Report:
    """Per-type scores (zones only collect ``fp``) and ``overall`` over boundary types."""

    by_type: dict[str, Score] = field(default_factory=lambda: {t: Score() for t in BOUNDARY_TYPES + ZONE_TYPES})

    @property
    def overall(self) -> Score:
        total = Score()
        for t, s in self.by_type.items():
            total.add(s if t in BOUNDARY_TYPES else Score(fp=s.fp))
        return total

    def add(self, other: Report) -> None:
        for t, s in other.by_type.items():
            self.by_type.setdefault(t, Score()).add(s)


def score_video(truth: Sequence[Event], detected: Iterable[Event], tolerance: float = 0.1) -> Report:
    """Score one video's detections against its truth rows (``tolerance`` in seconds)."""
    report = Report()
    bounds = [t for t in truth if t.type in BOUNDARY_TYPES]
    dets = list(detected)
    pairs = []
    for i, t in enumerate(bounds):
        for j, d in enumerate(dets):
            if d.start - tolerance <= t.end and t.start - tolerance <= d.end:
                pairs.append((abs(t.centre - d.centre), i, j))
    used_t: set[int] = set()
    used_d: set[int] = set()
    for _, i, j in sorted(pairs):
        if i in used_t or j in used_d:
            continue
        used_t.add(i)
        used_d.add(j)
        report.by_type[bounds[i].type].tp += 1
    for i, t in enumerate(bounds):
        if i not in used_t:
            report.by_type[t.type].fn += 1
    for j, d in enumerate(dets):
        if j in used_d:
            continue
        kind = _nearest_type(truth, d)
        report.by_type.setdefault(kind, Score()).fp += 1
    return report


def _nearest_type(truth: Sequence[Event], d: Event) -> str:
    """Type of the truth row nearest to ``d`` (zones containing ``d`` win); ``cut`` when none."""
    for t in truth:
        if t.type in ZONE_TYPES and t.start - 0.05 <= d.centre <= t.end + 0.05:
            return t.type
    if not truth:
        return "cut"
    return min(truth, key=lambda t: max(0.0, t.start - d.centre, d.centre - t.end)).type
