"""Perceptual fingerprints per scene, for finding near-duplicate videos.

A :class:`Fingerprint` holds, for every scene (from the ``scenes`` analysis, or fixed windows of
``window_s`` seconds when none are given), three 64-bit DCT perceptual hashes of frames at 25 %,
50 % and 75 % of the scene, plus a colour signature (mean Y, Cb, Cr and the luma spread over the
scene, each 0-1). A hash is computed on a *centre-weighted* downscale: the frame's central 84 % is
reduced to 32x32 luma (area averaging), multiplied by a smooth window that fades the borders (where
logos, crops and letterboxes live), transformed by a 2-D DCT, and the 8x8 lowest frequencies but the
DC are thresholded at their median. This survives re-encoding, resizing, a crop of about 10 % and
a small corner logo, and costs one low-resolution decode (:func:`vidlake.analyze.frames.read_frames`).

:func:`similarity` scores two fingerprints in [0, 1] (1: same content); :func:`find_similar` ranks
candidates above a threshold. Unrelated videos score about 0-0.3, near-duplicates above 0.7.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from vidlake.analyze.frames import read_frames

#: Default similarity threshold of :func:`find_similar` (0-1).
DEFAULT_THRESHOLD = 0.6
#: Positions (fractions of a scene) at which frames are hashed.
POSITIONS: tuple[float, ...] = (0.25, 0.5, 0.75)
#: Share of the frame kept around the centre before hashing (each side loses half the rest).
CENTRE = 0.84
#: Hamming distance (bits of 64) at which hash similarity reaches 0.
_ZERO_SIM_BITS = 28.0
#: Weight of the colour signature in a scene score (the hashes have the rest).
_COLOUR_WEIGHT = 0.2

Gray = npt.NDArray[np.float32]


def _window(n: int) -> Gray:
    """A separable window: flat in the middle, cosine fade over the outer quarter of each side."""
    x = np.linspace(0.0, 1.0, n, dtype=np.float32)
    edge = np.clip(np.minimum(x, 1.0 - x) / 0.25, 0.0, 1.0)
    w = 0.5 - 0.5 * np.cos(np.pi * edge)
    return np.outer(w, w).astype(np.float32)


_WINDOW = _window(32)


def phash(luma: npt.NDArray[np.uint8]) -> int:
    """64-bit centre-weighted DCT hash of a ``(h, w)`` uint8 luma image."""
    h, w = luma.shape
    mh, mw = round(h * (1 - CENTRE) / 2), round(w * (1 - CENTRE) / 2)
    core = luma[mh:h - mh or h, mw:w - mw or w].astype(np.float32)
    small = cv2.resize(core, (32, 32), interpolation=cv2.INTER_AREA)
    small = (small - float(small.mean())) * _WINDOW
    coeffs = cv2.dct(small)[:8, :8].flatten()[1:]
    bits = coeffs > np.median(coeffs)
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


def _colour(yuv: npt.NDArray[np.uint8]) -> tuple[float, float, float, float]:
    h, w = yuv.shape[:2]
    mh, mw = round(h * (1 - CENTRE) / 2), round(w * (1 - CENTRE) / 2)
    core = yuv[mh:h - mh or h, mw:w - mw or w].astype(np.float32) / 255.0
    return (float(core[:, :, 0].mean()), float(core[:, :, 1].mean()), float(core[:, :, 2].mean()),
            float(core[:, :, 0].std()))


@dataclass(frozen=True)
class SceneFingerprint:
    """One scene: ``start``/``end`` seconds, ``hashes`` (64-bit ints at :data:`POSITIONS`) and
    ``colour`` (mean Y, Cb, Cr and luma standard deviation, each 0-1)."""

    start: float
    end: float
    hashes: tuple[int, ...]
    colour: tuple[float, float, float, float]


@dataclass
class Fingerprint:
    """The fingerprint of one video: its scenes in time order and ``duration_s`` in seconds."""

    scenes: list[SceneFingerprint] = field(default_factory=list)
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (hashes as 16-digit hex strings)."""
        return {
            "duration_s": round(self.duration_s, 3),
            "scenes": [{"start": round(s.start, 3), "end": round(s.end, 3),
                        "hashes": [f"{h:016x}" for h in s.hashes],
                        "colour": [round(c, 4) for c in s.colour]} for s in self.scenes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fingerprint:
        """Inverse of :meth:`to_dict`."""
        scenes = [SceneFingerprint(float(s["start"]), float(s["end"]), tuple(int(h, 16) for h in s["hashes"]),
                                   (float(s["colour"][0]), float(s["colour"][1]), float(s["colour"][2]),
                                    float(s["colour"][3])))
                  for s in data.get("scenes", [])]
        return cls(scenes=scenes, duration_s=float(data.get("duration_s", 0.0)))


def _windows(duration: float, window_s: float) -> list[tuple[float, float]]:
    if duration <= 0:
        return [(0.0, float("inf"))]
    n = max(1, round(duration / window_s))
    step = duration / n
    return [(i * step, (i + 1) * step) for i in range(n)]


def fingerprint(
    path: Path,
    scenes: Sequence[Mapping[str, Any]] | None = None,
    *,
    window_s: float = 10.0,
    short_side: int = 96,
) -> Fingerprint:
    """Fingerprint the video of ``path``.

    ``scenes``: ``[{"start": s, "end": s}, ...]`` in seconds (the ``scenes`` analysis result); when
    empty or ``None`` the video is cut into windows of about ``window_s`` seconds. ``short_side``:
    decode size (pixels) of the reduced frames.
    """
    info: list[Any] = []
    frames = read_frames(path, short_side=short_side, fast=True, info_out=info)
    spans: list[tuple[float, float]] | None = (
        [(float(s["start"]), float(s["end"])) for s in scenes] if scenes else None)
    # Per span: the frame nearest each target time, and colour sums over the span.
    best: dict[tuple[int, int], tuple[float, int]] = {}
    colour_sum: dict[int, npt.NDArray[np.float64]] = {}
    colour_n: dict[int, int] = {}
    last_time = 0.0
    for frame in frames:
        if spans is None:
            spans = _windows(info[0].duration if info else 0.0, window_s)
        last_time = frame.time
        idx = next((i for i, (s, e) in enumerate(spans) if s <= frame.time < e), None)
        if idx is None:
            idx = len(spans) - 1 if frame.time >= spans[-1][0] else None
        if idx is None:
            continue
        start, end = spans[idx]
        end = end if np.isfinite(end) else start + window_s
        for k, pos in enumerate(POSITIONS):
            target = start + pos * (end - start)
            dist = abs(frame.time - target)
            if (idx, k) not in best or dist < best[(idx, k)][0]:
                best[(idx, k)] = (dist, phash(frame.luma))
        colour_sum[idx] = colour_sum.get(idx, np.zeros(4)) + np.array(_colour(frame.yuv))
        colour_n[idx] = colour_n.get(idx, 0) + 1
    out = Fingerprint(duration_s=max(info[0].duration if info else 0.0, last_time))
    for idx, (start, end) in enumerate(spans or []):
        if idx not in colour_n:
            continue
        hashes = tuple(best[(idx, k)][1] for k in range(len(POSITIONS)) if (idx, k) in best)
        c = colour_sum[idx] / colour_n[idx]
        out.scenes.append(SceneFingerprint(start, min(end, out.duration_s) if out.duration_s else end, hashes,
                                           (float(c[0]), float(c[1]), float(c[2]), float(c[3]))))
    return out


def hash_similarity(a: int, b: int) -> float:
    """Similarity of two 64-bit perceptual hashes in [0, 1] (1: same bits; 0 from 28 differing bits)."""
    return max(0.0, 1.0 - (a ^ b).bit_count() / _ZERO_SIM_BITS)


def scene_similarity(a: SceneFingerprint, b: SceneFingerprint) -> float:
    """Similarity of two scenes in [0, 1]: for each hash of ``a`` its best match in ``b`` (averaged),
    blended with the colour signature distance."""
    if not a.hashes or not b.hashes:
        return 0.0
    h = float(np.mean([max(hash_similarity(x, y) for y in b.hashes) for x in a.hashes]))
    dist = float(np.abs(np.subtract(a.colour, b.colour)).sum())
    c = max(0.0, 1.0 - dist / 0.3)
    return (1.0 - _COLOUR_WEIGHT) * h + _COLOUR_WEIGHT * c


def _directed(a: Fingerprint, b: Fingerprint) -> float:
    total = weight = 0.0
    for s in a.scenes:
        w = max(s.end - s.start, 1e-3) if np.isfinite(s.end) else 1.0
        total += w * max(scene_similarity(s, t) for t in b.scenes)
        weight += w
    return total / weight if weight else 0.0


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """Similarity of two videos in [0, 1]: each scene is matched to its best scene in the other
    video, scores are averaged weighted by scene duration, in both directions, and the two averaged."""
    if not a.scenes or not b.scenes:
        return 0.0
    return 0.5 * (_directed(a, b) + _directed(b, a))


def find_similar(
    query: Fingerprint,
    candidates: Mapping[str, Fingerprint] | Iterable[tuple[str, Fingerprint]],
    threshold: float = DEFAULT_THRESHOLD,
) -> list[tuple[str, float]]:
    """Candidates (``{id: fingerprint}`` or ``(id, fingerprint)`` pairs) scoring at least
    ``threshold`` against ``query``, best first, as ``(id, score)``."""
    pairs = candidates.items() if isinstance(candidates, Mapping) else candidates
    scored = [(key, similarity(query, fp)) for key, fp in pairs]
    return sorted([(k, s) for k, s in scored if s >= threshold], key=lambda ks: -ks[1])
