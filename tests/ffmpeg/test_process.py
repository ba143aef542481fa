"""The fences of every child process (vidlake.ffmpeg.process): process group kill, memory limit, death
with the parent, time limit, pipes with back-pressure."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vidlake.ffmpeg import ffmpeg_exe
from vidlake.ffmpeg.process import StreamingProcess, kill_popen, popen


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie nobody reaped yet is dead too
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _wait_dead(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_children_die_with_their_parent(tmp_path: Path) -> None:
    """A parent killed with SIGKILL (no cleanup runs) takes its ffmpeg child along (PR_SET_PDEATHSIG)."""
    pid_file = tmp_path / "pid"
    script = ("import sys, time\n"
              "from vidlake.ffmpeg.process import popen\n"
              "p = popen(['sleep', '60'])\n"
              f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
              "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], env={**os.environ})
    try:
        deadline = time.monotonic() + 20
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the parent did not start its child"
            time.sleep(0.05)
        child = int(pid_file.read_text())
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert _wait_dead(child), "the child outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_popen_has_its_own_group_and_memory_limit() -> None:
    proc = popen(["sh", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    grandchild = int(proc.stdout.readline())
    assert os.getpgid(proc.pid) == proc.pid and os.getpgid(grandchild) == proc.pid
    kill_popen(proc)
    assert _wait_dead(grandchild), "killing the group left ffmpeg's own child running"
    # 16 MiB of address space: ffmpeg cannot be loaded (exec fails, or the loader dies); 2 GiB is plenty
    with contextlib.suppress(OSError):
        assert popen([ffmpeg_exe(), "-version"], memory_limit_bytes=16 * 1024 * 1024).wait(30) != 0
    assert popen([ffmpeg_exe(), "-version"], memory_limit_bytes=2 * 1024**3).wait(30) == 0


@pytest.mark.anyio
async def test_streaming_process_pipes_stop_and_kill(tmp_path: Path) -> None:
    cat = await StreamingProcess.start(["cat"], stdout=True, stderr_path=tmp_path / "logs" / "cat.log")
    writing = asyncio.ensure_future(cat.write(b"x" * 1_000_000))
    await asyncio.sleep(0.3)
    assert not writing.done()  # more than the pipes hold: the write waits for the reader (back-pressure)
    got = await asyncio.wait_for(cat.stdout.readexactly(1_000_000), 10)
    await asyncio.wait_for(writing, 10)
    assert got == b"x" * 1_000_000
    assert await cat.stop(5) == 0 and (tmp_path / "logs" / "cat.log").exists()

    stubborn = await StreamingProcess.start(["sh", "-c", "trap '' TERM; sleep 60 & echo $!; wait"], stdin=True,
                                            stdout=True)
    grandchild = int(await asyncio.wait_for(stubborn.stdout.readline(), 10))
    start = time.monotonic()
    assert await stubborn.stop(0.3) == -signal.SIGKILL  # stdin closed, not gone in 0.3 s: group killed
    assert time.monotonic() - start < 5 and _wait_dead(grandchild)


@pytest.mark.anyio
async def test_streaming_process_time_limit() -> None:
    proc = await StreamingProcess.start(["sleep", "60"], stdin=False, time_limit_s=0.3)
    start = time.monotonic()
    assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
    assert proc.timed_out and time.monotonic() - start < 5
    try:
        tiny = await StreamingProcess.start([ffmpeg_exe(), "-version"], memory_limit_bytes=16 * 1024 * 1024)
        assert await asyncio.wait_for(tiny.wait(), 30) != 0
    except OSError:
        pass
