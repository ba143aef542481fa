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
