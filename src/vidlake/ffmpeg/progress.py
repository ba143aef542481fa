"""Parsing ffmpeg's ``-progress`` key=value stream (pure, no I/O)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass


@dataclass
class Progress:
    """The latest progress block. ``out_time_s`` is seconds of output written so far; ``percent``
    is 0-100 when the input duration is known, else ``None``; ``speed`` is a multiple of real time."""

    out_time_s: float = 0.0
    percent: float | None = None
    speed: float | None = None
    frame: int | None = None
    ended: bool = False


class ProgressParser:
    """Feed lines of ``-progress pipe:1`` output; :meth:`feed` returns a :class:`Progress` at the end
    of each block (the ``progress=continue|end`` line), else ``None``.

    ``duration_s``: the expected output duration in seconds, for the percentage.
    """

    def __init__(self, duration_s: float | None = None) -> None:
        self.duration_s = duration_s if duration_s and duration_s > 0 else None
        self._current = Progress()

    def feed(self, line: str) -> Progress | None:
        key, sep, value = line.strip().partition("=")
        if not sep:
            return None
        value = value.strip()
        cur = self._current
        if key in ("out_time_us", "out_time_ms"):  # both are microseconds in ffmpeg
            try:
                us = int(value)
            except ValueError:  # "N/A" before the first frame
                return None
            cur.out_time_s = max(cur.out_time_s, us / 1_000_000)
        elif key == "speed":
            try:
                cur.speed = float(value.rstrip("x"))
            except ValueError:
                cur.speed = None
        elif key == "frame":
            with contextlib.suppress(ValueError):
                cur.frame = int(value)
        elif key == "progress":
            cur.ended = value == "end"
            if self.duration_s:
                pct = 100.0 if cur.ended else 100.0 * cur.out_time_s / self.duration_s
                cur.percent = max(0.0, min(100.0, pct))
            return Progress(cur.out_time_s, cur.percent, cur.speed, cur.frame, cur.ended)
        return None
