"""Running ffmpeg: progress, time limit, cancellation, memory limit, typed errors."""

from __future__ import annotations

import collections
import subprocess
import threading
import time
from collections.abc import Callable, Sequence

from vidlake.ffmpeg.binary import ffmpeg_exe
from vidlake.ffmpeg.command import FFmpegCommand
from vidlake.ffmpeg.errors import FFmpegCancelledError, FFmpegError, FFmpegTimeoutError
from vidlake.ffmpeg.process import default_memory_limit, kill_popen, popen, set_default_memory_limit
from vidlake.ffmpeg.progress import Progress, ProgressParser

__all__ = ["default_memory_limit", "run", "run_capture", "set_default_memory_limit"]

STDERR_TAIL_LINES = 40
_POLL_S = 0.1


def run(
    args: FFmpegCommand | Sequence[str],
    *,
    timeout_s: float,
    on_progress: Callable[[float], None] | None = None,
    duration_s: float | None = None,
    cancel_check: Callable[[], bool] | None = None,
    memory_limit_bytes: int | None = None,
    on_tick: Callable[[Progress], None] | None = None,
    ffmpeg: str | None = None,
) -> Progress:
    """Run ffmpeg to completion and return its last :class:`Progress`.

    ``args``: an :class:`FFmpegCommand` or the argv after the executable. ``timeout_s``: wall-clock
    limit in seconds; on expiry the whole process group is killed and :class:`FFmpegTimeoutError`
    raised. ``on_progress(percent)``: called (in this thread) with 0-100 when ``duration_s`` (the
    expected output duration in seconds) is known. ``cancel_check()``: polled about every 0.1 s; when
    true the group is killed and :class:`FFmpegCancelledError` raised. ``memory_limit_bytes``: RLIMIT_AS
    for the ffmpeg process. ``on_tick(progress)``: called on every poll (for watching outputs).
    ``ffmpeg``: the binary, default :func:`ffmpeg_exe`. Non-zero exit raises :class:`FFmpegError`
    carrying the stderr tail.
    """
    body = args.argv() if isinstance(args, FFmpegCommand) else list(args)
    argv = [ffmpeg or ffmpeg_exe(), *body, "-progress", "pipe:1", "-nostats"]
    parser = ProgressParser(duration_s)
    latest: list[Progress] = [Progress()]
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    lock = threading.Lock()

    try:
        # own process group (killed with every child), RLIMIT_AS, dies with its parent: see ffmpeg.process
        proc = popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, memory_limit_bytes=memory_limit_bytes)
    except OSError as exc:  # e.g. exec failed under a too-small memory limit
        raise FFmpegError(f"ffmpeg could not start: {exc}", argv=argv) from exc
    assert proc.stdout is not None and proc.stderr is not None
    out_pipe, err_pipe = proc.stdout, proc.stderr

    def read_progress() -> None:
        for raw in out_pipe:
            block = parser.feed(raw.decode("utf-8", "replace"))
            if block is not None:
                with lock:
                    latest[0] = block

    def read_stderr() -> None:
        for raw in err_pipe:
            tail.append(raw.decode("utf-8", "replace").rstrip())

    readers = [threading.Thread(target=f, daemon=True) for f in (read_progress, read_stderr)]
    for t in readers:
        t.start()

    deadline = time.monotonic() + timeout_s
    last_pct: float | None = None
    failure: type[FFmpegError] | None = None
    try:
        while True:
            done = proc.poll() is not None
            with lock:
                snap = latest[0]
            if on_progress is not None and snap.percent is not None and snap.percent != last_pct:
                last_pct = snap.percent
                on_progress(snap.percent)
            if on_tick is not None:
                on_tick(snap)
            if done:
                break
            if time.monotonic() > deadline:
                failure = FFmpegTimeoutError
                break
            if cancel_check is not None and cancel_check():
                failure = FFmpegCancelledError
                break
            time.sleep(_POLL_S)
    finally:
        if proc.poll() is None:
            kill_popen(proc)
        for t in readers:
            t.join(timeout=5)
        out_pipe.close()
        err_pipe.close()

    stderr_tail = "\n".join(tail)
    if failure is FFmpegTimeoutError:
        raise FFmpegTimeoutError(f"ffmpeg exceeded its {timeout_s:g} s limit and was killed",
                                 argv=argv, returncode=proc.returncode, stderr_tail=stderr_tail)
    if failure is FFmpegCancelledError:
        raise FFmpegCancelledError("ffmpeg was cancelled", argv=argv, returncode=proc.returncode,
                                   stderr_tail=stderr_tail)
    if proc.returncode != 0:
        raise FFmpegError(f"ffmpeg exited with status {proc.returncode}", argv=argv,
                          returncode=proc.returncode, stderr_tail=stderr_tail)
    final = latest[0]
    if on_progress is not None and duration_s and last_pct != 100.0:
        on_progress(100.0)
    return final


def run_capture(args: Sequence[str], *, timeout_s: float, ffmpeg: str | None = None,
                memory_limit_bytes: int | None = None) -> str:
    """Run ffmpeg for what it prints on stdout (``["-hide_banner", "-encoders"]``, ``["-version"]``) under
    the same fences as :func:`run`. ``timeout_s`` in seconds: past it the group is killed and
    :class:`FFmpegTimeoutError` raised; one that cannot start or exits non-zero raises :class:`FFmpegError`."""
    argv = [ffmpeg or ffmpeg_exe(), *args]
    try:
        proc = popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, memory_limit_bytes=memory_limit_bytes)
    except OSError as exc:
        raise FFmpegError(f"ffmpeg could not start: {exc}", argv=argv) from exc
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_popen(proc)
        raise FFmpegTimeoutError(f"ffmpeg exceeded its {timeout_s:g} s limit and was killed", argv=argv,
                                 returncode=proc.returncode) from None
    if proc.returncode != 0:
        raise FFmpegError(f"ffmpeg exited with status {proc.returncode}", argv=argv, returncode=proc.returncode,
                          stderr_tail=err.decode("utf-8", "replace")[-4000:])
    return out.decode("utf-8", "replace")
