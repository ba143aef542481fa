"""Processes of a server under test, read from ``/proc``: its workers, stray ffmpeg children, CPU and memory."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from services import VidlakeServer


def worker_pids(server: VidlakeServer) -> list[int]:
    """The ``vidlake worker`` processes the server's supervisor runs."""
    assert server.proc is not None
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if int(fields[1]) == server.proc.pid and b"worker" in cmdline:
            out.append(int(stat.parent.name))
    return out


def ffmpeg_left(root: Path) -> list[str]:
    """``ps`` lines of ffmpeg processes whose arguments name a path under ``root`` (work left running)."""
    out = subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True, check=True).stdout
    return [line.strip() for line in out.splitlines() if "ffmpeg" in line and str(root) in line]


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its living descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        p = int(stat.parent.name)
        parents[p] = int(fields[1])
        cpu[p] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for p, seconds in cpu.items():
        q = p
        while q > 1 and q != pid:
            q = parents.get(q, 0)
        if q == pid:
            total += seconds
    return total


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
