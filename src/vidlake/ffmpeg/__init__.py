"""The only code in Vidlake that starts ffmpeg.

Build a command with :class:`FFmpegCommand` and :class:`MediaInput` (hardened inputs), run it with
:func:`run` (progress, time limit, cancel, memory limit, typed errors).
"""

from vidlake.ffmpeg.binary import FFmpegNotFoundError, ffmpeg_exe
from vidlake.ffmpeg.command import FFmpegCommand, Output
from vidlake.ffmpeg.errors import FFmpegCancelledError, FFmpegError, FFmpegTimeoutError
from vidlake.ffmpeg.inputs import (
    DEMUXER_ALLOWLIST,
    FORMAT_WHITELIST,
    MediaInput,
    UnsupportedContainerError,
    demuxer_for,
)
from vidlake.ffmpeg.progress import Progress, ProgressParser
from vidlake.ffmpeg.runner import run

__all__ = [
    "DEMUXER_ALLOWLIST",
    "FORMAT_WHITELIST",
    "FFmpegCancelledError",
    "FFmpegCommand",
    "FFmpegError",
    "FFmpegNotFoundError",
    "FFmpegTimeoutError",
    "MediaInput",
    "Output",
    "Progress",
    "ProgressParser",
    "UnsupportedContainerError",
    "demuxer_for",
    "ffmpeg_exe",
    "run",
]
