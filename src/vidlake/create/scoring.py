"""Shots of the inputs as candidates for a creation: cut out what must not be shown, score the rest.

A candidate is a scene of one input (from the ``scenes`` analysis), limited to the input's ``trim`` /
``length`` and inset by :data:`EDGE_S` at both ends (a cut's neighbouring frames and fades stay out). Black
and frozen runs are cut out of it (the longest clean part is kept); then a candidate is **dropped** when it
is shorter than :data:`MIN_SHOT_S`, blurred (median sharpness under :data:`BLUR_RATIO` of the reference:
the median over every candidate of every input, weighted by length, so a blurred copy is judged against the
footage around it and one very detailed shot does not make the others look soft), badly exposed (mostly
clipped to black or white), or a near-duplicate of a better candidate (:func:`similarity` at least
:data:`DUPLICATE_SIMILARITY`).

Kept candidates get scores in 0..1, weighted by style into ``score``: ``sharpness`` (against the
reference, capped at 1), ``exposure`` (mid-grey best, clipping penalised), ``motion`` (energetic wants
movement, calm and product want it still, relative to the inputs' 90th percentile), ``faces`` (share of
samples with a whole face, not cut by the frame's edge), ``centred`` (``product``: the picture's detail
gathered in its centre, a close-up of one object, from ``shot_quality``'s ``centre``). Each candidate keeps
the reasons a person can read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidlake.analyze.fingerprint import Fingerprint, hash_similarity, scene_similarity
from vidlake.analyze.shot_quality import summarize_interval, window_hashes
from vidlake.create.signals import AssetSignals

EDGE_S = 0.15
MIN_SHOT_S = 1.0
BLUR_RATIO = 0.4
DUPLICATE_SIMILARITY = 0.7
#: Face boxes closer than this to the frame's edge (fraction of the frame) count as cut.
FACE_MARGIN = 0.01

WEIGHTS: dict[str, dict[str, float]] = {
    "energetic": {"sharpness": 0.35, "exposure": 0.2, "motion": 0.3, "faces": 0.15, "centred": 0.0},
    "calm": {"sharpness": 0.4, "exposure": 0.3, "motion": 0.2, "faces": 0.1, "centred": 0.0},
    "vlog": {"sharpness": 0.25, "exposure": 0.2, "motion": 0.05, "faces": 0.5, "centred": 0.0},
    "product": {"sharpness": 0.35, "exposure": 0.2, "motion": 0.2, "faces": 0.0, "centred": 0.25},
}
#: ``centre`` (share of the detail in the picture's central quarter) for a ``centred`` score of 0 and of 1.
CENTRE_EVEN, CENTRE_FULL = 0.3, 0.75


@dataclass
class Candidate:
    """A usable (or dropped) stretch of one input: ``start``/``end`` seconds in the asset."""

    input_index: int
    asset_id: str
    scene: int
    start: float
    end: float
    measures: dict[str, float] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    dropped: str | None = None
    fingerprint: Any = None
    hashes: list[int] = field(default_factory=list)

    @property
    def length(self) -> float:
        return self.end - self.start

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"input": self.input_index, "asset_id": self.asset_id, "scene": self.scene,
                               "start": round(self.start, 3), "end": round(self.end, 3)}
        if self.dropped:
            out["dropped"] = self.dropped
        else:
            out.update(score=round(self.score, 3), scores={k: round(v, 3) for k, v in self.scores.items()},
                       reasons=self.reasons)
        out["measures"] = {k: round(v, 4) for k, v in self.measures.items()}
        return out


def _subtract(start: float, end: float, cuts: list[tuple[float, float]]) -> tuple[float, float]:
    """The longest part of ``[start, end)`` outside every interval of ``cuts``."""
    parts = [(start, end)]
    for c0, c1 in cuts:
        nxt: list[tuple[float, float]] = []
        for p0, p1 in parts:
            if c1 <= p0 or c0 >= p1:
                nxt.append((p0, p1))
                continue
            if c0 > p0:
                nxt.append((p0, c0))
            if c1 < p1:
                nxt.append((c1, p1))
        parts = nxt
    return max(parts, key=lambda p: p[1] - p[0], default=(start, start))


def _intervals(result: dict[str, Any] | None) -> list[tuple[float, float]]:
    return [(float(i["start"]) - EDGE_S, float(i["end"]) + EDGE_S) for i in (result or {}).get("intervals", [])]


def _faces_share(faces: dict[str, Any] | None, start: float, end: float) -> tuple[float, float]:
    """Share of face samples in ``[start, end)`` with a whole face, and with a cut one."""
    frames = [f for f in (faces or {}).get("frames", []) if start <= float(f["time"]) < end]
    if not frames:
        return 0.0, 0.0
    whole = cut = 0
    for f in frames:
        boxes = [b["box"] for b in f["faces"]]
        if any(b[0] > FACE_MARGIN and b[1] > FACE_MARGIN and b[2] < 1 - FACE_MARGIN and b[3] < 1 - FACE_MARGIN
               for b in boxes):
            whole += 1
        elif boxes:
            cut += 1
    return whole / len(frames), cut / len(frames)


def candidates(inputs: list[tuple[AssetSignals, float, float]], style: str) -> list[Candidate]:
    """Every candidate of every input (``inputs``: signals and the usable range in seconds), scored; the
    dropped ones too, with why."""
    out: list[Candidate] = []
    for index, (signals, lo, hi) in enumerate(inputs):
        res = signals.results
        cuts = _intervals(res.get("black")) + _intervals(res.get("frozen"))
        scenes = (res.get("scenes") or {}).get("scenes") or [{"start": 0.0, "end": signals.duration}]
        prints = Fingerprint.from_dict(res["fingerprint"]).scenes if res.get("fingerprint") else []
        for n, scene in enumerate(scenes):
            s0, s1 = max(lo, float(scene["start"])), min(hi, float(scene["end"]))
            if s1 - s0 <= 2 * EDGE_S:
                continue
            s0, s1 = s0 + (EDGE_S if s0 > 0 else 0.0), s1 - EDGE_S
            c0, c1 = _subtract(s0, s1, cuts)
            cand = Candidate(index, signals.asset_id, n, c0, c1)
            cand.fingerprint = max(prints, key=lambda p: min(p.end, s1) - max(p.start, s0), default=None)
            if c1 - c0 < MIN_SHOT_S:
                black = _subtract(s0, s1, _intervals(res.get("black")))
                cand.start, cand.end = s0, s1
                cand.dropped = ("black" if black[1] - black[0] < MIN_SHOT_S else "frozen") if (
                    c1 - c0 < s1 - s0) else f"shorter than {MIN_SHOT_S:g} s"
            else:
                q = summarize_interval(res.get("shot_quality") or {}, c0, c1) or {}
                whole, cut = _faces_share(res.get("faces"), c0, c1)
                cand.measures = {**{k: float(v) for k, v in q.items()}, "faces_whole": whole, "faces_cut": cut}
                cand.hashes = window_hashes(res.get("shot_quality") or {}, c0, c1)
            out.append(cand)
    _score(out, style)
    return out


def _score(cands: list[Candidate], style: str) -> None:
    live = [c for c in cands if c.dropped is None]
    if not live:
        return
    sharp_ref = _weighted_median([c.measures.get("sharpness", 0.0) for c in live], [c.length for c in live]) or 1e-6
    motion_ref = float(np.percentile([c.measures.get("motion", 0.0) for c in live], 90)) or 1e-6
    weights = WEIGHTS[style]
    for c in live:
        m = c.measures
        rel = m.get("sharpness", 0.0) / sharp_ref
        if rel < BLUR_RATIO:
            c.dropped = f"blurred: sharpness {rel:.2f} x the footage's median"
            continue
        if m.get("dark", 0.0) > 0.7 or m.get("bright", 0.0) > 0.6:
            c.dropped = "badly exposed: " + ("mostly black" if m.get("dark", 0.0) > 0.7 else "mostly white")
            continue
        motion = min(1.0, m.get("motion", 0.0) / motion_ref)
        exposure = max(0.0, 1.0 - abs(m.get("luma", 0.5) - 0.5) / 0.45 - m.get("dark", 0.0) - m.get("bright", 0.0))
        c.scores = {
            "sharpness": min(1.0, rel),
            "exposure": exposure,
            "motion": motion if style == "energetic" else (1.0 - motion if style in ("calm", "product") else 0.5),
            "faces": max(0.0, m.get("faces_whole", 0.0) - m.get("faces_cut", 0.0)),
            "centred": min(1.0, max(0.0, (m.get("centre", 0.25) - CENTRE_EVEN) / (CENTRE_FULL - CENTRE_EVEN))),
        }
        c.score = sum(weights[k] * v for k, v in c.scores.items())
        c.reasons = _reasons(c, rel, style)
    _drop_duplicates(sorted((c for c in cands if c.dropped is None), key=lambda c: -c.score))


def _weighted_median(values: list[float], weights: list[float]) -> float:
    order = np.argsort(values)
    cum = np.cumsum(np.asarray(weights)[order])
    return float(np.asarray(values)[order][int(np.searchsorted(cum, cum[-1] / 2))])


def _reasons(c: Candidate, rel: float, style: str) -> list[str]:
    out = [f"sharpness {rel:.2f} x the footage's median"]
    if c.scores["exposure"] > 0.7:
        out.append("well exposed")
    if c.measures.get("faces_whole", 0.0) > 0.5:
        out.append("a whole face in view")
    elif c.measures.get("faces_cut", 0.0) > 0.3:
        out.append("a face cut by the frame's edge")
    if style == "energetic" and c.scores["motion"] > 0.6:
        out.append("lively motion (energetic)")
    if style in ("calm", "product") and c.scores["motion"] > 0.7:
        out.append(f"steady camera ({style})")
    if style == "product" and c.scores["centred"] > 0.6:
        out.append("a subject centred on a plain background (product)")
    return out


def similarity(a: Candidate, b: Candidate) -> float:
    """How alike two candidates' pictures are (0..1): the samples' perceptual hashes, each matched with its
    best counterpart in the other shot, averaged, in the direction that matches best (a shot contained in
    a longer one counts); the scene fingerprints when the samples have no hashes (older analyses)."""
    if a.hashes and b.hashes:
        def directed(x: list[int], y: list[int]) -> float:
            return float(np.mean([max(hash_similarity(h, g) for g in y) for h in x]))

        return max(directed(a.hashes, b.hashes), directed(b.hashes, a.hashes))
    if a.fingerprint is not None and b.fingerprint is not None:
        return scene_similarity(a.fingerprint, b.fingerprint)
    return 0.0


def _drop_duplicates(best_first: list[Candidate]) -> None:
    kept: list[Candidate] = []
    for c in best_first:
        twin = next((k for k in kept if similarity(c, k) >= DUPLICATE_SIMILARITY), None)
        if twin is not None:
            c.dropped = f"near-duplicate of input {twin.input_index} scene {twin.scene} ({twin.start:.1f} s)"
        else:
            kept.append(c)
