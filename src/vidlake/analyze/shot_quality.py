"""Shot quality: how good each moment of a video looks (focus, exposure, contrast, motion).

:class:`ShotQualityMeter` samples about ``sample_fps`` frames per second (by frame time: a frame
closer than ``1 / sample_fps`` seconds to the previous sample is skipped) and measures each sample on
its luma plane, first resized to a fixed short side of :data:`MEASURE_SIDE` pixels so that the
numbers do not depend on the video's resolution. Larger frames are reduced by nearest-pixel sampling,
the way the frame source decimates the decoded planes, so that every source resolution goes through
the same kind of reduction (an averaging resize would soften 480p, which arrives at 240 px, against
720p and 1080p, decimated to 180 px: 0.46 against 1.1..1.6 on the same ``testsrc2`` pictures; with
nearest-pixel sampling 1.35). Sources under 360p arrive smaller and are upscaled, and measure softer.
Luma is on a 0..1 scale with the video range (16..235) mapped to 0..1, as in
:mod:`vidlake.analyze.quality`.

Per sample (parallel lists, numbers rounded to 4 digits)::

    times:     presentation time of the sample (seconds)
    sharpness: variance of the 3x3 Laplacian of the 0..1 luma at MEASURE_SIDE, x 100 (focus measure;
               about 0.5..10 for sharp footage, < 0.1 for clearly out of focus, 0 for flat colour)
    luma:      mean luma (0..1)
    dark:      share of pixels with luma < 0.06 (0..1, crushed shadows)
    bright:    share of pixels with luma > 0.96 (0..1, blown highlights)
    motion:    mean absolute luma difference (0..1) between the sample and the analysed frame nearest
               to MOTION_LAG seconds before it, per second of time between the two (1/s); samples
               with no earlier frame (the first) repeat the next sample's value
    contrast:  standard deviation of luma (0..1)
    centre:    share of the picture's detail (squared Laplacian) inside its central quarter (the middle half
               of the width and of the height): about 0.25 for detail spread evenly, near 1 for a
               detailed subject in the middle of a plain background (a product close-up), near 0 for
               detail only at the edges; 0.25 for a flat picture
    phash:     the sample's 64-bit perceptual hash (16 hex digits; :func:`vidlake.analyze.fingerprint.phash`),
               to find the same picture in two shots (near-duplicates)

Motion is measured over a fixed time lag, not against the previous sample: frame differences grow
far less than linearly with the time between frames (textures and edges saturate once they move
more than their own width), so dividing a difference over 1 / sample_fps by that time would still
depend on ``sample_fps`` (measured on ``testsrc2``: 0.027, 0.046, 0.077 per second at 2, 4 and 8
samples per second). With the fixed lag it depends on the content only (and, a little, on how far
apart the decoded frames are: ``fast`` decoding keeps only I/P frames).

The Laplacian ignores a brightness offset but scales with contrast squared, so ``sharpness`` is
comparable across files of similar contrast only; the decoded frames are decimated (not filtered)
from the source, which keeps some aliased detail, so absolute values vary a little with the source
resolution. Within one file the values are consistent: :func:`blurred_intervals` compares samples
with the file's own median, and :func:`summarize_interval` condenses a time range (e.g. one shot).
"""

from __future__ import annotations

import statistics
from collections import deque
from typing import Any, ClassVar

import cv2
import numpy as np
import numpy.typing as npt

from vidlake.analyze.base import Analyser
from vidlake.analyze.fingerprint import phash
from vidlake.analyze.frames import Frame

#: Short side (pixels) of the luma image every sample is measured on.
MEASURE_SIDE = 180
#: Luma (0..1) under which a pixel counts as dark, over which it counts as bright.
DARK_LUMA = 0.06
BRIGHT_LUMA = 0.96
#: ``sharpness`` is the Laplacian variance times this factor (keeps useful values near 0.1..10).
SHARPNESS_SCALE = 100.0
#: Time (seconds) over which ``motion`` compares pictures.
MOTION_LAG = 0.2
#: Frame times within this many seconds of the sampling period count as far enough apart.
_TIME_SLACK = 1e-3
_FIELDS = ("sharpness", "luma", "dark", "bright", "motion", "contrast", "centre")

Luma = npt.NDArray[np.float32]


def measure_luma(luma: npt.NDArray[np.uint8], *, full_range: bool = False) -> Luma:
    """The luma plane resized to a short side of :data:`MEASURE_SIDE` pixels (nearest pixel down,
    bilinear up), as 0..1 float32."""
    h, w = luma.shape
    scale = MEASURE_SIDE / max(1, min(h, w))
    plane: npt.NDArray[np.uint8] = luma
    if scale != 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        plane = np.asarray(cv2.resize(luma, size, interpolation=cv2.INTER_NEAREST if scale < 1 else cv2.INTER_LINEAR),
                           np.uint8)
    y = plane.astype(np.float32)
    out: Luma = y * np.float32(1 / 255) if full_range else (y - np.float32(16)) * np.float32(1 / 219)
    return out


def sharpness(y: Luma) -> float:
    """Focus measure of a 0..1 luma image: variance of its 3x3 Laplacian x :data:`SHARPNESS_SCALE`."""
    return sharpness_and_centre(y)[0]


def sharpness_and_centre(y: Luma) -> tuple[float, float]:
    """:func:`sharpness`, and the share of the Laplacian's energy inside the central quarter of the image
    (0..1; 0.25 when there is no detail at all)."""
    lap = cv2.Laplacian(y, cv2.CV_32F, ksize=1)
    _, std = cv2.meanStdDev(lap)
    energy = lap * lap
    total = float(energy.sum())
    h, w = energy.shape
    inner = float(energy[h // 4:h - h // 4, w // 4:w - w // 4].sum())
    return float(std[0, 0]) ** 2 * SHARPNESS_SCALE, (inner / total if total > 1e-9 else 0.25)


class ShotQualityMeter(Analyser):
    """Per-sample sharpness, exposure, contrast and motion, ``sample_fps`` samples per second."""

    name: ClassVar[str] = "shot_quality"
    #: Chosen with the frame source's even decimation steps so that no common source arrives under
    #: MEASURE_SIDE (no upscaling, which would read as blur) while 720p and 1080p still arrive at
    #: 180 px: 360p, 720p, 1080p -> 180; 480p -> 240; 540p -> 270; 576p -> 288; 1440p -> 240; 4K -> 216.
    #: 240 would decode 1080p at 270 px, making every analyser of the run work on 2.25x the pixels.
    short_side: ClassVar[int] = 232

    def __init__(self, *, sample_fps: float = 4.0) -> None:
        if not sample_fps > 0:
            raise ValueError("sample_fps must be > 0")
        self.sample_fps = float(sample_fps)
        self.period = 1.0 / self.sample_fps
        self.series: dict[str, list[float]] = {k: [] for k in ("times", *_FIELDS)}
        self.hashes: list[str] = []
        self.sampled = False
        self.last_sample = 0.0
        #: Recent frames (time, raw luma) to compare a sample with, about MOTION_LAG back.
        self.recent: deque[tuple[float, npt.NDArray[np.uint8]]] = deque()

    def process(self, frame: Frame) -> None:
        """Measure the frame when it is at least one sampling period after the previous sample."""
        t = frame.time
        recent = self.recent
        while len(recent) > 1 and recent[1][0] <= t - MOTION_LAG:
            recent.popleft()  # keep one frame at or before t - MOTION_LAG, and all after it
        if not self.sampled or t - self.last_sample >= self.period - _TIME_SLACK:
            self._measure(frame, recent)
        recent.append((t, frame.luma))

    def _measure(self, frame: Frame, recent: deque[tuple[float, npt.NDArray[np.uint8]]]) -> None:
        t = frame.time
        y = measure_luma(frame.luma, full_range=frame.full_range)
        mean, std = cv2.meanStdDev(y)
        motion = -1.0  # filled in by result(): no earlier frame (the first sample, a size change)
        if recent:
            then, luma = min(recent, key=lambda item: abs(t - MOTION_LAG - item[0]))
            if t > then and luma.shape == frame.luma.shape:
                before = measure_luma(luma, full_range=frame.full_range)
                motion = float(cv2.norm(y, before, cv2.NORM_L1)) / y.size / (t - then)
        s = self.series
        s["times"].append(t)
        self.hashes.append(f"{phash(frame.luma):016x}")
        sharp, centre = sharpness_and_centre(y)
        s["sharpness"].append(sharp)
        s["centre"].append(centre)
        s["luma"].append(min(1.0, max(0.0, float(mean[0, 0]))))
        s["dark"].append(float(np.count_nonzero(y < DARK_LUMA)) / y.size)
        s["bright"].append(float(np.count_nonzero(y > BRIGHT_LUMA)) / y.size)
        s["motion"].append(motion)
        s["contrast"].append(float(std[0, 0]))
        self.sampled, self.last_sample = True, t

    def result(self) -> dict[str, Any]:
        """The per-sample lists (see the module docstring for fields and units)."""
        motion = list(self.series["motion"])
        for i, m in enumerate(motion):
            if m < 0:  # no previous sample to compare with: borrow the next measured value
                later = [x for x in motion[i + 1:] if x >= 0]
                motion[i] = later[0] if later else 0.0
        out: dict[str, Any] = {"sample_fps": self.sample_fps}
        for key, values in self.series.items():
            out[key] = [round(v, 4) for v in (motion if key == "motion" else values)]
        out["phash"] = list(self.hashes)
        return out


def _window(result: dict[str, Any], start: float, end: float) -> list[int]:
    return [i for i, t in enumerate(result.get("times") or []) if start <= t < end]


def summarize_interval(result: dict[str, Any], start: float, end: float) -> dict[str, float] | None:
    """Condense the samples with ``start <= time < end`` (seconds) of a ``shot_quality`` result.

    Returns the medians of ``sharpness``, ``luma``, ``contrast``, ``motion`` and ``centre`` (absent from
    results stored before it was measured) and the largest ``dark`` and ``bright`` shares (units as in the
    result), plus ``samples`` (count); ``None`` when no sample falls in the interval.
    """
    idx = _window(result, start, end)
    if not idx:
        return None
    out: dict[str, float] = {}
    for key in ("sharpness", "luma", "contrast", "motion", "centre"):
        if key in result:
            out[key] = round(statistics.median(result[key][i] for i in idx), 4)
    for key in ("dark", "bright"):
        out[key] = round(max(result[key][i] for i in idx), 4)
    out["samples"] = float(len(idx))
    return out


def blurred_intervals(result: dict[str, Any], ratio: float = 0.35, min_s: float = 0.5) -> list[dict[str, float]]:
    """Runs of samples whose ``sharpness`` is below ``ratio`` x the file's median sharpness, lasting at
    least ``min_s`` seconds: ``[{"start": s, "end": s, "sharpness": median in the run}, ...]``.

    A run's boundaries lie halfway between its outer blurred samples and the sharp samples around it
    (precision: half the time between two samples); a run at the start of the file starts at the first
    sample, one at the end ends one sampling period after the last sample.

    The test is relative to the file itself, so a file that is blurred from start to end (or for more
    than half its samples, which moves the median) is *not* flagged: callers compare ``sharpness``
    across inputs for that. Flat pictures (black, a title card on plain colour) measure low too:
    callers may skip runs that the ``black`` analysis or a low ``contrast`` already explains.
    """
    times: list[float] = list(result.get("times") or [])
    values: list[float] = list(result.get("sharpness") or [])
    if not times:
        return []
    limit = ratio * statistics.median(values)
    period = 1.0 / float(result.get("sample_fps") or 4.0)
    runs: list[dict[str, float]] = []
    first: int | None = None
    for i in range(len(times) + 1):
        blurred = i < len(times) and values[i] < limit
        if blurred and first is None:
            first = i
        elif not blurred and first is not None:
            start = (times[first - 1] + times[first]) / 2 if first > 0 else times[0]
            end = (times[i - 1] + times[i]) / 2 if i < len(times) else times[-1] + period
            if end - start >= min_s:
                runs.append({"start": round(start, 3), "end": round(end, 3),
                             "sharpness": round(statistics.median(values[first:i]), 4)})
            first = None
    return runs


def window_hashes(result: dict[str, Any], start: float, end: float) -> list[int]:
    """The perceptual hashes of the samples with ``start <= time < end`` (seconds); empty for results
    stored before hashes were kept."""
    hashes = result.get("phash") or []
    return [int(hashes[i], 16) for i in _window(result, start, end) if i < len(hashes)]
