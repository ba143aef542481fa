"""Shot boundary detection: hard cuts, fades through black and dissolves, robust to flashes and pans.

:class:`ShotDetector` keeps compact features of every frame it sees (about 2.5 KiB each, see
:mod:`vidlake.analyze.shot_features`) and decides in :meth:`ShotDetector.result`:

1. *Cuts*: the per-frame score ``sqrt(hist_distance * 4 * thumb_distance)`` between consecutive
   analysed frames must exceed ``cut_threshold`` and stand ``cut_margin`` above the mean score of the
   surrounding ``window_s`` seconds (adaptive: busy pans raise their own baseline). A histogram jump
   without a matching thumbnail change (quantisation noise) scores low.
2. *Flashes*: a candidate whose "before" frame is matched again by a frame within ``flash_s`` seconds
   (the picture came back) is a flash, not a cut; its frames are ignored by later steps.
3. *Fades* and *dissolves*: :mod:`vidlake.analyze.gradual`. Cuts inside a gradual transition are
   dropped.

Result (all times in seconds from the first frame)::

    {"transitions": [{"type": "cut"|"fade"|"dissolve", "start": s, "end": s}, ...],
     "scenes": [{"start": s, "end": s}, ...],
     "chapters": [{"start": s, "end": s, "keyframe": s}, ...]}

A cut's ``start``/``end`` are both the time of the first frame of the new shot. Scenes tile the video:
a gradual transition is split at its midpoint. Chapters merge consecutive scenes shorter than
``min_chapter_s``; each chapter's ``keyframe`` is the frame closest to the average colour histogram of
its longest scene (dark and flash frames excluded).
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import numpy as np

from vidlake.analyze.base import Analyser
from vidlake.analyze.frames import Frame, VideoInfo
from vidlake.analyze.gradual import find_dissolves, find_fades
from vidlake.analyze.shot_features import FeatureLog, Features


class ShotDetector(Analyser):
    """Detect shots and transitions; thresholds are on 0..1 distance scales, durations in seconds."""

    name: ClassVar[str] = "scenes"
    short_side: ClassVar[int] = 72

    def __init__(self, *, cut_threshold: float = 0.22, cut_margin: float = 0.15, window_s: float = 0.5,
                 flash_s: float = 0.25, min_chapter_s: float = 4.0, gradual: bool = True) -> None:
        self.cut_threshold = cut_threshold
        self.cut_margin = cut_margin
        self.window_s = window_s
        self.flash_s = flash_s
        self.min_chapter_s = min_chapter_s
        self.gradual = gradual
        self.log = FeatureLog()
        self.duration = 0.0

    def begin(self, info: VideoInfo) -> None:
        """Remember the container duration (seconds) to close the last scene."""
        self.duration = info.duration

    def process(self, frame: Frame) -> None:
        """Record the features of one frame."""
        self.log.add(frame.time, frame.yuv, frame.full_range)

    def result(self) -> dict[str, Any]:
        """Transitions, scenes and chapters (see the module docstring)."""
        f = self.log.arrays()
        n = len(f)
        if n == 0:
            return {"transitions": [], "scenes": [], "chapters": []}
        end_time = self.duration if self.duration > f.times[-1] else float(f.times[-1] + self._period(f))
        transitions = self._detect(f) if n > 1 else []
        scenes = _scenes(transitions, end_time)
        return {
            "transitions": [{"type": k, "start": round(s, 3), "end": round(e, 3)} for k, s, e in transitions],
            "scenes": [{"start": round(s, 3), "end": round(e, 3)} for s, e in scenes],
            "chapters": self._chapters(f, scenes),
        }

    @staticmethod
    def _period(f: Features) -> float:
        return float(np.median(np.diff(f.times))) if len(f) > 1 else 0.04

    def _detect(self, f: Features) -> list[tuple[str, float, float]]:
        n = len(f)
        period = max(self._period(f), 1e-3)
        hd, td = f.lagged(1)
        score = np.concatenate([[0.0], np.sqrt(hd * np.minimum(1.0, 4.0 * td))])
        w = max(2, round(self.window_s / period))
        kernel = np.ones(2 * w + 1)
        kernel[w] = 0.0
        padded = np.pad(score, w, mode="edge")
        baseline = np.convolve(padded, kernel, mode="valid") / (2 * w)
        candidates = np.flatnonzero((score >= self.cut_threshold) & (score >= baseline + self.cut_margin))
        flash = np.zeros(n, dtype=bool)
        cuts: list[int] = []
        horizon = max(1, round(self.flash_s / period))
        for i in candidates:
            if flash[i]:
                continue
            back = self._returns(f, int(i), horizon, float(hd[i - 1]))
            if back is not None:
                flash[i : back + 1] = True
            else:
                cuts.append(int(i))
        cuts, bursts = _split_bursts(cuts, f.times, self.flash_s)
        spans: list[tuple[str, int, int]] = [("dissolve", a, b) for a, b in bursts]
        quiet: list[tuple[int, int]] = []  # dark spans that are no transition: no cut inside either
        if self.gradual:
            blocked = flash.copy()
            fades, dark = find_fades(f)
            for a, b in fades:
                spans.append(("fade", a, b))
                blocked[a : b + 1] = True
            for a, b in dark:
                blocked[a : b + 1] = True
                quiet.append((a, b))
            cut_mask = np.zeros(n, dtype=bool)
            for c in cuts:
                if not blocked[c]:
                    cut_mask[c - 1 : c + 1] = True
            for a, b in bursts:
                blocked[a : b + 1] = True
            for a, b in find_dissolves(f, blocked | cut_mask, 1.0 / period):
                spans.append(("dissolve", a, b))
        spans = _merge(spans, f.times, gap_s=0.5)
        out = [(kind, float(f.times[a]), float(f.times[b])) for kind, a, b in spans]
        for c in cuts:
            tc = f.times[c]
            if not any(f.times[a] - 0.3 <= tc <= f.times[b] + 0.3
                       for a, b in [*quiet, *((a, b) for _, a, b in spans)]):
                out.append(("cut", float(f.times[c]), float(f.times[c])))
        return sorted(out, key=lambda x: x[1])

    def _returns(self, f: Features, i: int, horizon: int, jump: float) -> int | None:
        """Index of the first frame after ``i`` that looks like frame ``i - 1`` again, if any."""
        for j in range(i + 1, min(len(f), i + 1 + horizon)):
            if f.hist_distance(i - 1, j) < min(0.5 * jump, self.cut_threshold):
                return j
        return None

    def _chapters(self, f: Features, scenes: list[tuple[float, float]]) -> list[dict[str, float]]:
        groups: list[list[tuple[float, float]]] = []
        for scene in scenes:
            if groups and groups[-1][-1][1] - groups[-1][0][0] < self.min_chapter_s:
                groups[-1].append(scene)
            else:
                groups.append([scene])
        if len(groups) > 1 and groups[-1][-1][1] - groups[-1][0][0] < self.min_chapter_s:
            groups[-2].extend(groups.pop())
        chapters = []
        for group in groups:
            s, e = max(group, key=lambda x: x[1] - x[0])
            idx = np.flatnonzero((f.times >= s) & (f.times < e) & (f.luma > 0.06))
            key = s
            if idx.size:
                mean = f.hists[idx].mean(axis=0)
                best = idx[int(np.argmin(np.abs(f.hists[idx] - mean).sum(axis=1)))]
                key = float(f.times[best])
            chapters.append({"start": round(group[0][0], 3), "end": round(group[-1][1], 3),
                             "keyframe": round(key, 3)})
        return chapters


def _scenes(transitions: list[tuple[str, float, float]], end_time: float) -> list[tuple[float, float]]:
    """Tile ``0..end_time`` (seconds) into scenes split at cuts and at gradual-transition midpoints."""
    bounds = [0.0] + [0.5 * (s + e) for _, s, e in transitions] + [end_time]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _split_bursts(cuts: list[int], times: np.ndarray, gap_s: float) -> tuple[list[int], list[tuple[int, int]]]:
    """Separate isolated cuts from bursts of cut candidates closer than ``gap_s`` seconds: a burst is
    a short transition (a quick dissolve or wipe) spanning ``(first - 1, last)``."""
    singles: list[int] = []
    bursts: list[tuple[int, int]] = []
    group: list[int] = []
    for c in [*cuts, -1]:
        if group and (c < 0 or times[c] - times[group[-1]] > gap_s):
            if len(group) == 1:
                singles.append(group[0])
            else:
                bursts.append((group[0] - 1, group[-1]))
            group = []
        group.append(c)
    return singles, bursts


def _merge(spans: list[tuple[str, int, int]], times: np.ndarray, gap_s: float) -> list[tuple[str, int, int]]:
    """Merge gradual spans that overlap or are within ``gap_s`` seconds (a fade wins over a dissolve)."""
    out: list[tuple[str, int, int]] = []
    for kind, a, b in sorted(spans, key=lambda x: x[1]):
        if out and times[a] - times[out[-1][2]] <= gap_s:
            k0, a0, b0 = out[-1]
            out[-1] = ("fade" if "fade" in (k0, kind) else kind, a0, max(b0, b))
        else:
            out.append((kind, a, b))
    return out
