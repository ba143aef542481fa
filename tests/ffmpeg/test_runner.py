from __future__ import annotations

import time
from pathlib import Path

import pytest

from vidlake.ffmpeg import FFmpegCancelledError, FFmpegError, FFmpegTimeoutError, run

# Synthetic lavfi input is fine here: these argv lists are ours, not an upload.
SLOW = ["-re", "-f", "lavfi", "-i", "testsrc2=s=64x64:r=25:d=60", "-f", "null", "-"]


def test_success_reports_progress(tmp_path: Path) -> None:
    percents: list[float] = []
    out = tmp_path / "o.mp4"
    final = run(["-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x64:r=25:d=3", "-c:v", "libx264",
                 "-preset", "ultrafast", "-y", str(out)], timeout_s=60, duration_s=3.0,
                on_progress=percents.append)
    assert out.stat().st_size > 0
    assert final.ended and final.out_time_s == pytest.approx(3.0, abs=0.1)
    assert percents and percents[-1] == 100.0 and percents == sorted(percents)


def test_failure_carries_stderr_tail(tmp_path: Path) -> None:
    with pytest.raises(FFmpegError) as info:
        run(["-v", "error", "-f", "mov", "-i", str(tmp_path / "missing.mp4"), "-f", "null", "-"], timeout_s=30)
    assert info.value.returncode not in (0, None)
    assert "missing.mp4" in info.value.stderr_tail
    assert not isinstance(info.value, FFmpegTimeoutError)


def test_timeout_kills() -> None:
    with pytest.raises(FFmpegTimeoutError) as info:
        run(SLOW, timeout_s=0.5)
    assert isinstance(info.value, TimeoutError) and info.value.returncode is not None


def test_cancel_kills() -> None:
    start = time.monotonic()
    with pytest.raises(FFmpegCancelledError) as info:
        run(SLOW, timeout_s=120, cancel_check=lambda: time.monotonic() - start > 0.3)
    assert info.value.returncode is not None


def test_memory_limit_applies() -> None:
    """With a tiny address-space limit ffmpeg cannot even start."""
    with pytest.raises(FFmpegError):
        run(["-f", "lavfi", "-i", "testsrc2=d=1", "-f", "null", "-"], timeout_s=30,
            memory_limit_bytes=16 * 1024 * 1024)
    run(["-f", "lavfi", "-i", "testsrc2=s=64x64:d=0.2", "-f", "null", "-"], timeout_s=30,
        memory_limit_bytes=2 * 1024**3)


def _limit_reporter(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in ffmpeg binary that writes the address-space limit it was started under (KiB)."""
    report = tmp_path / "ulimit.txt"
    script = tmp_path / "fake-ffmpeg"
    script.write_text(f"#!/bin/sh\nulimit -v > {report}\n")
    script.chmod(0o755)
    return script, report


def test_every_run_has_a_memory_limit_by_default(tmp_path: Path) -> None:
    """A caller that passes no limit (edit renders, images, analysis helpers) still runs under the
    process default, which settings can change."""
    from vidlake.ffmpeg import default_memory_limit, run_capture, set_default_memory_limit

    script, report = _limit_reporter(tmp_path)
    run([], timeout_s=30, ffmpeg=str(script))
    assert int(report.read_text()) * 1024 == default_memory_limit() == 4 * 1024**3
    before = default_memory_limit()
    try:
        set_default_memory_limit(512 * 1024**2)
        run([], timeout_s=30, ffmpeg=str(script))
        assert int(report.read_text()) == 512 * 1024
        run_capture([], timeout_s=30, ffmpeg=str(script))
        assert int(report.read_text()) == 512 * 1024
    finally:
        set_default_memory_limit(before)


def test_settings_set_the_default_limit(tmp_path: Path) -> None:
    from vidlake.core.settings import Settings
    from vidlake.ffmpeg import default_memory_limit, set_default_memory_limit
    from vidlake.startup import build_services

    before = default_memory_limit()
    services = build_services(Settings(data_dir=tmp_path, ffmpeg_memory_limit_bytes=3 * 1024**3))
    try:
        assert default_memory_limit() == 3 * 1024**3
    finally:
        services.close()
        set_default_memory_limit(before)
