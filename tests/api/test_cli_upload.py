"""`vidlake upload FILE --wait` against a real server: chunked upload, progress, playback URL."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest
from media import make_av
from services import BIN, VidlakeServer

pytestmark = pytest.mark.slow


def test_cli_upload_wait_prints_playback_url(server: VidlakeServer, tmp_path: Path) -> None:
    clip = make_av(tmp_path / "clip.mp4", seconds=3)
    env = {**os.environ, "VIDLAKE_URL": server.url, "VIDLAKE_TOKEN_ID": server.token_id,
           "VIDLAKE_TOKEN_SECRET": server.token_secret, "COLUMNS": "200"}
    result = subprocess.run([str(BIN / "vidlake"), "upload", str(clip), "--wait", "--mp4"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "uploading" in result.stderr  # the progress bar
    playback = next(line.split()[1] for line in result.stdout.splitlines() if line.startswith("playback:"))
    assert httpx.get(playback).status_code == 200
    asset_id = next(line.split()[1] for line in result.stdout.splitlines() if line.startswith("asset:"))
    with server.client() as c:
        asset = c.get(f"/video/v1/assets/{asset_id}").json()["data"]
    assert asset["status"] == "ready" and asset["upload_id"] and asset["static_renditions"]["status"] == "ready"


def test_cli_upload_errors_are_clear(server: VidlakeServer, tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 100)
    env = {**os.environ, "VIDLAKE_URL": server.url, "VIDLAKE_TOKEN_ID": server.token_id,
           "VIDLAKE_TOKEN_SECRET": server.token_secret, "COLUMNS": "200"}
    result = subprocess.run([str(BIN / "vidlake"), "upload", str(text), "--wait"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 1 and "errored" in result.stderr
    env["VIDLAKE_TOKEN_SECRET"] = "wrong-secret-wrong"
    result = subprocess.run([str(BIN / "vidlake"), "upload", str(text)], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and "401" in result.stderr
