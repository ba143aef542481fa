"""Raw-frame pipes: frames round-trip exactly, limits kill the process group, errors are typed."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from vidlake.ffmpeg import FFmpegCancelledError, FFmpegCommand, FFmpegError, FFmpegTimeoutError, MediaInput
from vidlake.ffmpeg.frames import RawVideoPipe, open_decoder, open_encoder


def _encode(path: Path, frames: list[np.ndarray], **kw: object) -> None:
    h, w = frames[0].shape[:2]
    cmd = FFmpegCommand()
    cmd.add_output(path, ["-map", "0:v:0", "-c:v", "ffv1", "-f", "matroska"])
    with open_encoder(cmd, RawVideoPipe(w, h, 25), timeout_s=30, **kw) as enc:
        for f in frames:
            enc.write(f)


def _decoder_cmd(path: Path) -> FFmpegCommand:
    cmd = FFmpegCommand()
    cmd.add_input(MediaInput.untrusted(path, "matroska"))
    cmd.add_output("pipe:1", ["-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24"])
    return cmd


def test_frames_round_trip_losslessly(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(7)]
    path = tmp_path / "a.mkv"
    _encode(path, frames)
    with open_decoder(_decoder_cmd(path), 64, 48, timeout_s=30) as dec:
        got = list(dec)
    assert len(got) == 7
    assert got[3].flags.writeable
    # ffv1 in rgb24 -> yuv? ffmpeg picks a lossless RGB pixel format for ffv1 (bgr0), so exact.
    assert all(np.array_equal(a, b) for a, b in zip(frames, got, strict=True))


def test_wrong_shape_and_dead_encoder_raise(tmp_path: Path) -> None:
    cmd = FFmpegCommand()
    cmd.add_output(tmp_path / "b.mkv", ["-map", "0:v:0", "-c:v", "no-such-codec", "-f", "matroska"])
    enc = open_encoder(cmd, RawVideoPipe(64, 48, 25), timeout_s=30)
    with pytest.raises(ValueError):
        enc.write(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(FFmpegError) as info:
        for _ in range(200):
            enc.write(np.zeros((48, 64, 3), np.uint8))
        enc.finish()
    assert "no-such-codec" in info.value.stderr_tail or info.value.returncode not in (0, None)


def test_time_limit_and_cancel_kill_the_decoder(tmp_path: Path) -> None:
    path = tmp_path / "c.mkv"
    _encode(path, [np.zeros((48, 64, 3), np.uint8)] * 3)
    cmd = FFmpegCommand()
    cmd.add_input(MediaInput.untrusted(path, "matroska"))
    # the first frames looped forever at real-time pace: never ends on its own
    cmd.add_output("pipe:1", ["-map", "0:v:0", "-vf", "loop=-1:3,realtime", "-f", "rawvideo", "-pix_fmt", "rgb24"])
    started = time.monotonic()
    with pytest.raises(FFmpegTimeoutError), open_decoder(cmd, 64, 48, timeout_s=0.6) as dec:
        for _ in dec:
            pass
    assert time.monotonic() - started < 5
    stop_at = time.monotonic() + 0.4
    with pytest.raises(FFmpegCancelledError), open_decoder(cmd, 64, 48, timeout_s=30,
                                                           cancel_check=lambda: time.monotonic() > stop_at) as dec:
        for _ in dec:
            pass
