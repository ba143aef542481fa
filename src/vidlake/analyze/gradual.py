"""Gradual transitions: fades through black and dissolves (cross-fades).

Both work on the stacked :class:`~vidlake.analyze.shot_features.Features` of a whole run; indices are
analysed-frame indices and every returned span is ``(first, last)`` inclusive.

*Fades*: a run of dark frames (mean luma below ``dark_luma`` and almost no lit pixel), widened on each
side while the mean luma keeps falling into it / rising out of it. A dip that returns to the shot it
left (before and after look alike) is not a transition.

*Dissolves*: a frame inside a linear cross-fade from frame ``a`` to frame ``b`` is close to the blend
``(1 - α) a + α b``. For window lengths from ``min_s`` to ``max_s`` seconds, windows whose ends differ
(histogram distance above ``min_change``) are tested: every thumbnail in between is projected on the
segment from ``a`` to ``b``; the window passes when the worst relative residual stays under
``max_residual`` and ``α`` rises monotonically. Camera motion (pans, zooms) produces intermediate
frames that are sharp views, not blends, and fails the residual test. Between ``max_residual`` and
1.5 times it (shots that move during the dissolve), the window must also show the contrast dip of a
blend (:func:`contrast_dip` at most ``max_dip``).
"""

from __future__ import annotations

import numpy as np

from vidlake.analyze.shot_features import Features, hist_distance, thumb_distance

Span = tuple[int, int]


def find_fades(f: Features, *, dark_luma: float = 0.06, max_lit: float = 0.01,
               max_ramp_s: float = 3.0, min_change: float = 0.12) -> tuple[list[Span], list[Span]]:
    """(fades through black with a shot on both sides, other dark spans with their ramps: fade-ins
    at the start, fade-outs at the end, dips that return to the same shot). Ramps up to
    ``max_ramp_s`` seconds."""
    n = len(f)
    dark = (f.luma < dark_luma) & (f.lit < max_lit)
    spans: list[Span] = []
    others: list[Span] = []
    i = 0
    while i < n:
        if not dark[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and dark[j + 1]:
            j += 1
        a, b = i, j
        t0, t1 = f.times[i], f.times[j]
        while a > 0 and t0 - f.times[a - 1] <= max_ramp_s and f.luma[a - 1] > f.luma[a] + 0.002:
            a -= 1
        while b + 1 < n and f.times[b + 1] - t1 <= max_ramp_s and f.luma[b + 1] > f.luma[b] + 0.002:
            b += 1
        # A ramp ends where the luma gets within 5 % of its peak (a shot may keep brightening slowly).
        top = 0.95 * float(f.luma[a : i + 1].max())
        a = max(k for k in range(a, i + 1) if f.luma[k] >= top) if f.luma[a] > 0 else a
        top = 0.95 * float(f.luma[j : b + 1].max())
        b = min(k for k in range(j, b + 1) if f.luma[k] >= top) if f.luma[b] > 0 else b
        inside = a > 0 and b < n - 1
        if inside and f.distance(max(0, a - 1), min(n - 1, b + 1)) >= min_change:
            spans.append((a, b))
        else:
            others.append((a, b))
        i = j + 1
    return spans, others


def blend_fit(thumbs: np.ndarray, a: int, b: int) -> tuple[np.ndarray, float]:
    """(α of every frame in ``a..b``, worst residual relative to ``|b - a|``) of the blend model."""
    # einsum, not ``@``: a BLAS call would wake OpenBLAS threads that then spin on the CPUs the
    # decoder threads need (about 0.3 CPU seconds per video minute at 360p).
    seg = thumbs[a : b + 1].astype(np.float32)
    d = seg[-1] - seg[0]
    norm2 = float(np.einsum("i,i->", d, d))
    if norm2 <= 1e-6:
        return np.zeros(b - a + 1), np.inf
    rel = seg - seg[0]
    alpha = np.einsum("ij,j->i", rel, d) / norm2
    resid = np.linalg.norm(rel - alpha[:, None] * d[None, :], axis=1)
    return alpha, float(resid.max() / np.sqrt(norm2))


def contrast_dip(edges: np.ndarray, a: int, b: int) -> float:
    """Lowest ratio, over the middle half of ``a..b``, of edge contrast to the straight line joining
    the contrasts at ``a`` and ``b``: about 0.7 mid-dissolve, about 1 for camera motion."""
    seg = edges[a : b + 1].astype(np.float64)
    n = seg.size
    line = np.linspace(seg[0], seg[-1], n)
    mid = slice(n // 4, max(n // 4 + 1, n - n // 4))
    return float((seg[mid] / np.maximum(line[mid], 1e-6)).min())


def find_dissolves(f: Features, blocked: np.ndarray, fps: float, *, min_s: float = 0.3,
                   max_s: float = 2.6, min_change: float = 0.2, max_residual: float = 0.3,
                   max_step: float = 0.35, max_dip: float = 0.87) -> list[Span]:
    """Spans of dissolves. ``blocked`` marks frames already explained (cuts, fades, flashes);
    ``fps`` is the typical analysed-frame rate (frames per second, for rounding window lengths)."""
    n = len(f)
    if n < 3 or fps <= 0:
        return []
    blocked_sum = np.concatenate([[0], np.cumsum(blocked.astype(np.int64))])
    found: list[tuple[float, Span]] = []
    for seconds in np.geomspace(max_s, min_s, 6):
        # Window ends are found by time, so irregular sampling (fast decode) keeps windows honest.
        ends = np.searchsorted(f.times, f.times + seconds - 0.5 / fps)
        starts = np.flatnonzero(ends < n)
        if starts.size == 0:
            continue
        ends = ends[starts]
        hd = hist_distance(f.hists[starts], f.hists[ends])
        td = thumb_distance(f.thumbs[starts], f.thumbs[ends])
        r = max(1, round(seconds * fps) // 4)
        neighbourhood = np.lib.stride_tricks.sliding_window_view(np.pad(hd, r, mode="edge"), 2 * r + 1)
        peaks = np.flatnonzero((hd >= min_change) & (hd >= neighbourhood.max(axis=1)) & (td >= 0.02))
        for k in peaks[np.argsort(-hd[peaks])]:
            a, b = int(starts[k]), int(ends[k])
            if b - a < 2 or blocked_sum[b + 1] - blocked_sum[a] > 0:
                continue
            if any(o[0] <= (a + b) // 2 <= o[1] for _, o in found):
                continue
            alpha, resid = blend_fit(f.thumbs, a, b)
            if resid > 1.5 * max_residual or np.any(np.diff(alpha) < -0.1) or np.max(np.diff(alpha)) > max_step:
                continue
            if resid > max_residual and contrast_dip(f.edges, a, b) > max_dip:
                continue
            s = a + int(np.argmax(alpha > 0.1)) - 1
            e = a + int(np.argmax(alpha > 0.9))
            span = (max(a, s), max(min(b, e), max(a, s) + 1))
            if any(not (span[1] < o[0] or span[0] > o[1]) for _, o in found):
                continue
            found.append((float(hd[k]), span))
    return _join_pieces(f, sorted(span for _, span in found), max_gap_s=1.0, max_residual=2 * max_residual)


def _join_pieces(f: Features, spans: list[Span], max_gap_s: float, max_residual: float) -> list[Span]:
    """Join neighbouring spans (gap up to ``max_gap_s`` seconds) that are pieces of one long dissolve:
    the joined window must still be one monotone blend (residual up to ``max_residual``) that keeps
    moving through the gap (a shot between two dissolves would be a plateau of ``α``)."""
    out: list[Span] = []
    for span in spans:
        if out and f.times[span[0]] - f.times[out[-1][1]] <= max_gap_s:
            a, b = out[-1][0], span[1]
            alpha, resid = blend_fit(f.thumbs, a, b)
            g0, g1 = out[-1][1] - a, span[0] - a
            rise = float(alpha[g1] - alpha[g0])
            share = (f.times[span[0]] - f.times[out[-1][1]]) / max(1e-6, f.times[b] - f.times[a])
            if resid <= max_residual and not np.any(np.diff(alpha) < -0.1) and rise >= 0.6 * share:
                out[-1] = (a, b)
                continue
        out.append(span)
    return out
