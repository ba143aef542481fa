"""GOP-parallel decoding gives exactly what a sequential decode gives, on clips made by ffmpeg."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from vidlake.analyze.frames import Frame, read_frames


def _keyframes(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [p.pts for p in c.demux(c.streams.video[0]) if p.is_keyframe and p.size]


def _has_leading_pictures(path: Path) -> bool:
    """True when a packet after a (non-first) keyframe in decoding order is shown before it."""
    key: int | None = None
    seen = 0
    with av.open(str(path)) as c:
        for p in c.demux(c.streams.video[0]):
            if not p.size or p.pts is None:
                continue
            if p.is_keyframe:
                key, seen = p.pts, seen + 1
            elif key is not None and seen > 1 and p.pts < key:
                return True
    return False


def _assert_same(a: list[Frame], b: list[Frame]) -> None:
    assert len(a) == len(b) > 0
    for x, y in zip(a, b, strict=True):
        assert (x.index, x.time, x.full_range, x.bt709) == (y.index, y.time, y.full_range, y.bt709)
        assert np.array_equal(x.yuv, y.yuv), x.index


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "full"])
@pytest.mark.parametrize("name", ["gops.mp4", "gops.mkv"])
def test_gop_parallel_decode_equals_sequential(make_clip: Any, fast: bool, name: str) -> None:
    clip = make_clip(name, "testsrc2", seconds=3.0, size="320x180", extra=("-g", "12", "-bf", "3"))
    assert len(_keyframes(clip)) >= 5
    sequential = list(read_frames(clip, fast=fast, threads="NONE"))
    parallel = list(read_frames(clip, fast=fast, threads="AUTO", workers=3))
    _assert_same(sequential, parallel)
    if not fast:
        assert len(parallel) == 75


def test_open_gops_keep_their_leading_pictures(make_clip: Any) -> None:
    clip = make_clip("open.mp4", "testsrc2", seconds=3.0, size="320x180",
                     extra=("-x264-params", "open-gop=1:keyint=15:min-keyint=15:scenecut=0:bframes=3:b-pyramid=0"))
    if not _has_leading_pictures(clip):
        pytest.skip("this x264 build wrote no leading pictures")
    sequential = list(read_frames(clip, fast=False, threads="NONE"))
    parallel = list(read_frames(clip, fast=False, threads="AUTO", workers=2))
    _assert_same(sequential, parallel)
    assert len(parallel) == 75


def test_a_single_long_gop_uses_frame_threads_and_stays_exact(make_clip: Any) -> None:
    # 720p: the lone GOP is big enough to get FFmpeg frame threads inside the GOP decoder.
    clip = make_clip("one_gop.mp4", "testsrc2", seconds=1.0, size="1280x720", extra=("-g", "250"))
    assert len(_keyframes(clip)) == 1
    for fast in (True, False):
        _assert_same(list(read_frames(clip, fast=fast, threads="NONE")),
                     list(read_frames(clip, fast=fast, threads="AUTO", workers=2)))


def test_full_range_and_colour_tags_survive(make_clip: Any) -> None:
    clip = make_clip("jpeg_range.mp4", "testsrc2", seconds=1.0, size="320x180",
                     extra=("-g", "5", "-pix_fmt", "yuvj420p"))
    parallel = list(read_frames(clip, fast=False, workers=2))
    assert parallel and all(f.full_range for f in parallel)
    _assert_same(list(read_frames(clip, fast=False, threads="NONE")), parallel)


def test_stopping_early_ends_the_decoder_threads(make_clip: Any) -> None:
    clip = make_clip("long.mp4", "testsrc2", seconds=4.0, size="320x180", extra=("-g", "5"))
    frames = read_frames(clip, fast=False, workers=2)
    first = [next(frames) for _ in range(3)]
    frames.close()
    assert [f.index for f in first] == [0, 1, 2]
    assert not [t for t in threading.enumerate() if t.name.startswith("vidlake-decode")]


def test_a_truncated_file_yields_what_precedes_the_damage(make_clip: Any, tmp_path: Path) -> None:
    clip = make_clip("whole.mkv", "testsrc2", seconds=3.0, size="320x180", extra=("-g", "10"))
    cut = tmp_path / "cut.mkv"
    data = clip.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    sequential = [f.time for f in read_frames(cut, fast=False, threads="NONE")]
    parallel = [f.time for f in read_frames(cut, fast=False, workers=2)]
    assert 20 <= len(parallel) < 75
    # The frames both decoders produced agree; at most the last, damaged GOP may differ in length.
    common = min(len(sequential), len(parallel))
    assert parallel[:common] == sequential[:common]
    assert abs(len(parallel) - len(sequential)) <= 10


def test_a_timestamp_discontinuity_loses_no_frame(make_clip: Any, tmp_path: Path) -> None:
    # Two MPEG-TS files joined byte for byte: the second one's timestamps start again from zero.
    a = make_clip("a.ts", "testsrc2", seconds=1.0, size="320x180", extra=("-g", "5"))
    b = make_clip("b.ts", "mandelbrot", seconds=1.0, size="320x180", extra=("-g", "5"))
    joined = tmp_path / "joined.ts"
    joined.write_bytes(a.read_bytes() + b.read_bytes())
    sequential = list(read_frames(joined, fast=False, threads="NONE"))
    assert len(sequential) == 50
    _assert_same(sequential, list(read_frames(joined, fast=False, workers=2)))
