"""The operator CLI: migrate, token create/list/revoke, doctor (run as real subprocesses)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from services import BIN


def _run(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "VIDLAKE_DATA_DIR": str(data_dir), "VIDLAKE_CONFIG": str(data_dir / "none.toml"),
                "COLUMNS": "200", **env}
    return subprocess.run([str(BIN / "vidlake"), *args], env=full_env, capture_output=True, text=True, timeout=120)


def test_token_commands(tmp_path: Path) -> None:
    assert _run(["migrate"], tmp_path).returncode == 0
    created = _run(["token", "create", "--name", "ci", "--permission", "read_only"], tmp_path)
    assert created.returncode == 0, created.stderr
    token_id = next(line.split()[-1] for line in created.stdout.splitlines() if line.startswith("token id:"))
    listed = _run(["token", "list"], tmp_path)
    assert token_id in listed.stdout and "read_only" in listed.stdout
    assert _run(["token", "revoke", token_id], tmp_path).returncode == 0
    assert "yes" in _run(["token", "list"], tmp_path).stdout
    missing = _run(["token", "revoke", "nope"], tmp_path)
    assert missing.returncode == 1 and "not found" in missing.stderr
    bad = _run(["token", "create", "--permission", "admin"], tmp_path)
    assert bad.returncode == 1 and "permission" in bad.stderr


def test_doctor_reports_and_explains(tmp_path: Path) -> None:
    unmigrated = _run(["doctor"], tmp_path)
    assert unmigrated.returncode == 1
    assert "vidlake migrate" in unmigrated.stdout and "libx264" in unmigrated.stdout
    _run(["migrate"], tmp_path)
    healthy = _run(["doctor"], tmp_path)
    assert healthy.returncode == 0 and "libsrt 1." in healthy.stdout  # SRT ingest is on by default
    assert "fonts (CJK)" in healthy.stdout and "NotoSansCJK-Regular" in healthy.stdout
    broken = _run(["doctor"], tmp_path, VIDLAKE_EXECUTOR="celery", VIDLAKE_BROKER_URL="redis://127.0.0.1:9/0",
                  VIDLAKE_FFMPEG="/nonexistent/ffmpeg")
    assert broken.returncode == 1
    assert "redis-server" in broken.stdout and "VIDLAKE_FFMPEG" in broken.stdout


def test_invalid_settings_are_named(tmp_path: Path) -> None:
    result = _run(["migrate"], tmp_path, VIDLAKE_BOOTSTRAP_TOKEN="no-colon")
    assert result.returncode == 2 and "bootstrap_token" in result.stderr
    result = _run(["migrate"], tmp_path, VIDLAKE_EXECUTOR="kubernetes")
    assert result.returncode == 2 and "executor" in result.stderr
