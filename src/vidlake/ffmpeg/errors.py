"""Errors raised when ffmpeg runs.

::

    FFmpegError (RuntimeError)          ffmpeg exited non-zero; carries the stderr tail
    ├── FFmpegTimeoutError (+TimeoutError)   killed after its time limit
    └── FFmpegCancelledError                 killed because the caller cancelled
"""

from __future__ import annotations

from collections.abc import Sequence


class FFmpegError(RuntimeError):
    """ffmpeg failed. ``stderr_tail`` holds the last lines it wrote, ``returncode`` its exit status."""

    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str] = (),
        returncode: int | None = None,
        stderr_tail: str = "",
    ) -> None:
        super().__init__(message)
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr_tail = stderr_tail

    def __str__(self) -> str:
        base = super().__str__()
        if self.stderr_tail:
            return f"{base}\n--- ffmpeg stderr (tail) ---\n{self.stderr_tail}"
        return base


class FFmpegTimeoutError(FFmpegError, TimeoutError):
    """ffmpeg ran longer than its time limit and its process group was killed."""


class FFmpegCancelledError(FFmpegError):
    """The caller's ``cancel_check`` returned true and ffmpeg's process group was killed."""
