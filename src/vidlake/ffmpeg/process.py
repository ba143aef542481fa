"""Starting child processes: the one place in Vidlake that forks (ffmpeg, and the media helpers beside it).

Every child gets the same fences, whichever function starts it:

* its own process group (``start_new_session``), so a kill reaches ffmpeg's own children too;
* an address-space limit (``RLIMIT_AS``: :func:`default_memory_limit`, set from settings, unless the
  caller passes another);
* on Linux, ``PR_SET_PDEATHSIG`` = ``SIGKILL``: when the thread that started it dies (a crashed or killed
  ``vidlake serve``), the child is killed instead of running on as an orphan. The signal follows the
  *thread*, not the process: start a long-running child from a thread that outlives it (the caller that
  waits on it, or the ingest loop), never from a pool thread that may retire while the child runs.

:func:`popen` starts a synchronous :class:`subprocess.Popen` (used by :func:`~vidlake.ffmpeg.runner.run`);
:class:`StreamingProcess` is the asyncio side: stdin/stdout pipes with back-pressure, an optional time
limit, a graceful stop (close stdin, wait, then kill the group).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TypeAlias

log = logging.getLogger(__name__)

#: Address-space limit of a child unless its caller chooses another (bytes; the probe sandbox's too).
#: A 4K x264 ladder peaked near 1.6 GB; more than twice that is left for threads on bigger machines.
DEFAULT_MEMORY_LIMIT_BYTES = 4 * 1024**3
_default_memory = [DEFAULT_MEMORY_LIMIT_BYTES]
#: ``memory_limit_bytes`` for a child that must not get an address-space limit: Chromium reserves tens of
#: GiB of address space it never touches (V8 and PartitionAlloc cages) and aborts under any RLIMIT_AS; its
#: heap is bounded by its own flags instead (``vidlake.webinput.browser``).
NO_ADDRESS_LIMIT = -1
_PR_SET_PDEATHSIG = 1


def set_default_memory_limit(limit_bytes: int) -> None:
    """Set this process's address-space limit for its children (bytes; from
    ``VIDLAKE_FFMPEG_MEMORY_LIMIT_BYTES`` when services are built)."""
    if limit_bytes <= 0:
        raise ValueError("the ffmpeg memory limit must be positive")
    _default_memory[0] = limit_bytes


def default_memory_limit() -> int:
    """The address-space limit (bytes) applied when a caller passes none."""
    return _default_memory[0]

#: A child started by :func:`popen`.
Child: TypeAlias = "subprocess.Popen[bytes]"


def _load_prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, resolved in the parent (a child between fork and exec should not load libraries)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def child_setup(memory_limit_bytes: int | None) -> Callable[[], None]:
    """The ``preexec_fn`` of every child: memory limit and death with the parent (runs after fork)."""
    parent = os.getpid()
    limit = memory_limit_bytes or default_memory_limit()  # read in the parent, before fork
    unlimited = memory_limit_bytes == NO_ADDRESS_LIMIT

    def apply() -> None:
        if _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:  # the parent died between fork and prctl
                os._exit(1)
        if not unlimited:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def popen(argv: Sequence[str], *, stdin: int | IO[bytes] | None = subprocess.DEVNULL,
          stdout: int | IO[bytes] | None = subprocess.DEVNULL, stderr: int | IO[bytes] | None = subprocess.DEVNULL,
          memory_limit_bytes: int | None = None, cwd: str | Path | None = None,
          env: Mapping[str, str] | None = None, pass_fds: Sequence[int] = ()) -> Child:
    """Start ``argv`` (the executable first) with the fences of this module; raises ``OSError`` when it
    cannot start. ``pass_fds``: descriptors the child keeps (e.g. the pipe ``Xvfb -displayfd`` writes to)."""
    return subprocess.Popen(list(argv), stdin=stdin, stdout=stdout, stderr=stderr, cwd=cwd, env=env,
                            start_new_session=True, preexec_fn=child_setup(memory_limit_bytes),
                            pass_fds=tuple(pass_fds))


#: ``stdin=PIPE`` / ``stdout=PIPE`` for :func:`popen` (so callers need not import ``subprocess``).
PIPE = subprocess.PIPE


def wait_or_kill(proc: Child, timeout_s: float) -> int:
    """Wait up to ``timeout_s`` seconds for ``proc`` to exit, else kill its group; its exit status
    (``-9`` when killed)."""
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_popen(proc)
        return -9


def kill_group(pid: int) -> None:
    """SIGKILL the process group of ``pid`` (a child of :func:`popen` or :class:`StreamingProcess` leads
    its own group); nothing happens when it is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def kill_popen(proc: Child, wait_s: float = 5.0) -> None:
    """Kill the group of ``proc`` and reap it (waiting at most ``wait_s`` seconds)."""
    kill_group(proc.pid)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=wait_s)


class StreamingProcess:
    """A child fed through stdin and/or read through stdout on the asyncio loop.

    Start it with :meth:`start`. :meth:`write` waits until the pipe has room (back-pressure: a slow child
    slows its producer), :meth:`stop` closes stdin and gives the child ``timeout_s`` seconds to exit before
    its process group is killed. ``time_limit_s`` (seconds, optional) kills the group when the child runs
    longer; :attr:`timed_out` then says so.
    """

    def __init__(self, proc: asyncio.subprocess.Process, argv: list[str], stderr: IO[bytes] | None) -> None:
        self.proc = proc
        self.argv = argv
        self.timed_out = False
        self._stderr = stderr
        self._timer: asyncio.TimerHandle | None = None

    @classmethod
    async def start(cls, argv: Sequence[str], *, stdin: bool = True, stdout: bool = False,
                    stderr_path: str | Path | None = None,
                    memory_limit_bytes: int | None = None,
                    time_limit_s: float | None = None, cwd: str | Path | None = None) -> StreamingProcess:
        """Start ``argv`` (the executable first). ``stdin``/``stdout``: pipes (else ``/dev/null``);
        ``stderr_path``: a file for the child's stderr (parents created; else discarded)."""
        args = list(argv)
        if not args:
            raise ValueError("argv must not be empty")
        err_file: IO[bytes] | None = None
        if stderr_path is not None:
            Path(stderr_path).parent.mkdir(parents=True, exist_ok=True)
            err_file = Path(stderr_path).open("wb")  # noqa: SIM115 (closed by stop/wait)
        pipe, devnull = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
        try:
            proc = await asyncio.create_subprocess_exec(
                *args, stdin=pipe if stdin else devnull, stdout=pipe if stdout else devnull,
                stderr=err_file if err_file is not None else devnull, cwd=cwd, start_new_session=True,
                preexec_fn=child_setup(memory_limit_bytes))
        except BaseException:
            if err_file is not None:
                err_file.close()
            raise
        self = cls(proc, args, err_file)
        if time_limit_s is not None:
            self._timer = asyncio.get_running_loop().call_later(time_limit_s, self._time_up)
        return self

    @property
    def pid(self) -> int:
        """The child's process id (and process group id)."""
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once the child has exited (negative: killed by that signal)."""
        return self.proc.returncode

    @property
    def stdout(self) -> asyncio.StreamReader:
        """The child's stdout (``stdout=True`` at start)."""
        if self.proc.stdout is None:
            raise RuntimeError("started without a stdout pipe")
        return self.proc.stdout

    def _time_up(self) -> None:
        if self.proc.returncode is None:
            log.warning("%s ran past its time limit; killing it", self.argv[0])
            self.timed_out = True
            self.kill()

    async def write(self, data: bytes) -> None:
        """Write ``data`` to stdin and wait until the pipe has room again."""
        if self.proc.stdin is None:
            raise RuntimeError("started without a stdin pipe")
        self.proc.stdin.write(data)
        await self.proc.stdin.drain()

    def kill(self) -> None:
        """SIGKILL the child's process group now (:meth:`wait` reaps it)."""
        if self.proc.returncode is None:
            kill_group(self.proc.pid)

    async def wait(self) -> int:
        """Wait for the child to exit; its exit status."""
        code = await self.proc.wait()
        self._release()
        return code

    async def stop(self, timeout_s: float = 10.0) -> int:
        """Close stdin (end of input), wait up to ``timeout_s`` seconds, then kill the group; the exit status."""
        try:
            stdin = self.proc.stdin
            if stdin is not None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    stdin.close()
                    await stdin.wait_closed()
            try:
                return await asyncio.wait_for(self.proc.wait(), timeout_s)
            except TimeoutError:
                log.warning("%s did not exit in %.1f s; killing it", self.argv[0], timeout_s)
                self.kill()
                return await self.proc.wait()
        finally:
            self._release()

    def _release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
