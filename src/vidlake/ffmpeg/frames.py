"""Raw-frame pipes: ffmpeg decoding to numpy frames, and numpy frames encoded by ffmpeg.

:func:`open_decoder` runs an :class:`~vidlake.ffmpeg.command.FFmpegCommand` whose one output is
``rawvideo`` on ``pipe:1`` and yields ``(height, width, 3)`` uint8 frames; :func:`open_encoder` runs a
command whose input 0 is a :class:`RawVideoPipe` on ``pipe:0`` and takes frames through
:meth:`FrameEncoder.write`. Both apply the same limits as :func:`vidlake.ffmpeg.run`: the memory limit,
a wall-clock limit and a ``cancel_check`` polled about every 0.1 s by a watchdog thread,
the whole process group killed on expiry, cancel or close, and typed errors carrying the stderr tail.

Buffers are bounded: the OS pipe (64 KiB) plus one frame on our side per pipe; a producer faster
than its consumer blocks in ``write``/``read``.

Processes start through :func:`vidlake.ffmpeg.process.popen` (process group, memory limit, death
with the parent). This is the thread-side twin of :class:`~vidlake.ffmpeg.process.StreamingProcess`
(asyncio): the effects pipeline runs in job threads, where blocking pipe I/O is the simple choice.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import IO

import numpy as np
import numpy.typing as npt

from vidlake.ffmpeg.binary import ffmpeg_exe
from vidlake.ffmpeg.command import FFmpegCommand
from vidlake.ffmpeg.errors import FFmpegCancelledError, FFmpegError, FFmpegTimeoutError
from vidlake.ffmpeg.process import kill_popen, popen
from vidlake.ffmpeg.runner import STDERR_TAIL_LINES

_POLL_S = 0.1

Frame = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class RawVideoPipe:
    """Raw frames arriving on ffmpeg's stdin: ``width`` x ``height`` pixels, ``fps`` frames per second,
    ``pix_fmt`` (``rgb24``: 3 bytes per pixel)."""

    width: int
    height: int
    fps: float
    pix_fmt: str = "rgb24"

    def args(self) -> list[str]:
        """The input options, ending with ``-i pipe:0``."""
        return ["-f", "rawvideo", "-pix_fmt", self.pix_fmt, "-s", f"{self.width}x{self.height}",
                "-r", f"{self.fps:.6g}", "-i", "pipe:0"]


class _Process:
    """One ffmpeg process with a watchdog (time limit, cancel) and an stderr tail."""

    def __init__(self, argv: list[str], *, stdin: int, stdout: int, timeout_s: float,
                 cancel_check: Callable[[], bool] | None, memory_limit_bytes: int | None) -> None:
        self.argv = argv
        self.timeout_s = timeout_s
        self.tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self.failure: type[FFmpegError] | None = None
        self._done = threading.Event()
        try:
            self.proc = popen(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                              memory_limit_bytes=memory_limit_bytes)
        except OSError as exc:
            raise FFmpegError(f"ffmpeg could not start: {exc}", argv=argv) from exc
        assert self.proc.stderr is not None
        err = self.proc.stderr
        self._threads = [threading.Thread(target=self._read_stderr, args=(err,), daemon=True),
                         threading.Thread(target=self._watch, args=(timeout_s, cancel_check), daemon=True)]
        for t in self._threads:
            t.start()

    def _read_stderr(self, pipe: IO[bytes]) -> None:
        for raw in pipe:
            self.tail.append(raw.decode("utf-8", "replace").rstrip())

    def _watch(self, timeout_s: float, cancel_check: Callable[[], bool] | None) -> None:
        deadline = time.monotonic() + timeout_s
        while not self._done.wait(_POLL_S):
            if self.proc.poll() is not None:
                return
            if time.monotonic() > deadline:
                self.failure = FFmpegTimeoutError
            elif cancel_check is not None and cancel_check():
                self.failure = FFmpegCancelledError
            if self.failure is not None:
                kill_popen(self.proc)
                return

    def error(self, message: str) -> FFmpegError:
        """The typed error for the way the process ended (timeout, cancel, or ``message``)."""
        self.proc.poll()
        tail = "\n".join(self.tail)
        if self.failure is FFmpegTimeoutError:
            return FFmpegTimeoutError(f"ffmpeg exceeded its {self.timeout_s:g} s limit and was killed",
                                      argv=self.argv, returncode=self.proc.returncode, stderr_tail=tail)
        if self.failure is FFmpegCancelledError:
            return FFmpegCancelledError("ffmpeg was cancelled", argv=self.argv, returncode=self.proc.returncode,
                                        stderr_tail=tail)
        return FFmpegError(message, argv=self.argv, returncode=self.proc.returncode, stderr_tail=tail)

    def finish(self, wait_s: float) -> int | None:
        """Wait up to ``wait_s`` seconds for exit, then kill the group; returns the exit status."""
        try:
            self.proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            kill_popen(self.proc)
        self._done.set()
        for t in self._threads:
            t.join(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return self.proc.returncode

    def kill(self) -> None:
        """Kill the process group now."""
        if self.proc.poll() is None:
            kill_popen(self.proc)
        self.finish(5)


class FrameDecoder:
    """Iterates ``(height, width, 3)`` uint8 frames from a decoding ffmpeg (see :func:`open_decoder`).

    Iteration ends at the end of the stream; a non-zero exit, time limit or cancel raises the typed
    :class:`FFmpegError`. Use as a context manager (or call :meth:`close`) so the process always ends."""

    def __init__(self, process: _Process, width: int, height: int) -> None:
        self._p = process
        self.width, self.height = width, height
        self.frames = 0

    def __iter__(self) -> Iterator[Frame]:
        size = self.width * self.height * 3
        out = self._p.proc.stdout
        assert out is not None
        while True:
            buf = bytearray(size)  # a fresh writable buffer per frame: consumers may keep or edit it
            view, got = memoryview(buf), 0
            while got < size:
                n = out.readinto(view[got:])  # type: ignore[attr-defined]
                if not n:
                    break
                got += n
            if got < size:  # end of stream (a partial frame is dropped)
                break
            self.frames += 1
            yield np.frombuffer(buf, np.uint8).reshape(self.height, self.width, 3)
        code = self._p.finish(30)
        if self._p.failure is not None or code != 0:
            raise self._p.error(f"ffmpeg (decoder) exited with status {code}")

    def close(self) -> None:
        """Stop the decoder (kills it if still running)."""
        self._p.kill()
        if self._p.proc.stdout is not None:
            self._p.proc.stdout.close()

    def __enter__(self) -> FrameDecoder:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class FrameEncoder:
    """Feeds frames to an encoding ffmpeg (see :func:`open_encoder`); :meth:`finish` closes its stdin
    and waits for the file to be written."""

    def __init__(self, process: _Process, pipe: RawVideoPipe) -> None:
        self._p = process
        self.pipe = pipe
        self.frames = 0

    def write(self, frame: Frame) -> None:
        """Send one ``(height, width, 3)`` uint8 frame; raises :class:`FFmpegError` if ffmpeg died."""
        if frame.shape != (self.pipe.height, self.pipe.width, 3):
            raise ValueError(f"frame shape {frame.shape} does not match the pipe "
                             f"{self.pipe.height}x{self.pipe.width}x3")
        stdin = self._p.proc.stdin
        assert stdin is not None
        try:
            stdin.write(np.ascontiguousarray(frame, dtype=np.uint8).data)
        except (BrokenPipeError, ValueError, OSError) as exc:
            self._p.finish(5)
            raise self._p.error("ffmpeg (encoder) stopped reading frames") from exc
        self.frames += 1

    def finish(self, wait_s: float = 120.0) -> None:
        """Close stdin and wait up to ``wait_s`` seconds for ffmpeg to finish the file."""
        stdin = self._p.proc.stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(OSError):
                stdin.close()
        code = self._p.finish(wait_s)
        if self._p.failure is not None or code != 0:
            raise self._p.error(f"ffmpeg (encoder) exited with status {code}")

    def close(self) -> None:
        """Abandon the output: kill ffmpeg if it is still running."""
        stdin = self._p.proc.stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(OSError):
                stdin.close()
        self._p.kill()

    def __enter__(self) -> FrameEncoder:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if et is not None:
            self.close()
        elif self._p.proc.poll() is None:
            self.finish()


def open_decoder(cmd: FFmpegCommand, width: int, height: int, *, timeout_s: float,
                 cancel_check: Callable[[], bool] | None = None, memory_limit_bytes: int | None = None,
                 ffmpeg: str | None = None) -> FrameDecoder:
    """Start ``cmd`` (its output must be ``-f rawvideo -pix_fmt rgb24 pipe:1`` at ``width`` x
    ``height`` pixels) and return the frame iterator. ``timeout_s``: wall-clock limit in seconds."""
    argv = [ffmpeg or ffmpeg_exe(), *cmd.argv()]
    proc = _Process(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, timeout_s=timeout_s,
                    cancel_check=cancel_check, memory_limit_bytes=memory_limit_bytes)
    return FrameDecoder(proc, width, height)


def open_encoder(cmd: FFmpegCommand, pipe: RawVideoPipe, *, timeout_s: float,
                 cancel_check: Callable[[], bool] | None = None, memory_limit_bytes: int | None = None,
                 ffmpeg: str | None = None) -> FrameEncoder:
    """Start ``cmd`` with ``pipe`` as its input 0 (before ``cmd.inputs``, which become 1, 2...) and
    return the frame writer. ``timeout_s``: wall-clock limit in seconds."""
    # extra_global is rendered right before the inputs, so the pipe becomes input 0.
    with_pipe = dataclasses.replace(cmd, extra_global=[*cmd.extra_global, *pipe.args()])
    argv = [ffmpeg or ffmpeg_exe(), *with_pipe.argv()]
    proc = _Process(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, timeout_s=timeout_s,
                    cancel_check=cancel_check, memory_limit_bytes=memory_limit_bytes)
    return FrameEncoder(proc, pipe)

