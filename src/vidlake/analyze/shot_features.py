"""Per-frame features for shot boundary detection, and the distances between them.

Each analysed frame is reduced to:

- a histogram (``HIST_BINS`` floats): 32 luma bins, an 8x8 joint chroma (Cb, Cr) histogram over the
  64..191 range where natural chroma sits, and 16 log-scaled bins of horizontal luma steps (texture);
  each part sums to 1;
- a thumbnail: the YUV frame block-averaged to about ``THUMB_W`` columns (rows follow the aspect);
- its mean luma and the share of lit pixels (luma above ``BRIGHT_LEVEL``, to the 8-level bin), both
  0..1 with the video range mapped to 0..1;
- ``motion``: mean absolute luma difference with the previous frame (0..1);
- ``edges``: mean absolute horizontal luma step (0..1), a contrast measure that dips mid-dissolve.

About 2.5 KiB is kept per analysed frame (the uint8 thumbnail is most of it). Distances are in
0..1: :func:`hist_distance` is half the
L1 distance averaged over the luma and chroma histograms; :func:`thumb_distance` is the mean absolute
thumbnail difference divided by 255.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

LUMA_BINS = 32
CHROMA_BINS = 8
TEXTURE_BINS = 16
HIST_BINS = LUMA_BINS + CHROMA_BINS * CHROMA_BINS + TEXTURE_BINS
#: |horizontal luma step| (0..255) -> texture bin, on a log scale.
_TEXTURE_LUT = np.minimum(TEXTURE_BINS - 1, (2.0 * np.log2(1.0 + np.arange(256))).astype(np.int64))
THUMB_W = 32
BRIGHT_LEVEL = 0.25  # luma (0..1) above which a pixel counts as "lit" for dark-frame tests

F32 = npt.NDArray[np.float32]


_LARGE = 40_000  # pixels: bigger frames are measured on every second row and column
BATCH = 64  # frames whose features are computed together (one numpy call per feature per batch)

U8 = npt.NDArray[np.uint8]


def _measure_plane(frames: U8) -> U8:
    """``(b, h, w, 3)`` frames, every second row and column when large."""
    return frames[:, ::2, ::2] if frames.shape[1] * frames.shape[2] > _LARGE else frames


def histograms(frames: U8) -> F32:
    """``(b, HIST_BINS)`` histograms of ``(b, h, w, 3)`` YUV frames: luma, joint chroma and texture
    (log-scaled horizontal luma steps) parts, each normalised to sum 1."""
    return _batch(frames, full_range=False)[0]


def thumbnails(frames: U8) -> U8:
    """Block-average ``(b, h, w, 3)`` frames to ``(b, rows, cols, 3)``: square blocks of
    ``w // THUMB_W`` pixels, so ``cols`` is ``THUMB_W`` or a little more and the whole frame but a
    margin under one block is covered."""
    b, h, w, c = frames.shape
    bw = bh = max(1, w // THUMB_W)
    cols, rows = w // bw, max(1, h // bh)
    bh = min(bh, h)
    n = bh * bw
    # Rows of each block first (whole rows are contiguous), in place; then the columns, read as a
    # (cols, bw) view of each summed row. Several times faster than reshape().mean() on small blocks.
    blocks = frames[:, : rows * bh, : cols * bw].reshape(b, rows, bh, cols * bw, c)
    wide = np.uint16 if n * 255 <= np.iinfo(np.uint16).max else np.uint32
    acc: npt.NDArray[np.unsignedinteger[Any]] = blocks[:, :, 0].astype(wide)
    for k in range(1, bh):
        acc += blocks[:, :, k]
    per_col = acc.reshape(b, rows, cols, bw, c)
    tot: npt.NDArray[np.unsignedinteger[Any]] = per_col[:, :, :, 0].copy()
    for k in range(1, bw):
        tot += per_col[:, :, :, k]
    tot += n // 2
    tot //= n
    out: U8 = tot.astype(np.uint8)
    return out


_TEXTURE_LUT16 = (_TEXTURE_LUT + LUMA_BINS + CHROMA_BINS**2).astype(np.uint16)


def _batch(frames: U8, full_range: bool) -> tuple[F32, F32, F32, F32, npt.NDArray[np.int16]]:
    """(histograms, mean luma 0..1, lit share, edges 0..1, measured luma planes) of a batch."""
    sub = _measure_plane(frames)
    b = sub.shape[0]
    y = sub[..., 0]
    yi = y.astype(np.int16)
    steps = yi[:, :, 1:] - yi[:, :, :-1]
    np.abs(steps, out=steps)
    p, q = y.shape[1] * y.shape[2], steps.shape[1] * steps.shape[2]
    # One bincount for the whole batch: bin + HIST_BINS * frame, as uint16 (b <= BATCH).
    bins = np.empty((b, 2 * p + q), np.uint16)
    np.right_shift(y, 3, out=bins[:, :p].reshape(y.shape), casting="unsafe")
    # Joint chroma bin: Cb and Cr clipped to 64..191, 8 levels each (in place, in uint8).
    cb = np.clip(sub[..., 1], 64, 191)
    cb -= 64
    cb >>= 4
    cb <<= 3
    cr = np.clip(sub[..., 2], 64, 191)
    cr -= 64
    cr >>= 4
    cb += cr
    cb += LUMA_BINS
    bins[:, p : 2 * p] = cb.reshape(b, p)
    np.take(_TEXTURE_LUT16, steps, out=bins[:, 2 * p :].reshape(steps.shape))
    bins += (np.arange(b, dtype=np.uint16) * np.uint16(HIST_BINS))[:, None]
    hists = np.bincount(bins.ravel(), minlength=b * HIST_BINS).reshape(b, HIST_BINS).astype(np.float32)
    hists[:, : HIST_BINS - TEXTURE_BINS] /= np.float32(p)
    hists[:, HIST_BINS - TEXTURE_BINS :] /= np.float32(max(1, q))
    black, scale = (0.0, 255.0) if full_range else (16.0, 219.0)
    # Integer sums are exact, so sum / count equals the float mean bit for bit, at a fraction of its cost.
    luma = ((yi.reshape(b, -1).sum(axis=1, dtype=np.int64) / p - black) / scale).astype(np.float32)
    lit_bin = int(black + BRIGHT_LEVEL * scale) >> 3
    lit = hists[:, lit_bin + 1 : LUMA_BINS].sum(axis=1)
    edges = ((steps.reshape(b, -1).sum(axis=1, dtype=np.int64) / q) / 255.0).astype(np.float32) if q \
        else np.zeros(b, np.float32)
    return hists, luma, lit, edges, yi


@dataclass
class FeatureLog:
    """Features of every analysed frame, in presentation order. Frames are buffered and measured
    ``BATCH`` at a time (the buffer holds copies of the small frames, about 20 KiB each)."""

    times: list[float] = field(default_factory=list)
    parts: list[dict[str, np.ndarray]] = field(default_factory=list)
    _pending: list[U8] = field(default_factory=list)
    _pending_range: bool = False
    _previous: npt.NDArray[np.int16] | None = None

    def add(self, time: float, yuv: U8, full_range: bool) -> None:
        """Append one frame shown at ``time`` seconds."""
        if self._pending and (yuv.shape != self._pending[0].shape or full_range != self._pending_range):
            self._flush()
        self.times.append(time)
        self._pending.append(yuv)
        self._pending_range = full_range
        if len(self._pending) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        frames = np.stack(self._pending)
        self._pending = []
        hists, luma, lit, edges, yi = _batch(frames, self._pending_range)
        prev = self._previous
        motion = np.zeros(len(frames), np.float32)
        if len(frames) > 1:
            motion[1:] = np.abs(yi[1:] - yi[:-1]).reshape(len(frames) - 1, -1).mean(axis=1) / 255.0
        if prev is not None and prev.shape == yi.shape[1:]:
            motion[0] = float(np.abs(yi[0] - prev).mean()) / 255.0
        self._previous = yi[-1].copy()
        thumbs = thumbnails(frames)
        self.parts.append({"hists": hists, "thumbs": thumbs.reshape(len(frames), -1), "luma": luma,
                           "lit": lit, "motion": motion, "edges": edges})

    def __len__(self) -> int:
        return len(self.times)

    def arrays(self) -> Features:
        """Measure any buffered frames and freeze the log into stacked numpy arrays."""
        self._flush()
        widths = {p["thumbs"].shape[1] for p in self.parts}
        width = max(widths, default=THUMB_W * 3)

        def cat(key: str, dtype: type, cols: int | None = None) -> np.ndarray:
            if not self.parts:
                return np.zeros((0, cols) if cols else 0, dtype)
            chunks = [p[key] for p in self.parts]
            if key == "thumbs" and len(widths) > 1:  # resolution changed mid-stream: pad to one width
                chunks = [np.pad(c, ((0, 0), (0, width - c.shape[1]))) for c in chunks]
            return np.concatenate(chunks).astype(dtype)

        return Features(
            times=np.asarray(self.times, np.float64),
            hists=cat("hists", np.float32, HIST_BINS),
            thumbs=cat("thumbs", np.uint8, width),
            luma=cat("luma", np.float32),
            lit=cat("lit", np.float32),
            motion=cat("motion", np.float32),
            edges=cat("edges", np.float32),
        )


@dataclass(frozen=True)
class Features:
    """Stacked features: ``times`` (n,) seconds, ``hists`` (n, HIST_BINS), ``thumbs`` (n, k) uint8,
    ``luma``, ``lit``, ``motion`` and ``edges`` (n,) 0..1."""

    times: npt.NDArray[np.float64]
    hists: F32
    thumbs: U8
    luma: F32
    lit: F32
    motion: F32
    edges: F32

    def __len__(self) -> int:
        return int(self.times.shape[0])

    def hist_distance(self, a: int, b: int) -> float:
        """Histogram distance between frames ``a`` and ``b`` (0..1)."""
        return float(hist_distance(self.hists[a], self.hists[b]))

    def distance(self, a: int, b: int) -> float:
        """Combined distance (mean of histogram and thumbnail distances, 0..1)."""
        return 0.5 * (self.hist_distance(a, b) + float(thumb_distance(self.thumbs[a], self.thumbs[b])))

    def lagged(self, lag: int) -> tuple[F32, F32]:
        """(histogram, thumbnail) distances between frame ``i`` and ``i - lag``, for ``i >= lag``."""
        if lag >= len(self):
            empty = np.zeros(0, np.float32)
            return empty, empty
        h = hist_distance(self.hists[lag:], self.hists[:-lag])
        t = thumb_distance(self.thumbs[lag:], self.thumbs[:-lag])
        return h, t


def hist_distance(a: F32, b: F32) -> F32:
    """Half L1 distance averaged over the luma and chroma parts (0..1); vectorised over rows."""
    d = np.abs(a - b)
    c = LUMA_BINS + CHROMA_BINS * CHROMA_BINS
    out: F32 = (d[..., :LUMA_BINS].sum(axis=-1) + d[..., LUMA_BINS:c].sum(axis=-1)
                + d[..., c:].sum(axis=-1)) / np.float32(6.0)
    return out


def thumb_distance(a: U8, b: U8) -> F32:
    """Mean absolute difference of uint8 thumbnails divided by 255 (0..1); vectorised over rows."""
    # |a - b| in uint8 (max - min) and an exact integer sum: the float mean, bit for bit, faster.
    diff = np.maximum(a, b)
    diff -= np.minimum(a, b)
    k = max(1, diff.shape[-1])
    out: F32 = ((diff.sum(axis=-1, dtype=np.int64) / k) / 255.0).astype(np.float32)
    return out
