"""Auto-reframe planning: the path of a crop window of any aspect ratio that follows faces.

Planning (:func:`plan_crop`) works on a regular time grid (``step_s`` seconds) along the one axis the
window can move on (x for a landscape source cropped narrower; y for a source taller than the target):

1. *Targets*: at each grid time the subject is the union of the faces of the nearest face sample
   (faces smaller than a third of the largest are ignored); when the union is wider than the window,
   the largest face alone (preferring the longest track). Without faces the last face target is held
   for ``hold_s`` seconds, then the centroid of salient motion
   (:class:`~vidlake.analyze.motion_saliency.MotionSaliency`) is used when strong enough, else the
   frame centre.
2. *Tube*: each subject box gives the interval of window positions that keep the whole box inside
   (with a margin when it fits); a box wider than the window centres the window on it.
3. *Smoothing*: per scene (cuts may jump), a locked camera when one position satisfies every interval
   of the scene; otherwise alternating moving averages (``smoothing_s`` window) and projections onto
   the tube, then a speed limit (``max_speed`` window widths per second) and a last
   projection, so the subject is never cut even if that needs a faster move.

The plan (:class:`CropPlan`) also writes itself as the ``sendcmd`` script that
:func:`vidlake.analyze.reframe.render_plan` renders with.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def parse_aspect(aspect: str | float) -> float:
    """``"9:16"``, ``"1:1"``, ``"4/5"`` or a number -> width / height."""
    if isinstance(aspect, (int, float)):
        value = float(aspect)
    else:
        sep = ":" if ":" in aspect else "/" if "/" in aspect else None
        if sep is None:
            value = float(aspect)
        else:
            num, den = aspect.split(sep, 1)
            value = float(num) / float(den)
    if not 0.05 < value < 20:
        raise ValueError(f"unreasonable aspect ratio {aspect!r}")
    return value


def crop_size(width: int, height: int, aspect: float) -> tuple[int, int]:
    """The largest even-sized window of ``aspect`` (width/height) inside ``width`` x ``height`` pixels."""
    if width / height > aspect:
        h = height - height % 2
        w = int(h * aspect) // 2 * 2
    else:
        w = width - width % 2
        h = int(w / aspect) // 2 * 2
    return max(2, w), max(2, h)


@dataclass
class CropPlan:
    """A crop window path: ``times`` (seconds) with the window's top-left ``xs``/``ys`` (pixels);
    the window is ``crop_width`` x ``crop_height`` inside a ``src_width`` x ``src_height`` source.
    ``sources`` says what each keyframe followed (``"face"``, ``"hold"``, ``"motion"``, ``"centre"``);
    ``cuts`` are scene-cut times (seconds) where the window may jump."""

    src_width: int
    src_height: int
    crop_width: int
    crop_height: int
    times: FloatArray
    xs: FloatArray
    ys: FloatArray
    sources: list[str] = field(default_factory=list)
    cuts: list[float] = field(default_factory=list)

    @property
    def axis(self) -> str:
        """``"x"`` when the window moves horizontally, else ``"y"``."""
        return "x" if self.crop_width < self.src_width else "y"

    def at(self, t: float | FloatArray) -> tuple[FloatArray, FloatArray]:
        """Window top-left (pixels) at time(s) ``t`` (seconds), interpolated as the render does."""
        ts = np.atleast_1d(np.asarray(t, dtype=np.float64))
        idx = np.clip(np.searchsorted(self.times, ts, side="right") - 1, 0, len(self.times) - 1)
        nxt = np.minimum(idx + 1, len(self.times) - 1)
        span = self.times[nxt] - self.times[idx]
        frac = np.where(span > 0, np.clip((ts - self.times[idx]) / np.where(span > 0, span, 1), 0, 1), 0.0)
        cut_next = np.array([self._cut_between(self.times[i], self.times[j]) for i, j in zip(idx, nxt, strict=True)])
        frac = np.where(cut_next, 0.0, frac)
        x = self.xs[idx] + (self.xs[nxt] - self.xs[idx]) * frac
        y = self.ys[idx] + (self.ys[nxt] - self.ys[idx]) * frac
        return x, y

    def _cut_between(self, a: float, b: float) -> bool:
        return any(a < c <= b for c in self.cuts)

    def sendcmd_script(self) -> str:
        """``sendcmd`` commands that move ``crop``'s x or y linearly between keyframes."""
        axis = self.axis
        pos = self.xs if axis == "x" else self.ys
        keep = _keyframes(self.times, pos, self.cuts)
        lines = []
        for k, i in enumerate(keep):
            t0, p0 = float(self.times[i]), float(pos[i])
            if k + 1 < len(keep) and not self._cut_between(t0, float(self.times[keep[k + 1]])):
                j = keep[k + 1]
                slope = (float(pos[j]) - p0) / max(1e-6, float(self.times[j]) - t0)
            else:
                slope = 0.0
            start = 0.0 if k == 0 else t0
            lines.append(f"{start:.4f} crop {axis} '{p0:.3f}+({slope:.5f})*(t-{t0:.4f})';")
        return "\n".join(lines) + "\n"

    def to_dict(self, max_points: int = 2000) -> dict[str, Any]:
        """JSON-ready summary (positions in pixels, times in seconds; at most ``max_points`` keyframes)."""
        stride = max(1, len(self.times) // max_points)
        return {
            "src_width": self.src_width, "src_height": self.src_height,
            "crop_width": self.crop_width, "crop_height": self.crop_height, "axis": self.axis,
            "cuts": [round(c, 3) for c in self.cuts],
            "path": [{"time": round(float(t), 3), "x": round(float(x), 1), "y": round(float(y), 1), "source": s}
                     for t, x, y, s in list(zip(self.times, self.xs, self.ys, self.sources, strict=True))[::stride]],
        }


def _keyframes(times: FloatArray, pos: FloatArray, cuts: Sequence[float], tol: float = 0.25) -> list[int]:
    """Indices to keep so linear interpolation stays within ``tol`` pixels (always keeps cut sides)."""
    n = len(times)
    if n <= 2:
        return list(range(n))
    keep = [0]
    anchor = 0
    for i in range(2, n):
        cut = any(times[i - 1] < c <= times[i] for c in cuts)
        seg_t = times[anchor:i + 1]
        seg_p = pos[anchor:i + 1]
        line = seg_p[0] + (seg_p[-1] - seg_p[0]) * (seg_t - seg_t[0]) / max(1e-9, seg_t[-1] - seg_t[0])
        if cut or np.max(np.abs(line - seg_p)) > tol:
            keep.append(i - 1)
            anchor = i - 1
            if cut:
                keep.append(i)
                anchor = i
    if keep[-1] != n - 1:
        keep.append(n - 1)
    return sorted(set(keep))


def _faces_at(faces_result: dict[str, Any], t: float, tol: float) -> list[dict[str, Any]]:
    """Face boxes at ``t`` seconds: tracked faces interpolated between their samples (extrapolated up to
    ``tol`` seconds past their ends), plus untracked detections of the nearest sample."""
    out: list[dict[str, Any]] = []
    for track in faces_result.get("tracks", []):
        if not track["start"] - tol <= t <= track["end"] + tol:
            continue
        ts = np.array([b["time"] for b in track["boxes"]], dtype=np.float64)
        boxes = np.array([b["box"] for b in track["boxes"]], dtype=np.float64)
        if len(ts) >= 2 and (t < ts[0] or t > ts[-1]):
            a, b = (0, 1) if t < ts[0] else (-2, -1)
            rate = (boxes[b] - boxes[a]) / max(1e-6, ts[b] - ts[a])
            box = boxes[a if t < ts[0] else b] + rate * (t - ts[a if t < ts[0] else b])
        else:
            box = np.array([np.interp(t, ts, boxes[:, k]) for k in range(4)])
        out.append({"box": [float(v) for v in box], "track": track["id"]})
    frames = faces_result.get("frames", [])
    if frames:
        times = np.array([f["time"] for f in frames], dtype=np.float64)
        j = int(np.argmin(np.abs(times - t)))
        if abs(times[j] - t) <= tol:
            out += [f for f in frames[j].get("faces", []) if f.get("track") is None]
    return out


def _subject(faces: list[dict[str, Any]], counts: dict[int, int], w: int, h: int, axis: str,
             window: float) -> tuple[float, float] | None:
    """Subject extent along the moving axis (pixels), or None without faces."""
    if not faces:
        return None
    i0, i1 = (0, 2) if axis == "x" else (1, 3)
    size = w if axis == "x" else h
    areas = [(f["box"][2] - f["box"][0]) * (f["box"][3] - f["box"][1]) for f in faces]
    big = max(areas)
    chosen = [f for f, a in zip(faces, areas, strict=True) if a >= big / 3]
    lo = min(f["box"][i0] for f in chosen) * size
    hi = max(f["box"][i1] for f in chosen) * size
    if hi - lo <= window:
        return lo, hi
    best = max(chosen, key=lambda f: (counts.get(int(f.get("track", -1) if f.get("track") is not None else -1), 0),
                                      (f["box"][2] - f["box"][0]) * (f["box"][3] - f["box"][1])))
    return best["box"][i0] * size, best["box"][i1] * size


def plan_crop(
    width: int,
    height: int,
    duration: float,
    aspect: str | float = "9:16",
    *,
    faces_result: dict[str, Any] | None = None,
    motion_result: dict[str, Any] | None = None,
    cuts: Sequence[float] = (),
    step_s: float = 0.1,
    smoothing_s: float = 0.8,
    max_speed: float = 0.6,
    hold_s: float = 1.0,
    margin: float = 0.15,
    min_motion: float = 0.004,
) -> CropPlan:
    """Plan the crop window for a ``width`` x ``height`` (pixels) source of ``duration`` seconds.

    ``faces_result``: a :class:`~vidlake.analyze.faces.FaceDetector` result; ``motion_result``: a
    :class:`~vidlake.analyze.motion_saliency.MotionSaliency` result; ``cuts``: scene-cut times
    (seconds). ``step_s``: keyframe grid (seconds); ``smoothing_s``: moving-average window (seconds);
    ``max_speed``: window speed limit in window widths (or heights) per second, exceeded only to keep a
    face whole; ``hold_s``: seconds a lost face keeps the window; ``margin``: extra room around the face
    box, as a fraction of its size; ``min_motion``: mean change (0..1) below which motion is ignored.
    """
    ratio = parse_aspect(aspect)
    cw, ch = crop_size(width, height, ratio)
    axis = "x" if cw < width else "y"
    window = float(cw if axis == "x" else ch)
    size = float(width if axis == "x" else height)
    room = size - window
    n = max(2, int(np.ceil(max(duration, step_s) / step_s)) + 1)
    times = np.arange(n, dtype=np.float64) * step_s
    times[-1] = min(times[-1], max(duration, step_s))

    counts = {int(t["id"]): int(t["count"]) for t in (faces_result or {}).get("tracks", [])}
    face_tol = 1.0 / float(faces_result.get("sample_fps", 5.0)) * 1.5 if faces_result else 0.0
    motion = (motion_result or {}).get("samples", [])
    motion_t = np.array([m["time"] for m in motion], dtype=np.float64)

    target = np.full(n, (room / 2) if room > 0 else 0.0)
    lo = np.zeros(n)
    hi = np.full(n, max(0.0, room))
    sources = ["centre"] * n
    last_face: tuple[float, float, float, float] | None = None  # time, target, lo, hi
    for i, t in enumerate(times):
        subject = None
        if faces_result:
            subject = _subject(_faces_at(faces_result, float(t), face_tol), counts, width, height, axis, window)
        if subject is not None:
            b0, b1 = subject
            pad = (b1 - b0) * margin
            if b1 - b0 + 2 * pad > window:
                pad = max(0.0, (window - (b1 - b0)) / 2)
            c = (b0 + b1) / 2
            if b1 - b0 > window:
                lo_i = hi_i = c - window / 2
            else:
                lo_i, hi_i = b1 + pad - window, b0 - pad
            tgt = c - window / 2
            last_face = (t, tgt, lo_i, hi_i)
            target[i], lo[i], hi[i], sources[i] = tgt, lo_i, hi_i, "face"
        elif last_face is not None and t - last_face[0] <= hold_s:
            target[i], sources[i] = last_face[1], "hold"
        elif len(motion_t):
            j = int(np.argmin(np.abs(motion_t - t)))
            m = motion[j]
            if abs(motion_t[j] - t) <= 0.5 and m["strength"] >= min_motion:
                target[i] = (m["x"] if axis == "x" else m["y"]) * size - window / 2
                sources[i] = "motion"
    lo = np.clip(lo, 0.0, max(0.0, room))
    hi = np.clip(hi, 0.0, max(0.0, room))
    hi = np.maximum(hi, lo)
    target = np.clip(target, 0.0, max(0.0, room))

    pos = np.empty(n)
    seg_bounds = _segments(times, cuts)
    for a, b in seg_bounds:
        pos[a:b] = _smooth_segment(target[a:b], lo[a:b], hi[a:b], step_s, smoothing_s,
                                   max_speed * window)
    xs = pos if axis == "x" else np.full(n, float((width - cw) // 2))
    ys = pos if axis == "y" else np.full(n, float((height - ch) // 2))
    return CropPlan(width, height, cw, ch, times, xs, ys, sources, [float(c) for c in cuts if 0 < c < duration])


def _segments(times: FloatArray, cuts: Sequence[float]) -> list[tuple[int, int]]:
    bounds = [0]
    for c in sorted(cuts):
        i = int(np.searchsorted(times, c, side="left"))
        if bounds[-1] < i < len(times):
            bounds.append(i)
    bounds.append(len(times))
    return list(itertools.pairwise(bounds))


def _moving_average(x: FloatArray, k: int) -> FloatArray:
    if k <= 1 or len(x) < 2:
        return x.copy()
    padded = np.pad(x, (k // 2, k - 1 - k // 2), mode="edge")
    out: FloatArray = np.convolve(padded, np.ones(k) / k, mode="valid")
    return out


def _smooth_segment(target: FloatArray, lo: FloatArray, hi: FloatArray, step_s: float, smoothing_s: float,
                    max_speed_px: float) -> FloatArray:
    """A smooth path inside ``[lo, hi]`` near ``target`` (pixels), speed limited where the tube allows."""
    if len(target) == 0:
        return target
    if lo.max() <= hi.min():  # one position suits the whole scene: lock the camera
        return np.full(len(target), float(np.clip(np.median(target), lo.max(), hi.min())))
    k = max(1, round(smoothing_s / step_s))
    x = np.clip(target, lo, hi)
    for _ in range(40):
        x = np.clip(_moving_average(x, k), lo, hi)
    limit = max_speed_px * step_s
    for _ in range(3):
        for i in range(1, len(x)):  # forward then backward speed limit, then back into the tube
            x[i] = np.clip(x[i], x[i - 1] - limit, x[i - 1] + limit)
        for i in range(len(x) - 2, -1, -1):
            x[i] = np.clip(x[i], x[i + 1] - limit, x[i + 1] + limit)
        x = np.clip(x, lo, hi)
    out: FloatArray = _moving_average(x, 3)
    return np.clip(out, lo, hi)
