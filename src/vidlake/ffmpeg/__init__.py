"""The only code in Vidlake that starts ffmpeg (and any other child process of the media flows).

Build a command with :class:`FFmpegCommand` and :class:`MediaInput` (hardened inputs), run it with
:func:`run` (progress, time limit, cancel, memory limit, typed errors);
:func:`run_capture` for text output (``-version``); stream into or out of a child
with :class:`~vidlake.ffmpeg.process.StreamingProcess`. Every start goes through
:mod:`vidlake.ffmpeg.process` (own process group, memory limit, killed with its parent).
"""

from vidlake.ffmpeg.binary import FFmpegNotFoundError, ffmpeg_exe
from vidlake.ffmpeg.command import FFmpegCommand, Output
from vidlake.ffmpeg.errors import FFmpegCancelledError, FFmpegError, FFmpegTimeoutError
from vidlake.ffmpeg.inputs import (
    DEMUXER_ALLOWLIST,
    FORMAT_WHITELIST,
    PYAV_OPTIONS,
    MediaInput,
    UnsupportedContainerError,
    demuxer_for,
    demuxer_for_file,
)
from vidlake.ffmpeg.progress import Progress, ProgressParser
from vidlake.ffmpeg.runner import default_memory_limit, run, run_capture, set_default_memory_limit

__all__ = [
    "DEMUXER_ALLOWLIST",
    "FORMAT_WHITELIST",
    "PYAV_OPTIONS",
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
    "default_memory_limit",
    "demuxer_for",
    "demuxer_for_file",
    "ffmpeg_exe",
    "run",
    "run_capture",
    "set_default_memory_limit",
]
