"""The one place where the editing package starts ffmpeg (swap point for the shared runner).

It delegates to :func:`vidlake.ffmpeg.run` (progress, time limit, process-group kill, typed errors).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from vidlake.ffmpeg import run


def run_ffmpeg(
    argv: Sequence[str],
    *,
    duration_s: float,
    timeout_s: float,
    on_progress: Callable[[float], None] | None = None,
    cancel_check: Callable[[], bool] | None = None,
) -> None:
    """Run ffmpeg with ``argv`` (without the executable). ``duration_s``: expected output seconds
    (for the 0-100 progress); ``timeout_s``: wall-clock limit in seconds. Raises
    :class:`vidlake.ffmpeg.FFmpegError` (or its timeout/cancel subclasses) on failure."""
    run(list(argv), timeout_s=timeout_s, on_progress=on_progress, duration_s=duration_s,
        cancel_check=cancel_check)
