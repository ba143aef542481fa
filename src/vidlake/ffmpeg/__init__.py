"""The only code in Vidlake that starts ffmpeg (and any other child process of the media flows).

Build a command with :class:`FFmpegCommand` and :class:`MediaInput` (hardened inputs), run it with
:func:`run` (progress, time limit, cancel, memory limit, typed errors); stream into or out of a child
with :class:`~vidlake.ffmpeg.process.StreamingProcess`. Every start goes through
:mod:`vidlake.ffmpeg.process` (own process group, memory limit, killed with its parent).
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
