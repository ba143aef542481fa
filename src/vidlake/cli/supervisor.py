"""``vidlake serve``'s local workers: child processes that are restarted when they die."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from vidlake.core.settings import Settings

log = logging.getLogger(__name__)


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that reproduce ``settings`` in a child process."""
    env = dict(os.environ)
    for name, value in settings.model_dump(mode="json").items():
        key = f"VIDLAKE_{name.upper()}"
        if isinstance(value, list):
            env[key] = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            env[key] = "true" if value else "false"
        elif isinstance(value, dict):
            env[key] = json.dumps(value)
        else:
            env[key] = str(value)
    return env


class WorkerPool:
    """Keeps ``count`` ``vidlake worker`` processes running."""

    def __init__(self, settings: Settings, count: int) -> None:
        self.settings = settings
        self.count = count
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def _spawn(self, slot: int) -> None:
        cmd = [sys.executable, "-m", "vidlake", "worker", "--executor", "local"]
        self.procs[slot] = subprocess.Popen(cmd, env=settings_env(self.settings))
        log.info("started worker %d (pid %d)", slot, self.procs[slot].pid)  # type: ignore[union-attr]

    def start(self) -> None:
        """Start the workers and a thread that restarts dead ones (at most once per second each)."""
        for slot in range(self.count):
            self._spawn(slot)

        def watch() -> None:
            while not self.stopping.wait(1.0):
                for slot, proc in enumerate(self.procs):
                    if proc is not None and proc.poll() is not None and not self.stopping.is_set():
                        log.warning("worker %d (pid %d) exited with %s; restarting", slot, proc.pid, proc.returncode)
                        self._spawn(slot)

        self.thread = threading.Thread(target=watch, name="vidlake-worker-pool", daemon=True)
        self.thread.start()

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGTERM every worker (they release running jobs), then SIGKILL after ``grace_s``."""
        self.stopping.set()
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for proc in self.procs:
            if proc is None:
                continue
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
