"""Real services for tests: PostgreSQL, Redis, an S3-compatible server (moto), Vidlake itself.

Each is started from installed binaries (``make test`` installs them) on a free loopback port and
stopped at the end. Nothing relies on a server that happens to be running on the machine.
"""

from __future__ import annotations

import base64
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_udp_port() -> int:
    """A free UDP port on 127.0.0.1 (for SRT)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout_s: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until something listens on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port} after {timeout_s} s")


def wait_until(predicate: Callable[[], bool], timeout_s: float = 90, what: str = "condition") -> None:
    """Poll ``predicate`` every 50 ms until it is true; fail after ``timeout_s`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def stop(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace_s``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make test` (it installs Debian's postgresql)")
    return Path(found[-1]).parent


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster; yields a SQLAlchemy URL to database ``vidlake``."""
    pg = _pg_bin()
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="vidlake-pg-"))
    as_root = os.geteuid() == 0
    run_as: list[str] = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(data, "postgres", "postgres")
    subprocess.run([*run_as, str(pg / "initdb"), "-D", str(data), "-U", "vidlake", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    proc = subprocess.Popen(
        [*run_as, str(pg / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1", "-k", str(data),
         "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=200"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, 60, proc)
        for _ in range(100):
            r = subprocess.run([*run_as, str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "vidlake",
                                "vidlake"], capture_output=True)
            if r.returncode == 0:
                break
            time.sleep(0.1)
        yield f"postgresql+psycopg://vidlake@127.0.0.1:{port}/vidlake"
    finally:
        stop(proc)
        shutil.rmtree(data, ignore_errors=True)


def fresh_pg_database(base_url: str, name: str) -> str:
    """A new empty database on the server of ``base_url``; returns its URL."""
    from sqlalchemy import create_engine, text

    dbname = "t_" + "".join(c for c in name.lower() if c.isalnum())[-50:]
    engine = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}"'))
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    engine.dispose()
    return base_url.rsplit("/", 1)[0] + "/" + dbname


@contextmanager
def redis() -> Iterator[str]:
    """A throwaway redis-server; yields its URL."""
    exe = shutil.which("redis-server")
    if not exe:
        raise RuntimeError("redis-server is not installed: run `make test` (it installs Debian's redis-server)")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL)
    try:
        wait_port(port, 30, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)


@contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server over real HTTP; yields its endpoint URL."""
    port = free_port()
    proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, 60, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


class VidlakeServer:
    """A ``vidlake serve`` process with its own data dir, reachable over HTTP."""

    token_id = "test-token"
    token_secret = "test-secret-0123456789abcdef"

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, workers: int = 1,
                 rtmp: bool = False, srt: bool = False) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.rtmp_port = free_port() if rtmp else 0
        self.srt_port = free_udp_port() if srt else 0
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "VIDLAKE_DATA_DIR": str(data_dir),
            "VIDLAKE_HTTP_PORT": str(self.port),
            "VIDLAKE_RTMP_PORT": str(self.rtmp_port),
            "VIDLAKE_SRT_PORT": str(self.srt_port),
            "VIDLAKE_WORKERS": str(workers),
            "VIDLAKE_BOOTSTRAP_TOKEN": f"{self.token_id}:{self.token_secret}",
            "VIDLAKE_ALLOW_PRIVATE_NETWORKS": "true",
            "VIDLAKE_JOB_LEASE_S": "2",
            "VIDLAKE_JOB_BACKOFF_BASE_S": "0.2",
            "VIDLAKE_JOB_MODULES": "vidlake_test_kinds",
            "VIDLAKE_CONFIG": str(data_dir / "absent.toml"),
            "PYTHONPATH": os.pathsep.join([str(SUPPORT), os.environ.get("PYTHONPATH", "")]),
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"

    @property
    def auth(self) -> tuple[str, str]:
        """(token id, secret) of the bootstrap token."""
        return self.token_id, self.token_secret

    @property
    def auth_header(self) -> str:
        """The Basic Authorization header value."""
        return "Basic " + base64.b64encode(f"{self.token_id}:{self.token_secret}".encode()).decode()

    def start(self) -> VidlakeServer:
        """Start and wait for /healthz."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([str(BIN / "vidlake"), "serve"], env=self.env, stdout=log, stderr=log,
                                     cwd=self.data_dir)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vidlake serve exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"vidlake serve did not become healthy: {self.log_path.read_text()[-3000:]}")

    def client(self) -> httpx.Client:
        """An authenticated HTTP client."""
        return httpx.Client(base_url=self.url, auth=self.auth, timeout=30)

    def mux_client(self) -> Any:
        """A mux-python ``ApiClient`` for this server (only the host changes)."""
        import mux_python

        config = mux_python.Configuration()
        config.host = self.url
        config.username, config.password = self.auth
        return mux_python.ApiClient(config)

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.proc is not None:
            stop(self.proc, grace_s=30)

    def log(self) -> str:
        """The server's log so far."""
        return self.log_path.read_text(errors="replace")
