"""Only ``vidlake/ffmpeg/`` starts processes: every ffmpeg (and the media helpers beside it) gets its
process-group kill, memory limit and death with the parent from :mod:`vidlake.ffmpeg.process`.

The test reads every module of ``src/vidlake`` (its syntax tree, so comments and strings do not count)
and fails on an import of ``subprocess``/``multiprocessing``/``pty``, a call of ``os.fork``/``os.spawn*``/
``os.exec*``/``os.posix_spawn*``/``os.system``/``os.popen``, ``asyncio.create_subprocess_*``, a loop's
``subprocess_exec``/``subprocess_shell`` or a ``ProcessPoolExecutor`` outside ``vidlake/ffmpeg/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "vidlake"

#: Modules that may start processes themselves, and why (paths relative to src/vidlake).
ALLOWED: dict[str, str] = {
    # Starts `python -m vidlake worker` processes (no ffmpeg, no media): a supervisor that must keep them
    # running after a crash and stop them with SIGTERM first, which the ffmpeg fences (own group killed
    # with SIGKILL, death with the starting thread) would defeat.
    "supervisor.py": "the worker supervisor starts `vidlake worker` processes",
    "cli/supervisor.py": "the worker supervisor starts `vidlake worker` processes (after the cli/ move)",
    # The probe sandbox runs PyAV (not ffmpeg) on an untrusted upload in a child with its own time and
    # memory limits; it belongs to vod/ and moving it is outside the live/ffmpeg change that added this test.
    "vod/probe.py": "the probe sandbox (PyAV in a child, its own limits)",
}

_MODULES = {"subprocess", "multiprocessing", "pty"}
_OS_CALLS = {"fork", "forkpty", "system", "popen", "posix_spawn", "posix_spawnp", "spawnl", "spawnle", "spawnlp",
             "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe", "execl", "execle", "execlp", "execlpe",
             "execv", "execve", "execvp", "execvpe"}
_ATTRS = {"create_subprocess_exec", "create_subprocess_shell", "subprocess_exec", "subprocess_shell"}


def process_starts(tree: ast.AST) -> list[str]:
    """What in ``tree`` starts (or imports what starts) a process, as ``line: text``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if a.name.split(".")[0] in _MODULES]
        elif isinstance(node, ast.ImportFrom):
            if node.module and node.module.split(".")[0] in _MODULES:
                found.append(f"{node.lineno}: from {node.module} import ...")
            elif node.module == "os":
                found += [f"{node.lineno}: from os import {a.name}" for a in node.names if a.name in _OS_CALLS]
            found += [f"{node.lineno}: import {a.name}" for a in node.names if a.name == "ProcessPoolExecutor"]
        elif isinstance(node, ast.Attribute):
            if node.attr in _ATTRS or node.attr == "ProcessPoolExecutor":
                found.append(f"{node.lineno}: .{node.attr}")
            elif isinstance(node.value, ast.Name) and node.value.id == "os" and node.attr in _OS_CALLS:
                found.append(f"{node.lineno}: os.{node.attr}")
            elif isinstance(node.value, ast.Name) and node.value.id == "asyncio" and node.attr == "subprocess":
                found.append(f"{node.lineno}: asyncio.subprocess")
    return found


def test_the_scan_finds_process_starts() -> None:
    """The scanner itself: each way of starting a process is found, look-alikes are not."""
    code = ("import subprocess\nimport os\nimport asyncio\nfrom multiprocessing import Pool\n"
            "from concurrent.futures import ProcessPoolExecutor\n"
            "os.fork()\nos.execv('x', [])\nasyncio.create_subprocess_exec('x')\nloop.subprocess_shell(p, 'x')\n"
            "asyncio.subprocess.PIPE\n")
    assert [hit.split(":")[0] for hit in process_starts(ast.parse(code))] == ["1", "4", "5", "6", "7", "8", "9", "10"]
    harmless = "import os\nos.path.join('a')\nx = 'subprocess.run'\npopen = 1\n# import subprocess\n"
    assert process_starts(ast.parse(harmless)) == []


def test_only_ffmpeg_package_starts_processes() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("ffmpeg/") or rel in ALLOWED:
            continue
        offenders += [f"vidlake/{rel}:{hit}" for hit in process_starts(ast.parse(path.read_text(), str(path)))]
    assert not offenders, ("start processes through vidlake.ffmpeg (runner.run, process.popen, "
                           "process.StreamingProcess):\n" + "\n".join(offenders))
