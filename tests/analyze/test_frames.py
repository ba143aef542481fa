"""The frame source and the analyser driver, on clips made by ffmpeg."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vidlake.analyze.base import Analyser, run_analysers
from vidlake.analyze.frames import Frame, FrameSourceError, VideoInfo, read_frames


def test_full_decode_yields_every_frame_with_times_and_reduced_size(make_clip: Any) -> None:
    clip = make_clip("t.mp4", "testsrc2", seconds=2.0, size="640x360")
    frames = list(read_frames(clip, fast=False, short_side=90))
    assert len(frames) == 50
    times = np.array([f.time for f in frames])
    assert times[0] == 0.0
    assert np.allclose(np.diff(times), 0.04, atol=1e-6)
    assert [f.index for f in frames] == list(range(50))
    # 360 / 90 = 4: every 4th pixel of each plane.
    assert frames[0].yuv.shape == (90, 160, 3)
    assert frames[0].rgb.shape == (90, 160, 3) and frames[0].luma.shape == (90, 160)


def test_colours_survive_decimation(make_clip: Any) -> None:
    clip = make_clip("red.mp4", "color=c=0xC02020", seconds=0.4)
    frame = next(read_frames(clip))
    r, g, b = frame.rgb.reshape(-1, 3).mean(axis=0)
    assert abs(r - 0xC0) < 8 and abs(g - 0x20) < 8 and abs(b - 0x20) < 8
    assert not frame.full_range


def test_step_and_fast_mode_thin_the_frames(make_clip: Any) -> None:
    clip = make_clip("t.mp4", "testsrc2", seconds=2.0)
    full = [f.time for f in read_frames(clip, fast=False)]
    halved = [f.time for f in read_frames(clip, fast=False, step=2)]
    assert halved == full[::2]
    fast = [f.time for f in read_frames(clip, fast=True)]
    # x264 with B-frames: fast mode decodes I/P frames only, a subset of the full timeline.
    assert 0 < len(fast) < len(full)
    assert set(np.round(fast, 3)) <= set(np.round(full, 3))


def test_info_describes_the_stream(make_clip: Any) -> None:
    clip = make_clip("t.mkv", "testsrc2", seconds=1.0, size="320x240")
    box: list[VideoInfo] = []
    next(read_frames(clip, info_out=box))
    info = box[0]
    assert (info.width, info.height, info.fps) == (320, 240, 25.0)
    assert info.format_name == "matroska,webm" and info.codec == "h264"
    assert info.duration == pytest.approx(1.0, abs=0.05)
    assert (info.frame_width, info.frame_height) == (160, 120)


@pytest.mark.parametrize("path", ["http://127.0.0.1:9/x.mp4", "concat:a.mp4|b.mp4", "pipe:0", "/no/such/file.mp4"])
def test_only_local_files_are_opened(path: str) -> None:
    with pytest.raises(FrameSourceError):
        next(read_frames(path))


def test_playlists_and_unlisted_formats_are_refused(tmp_path: Path, make_clip: Any) -> None:
    playlist = tmp_path / "list.m3u8"
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nhttp://127.0.0.1:9/seg.ts\n#EXT-X-ENDLIST\n")
    with pytest.raises(FrameSourceError):
        next(read_frames(playlist))
    clip = make_clip("t.mp4", "testsrc2", seconds=0.4)
    with pytest.raises(FrameSourceError, match="not allowed"):
        next(read_frames(clip, allowed_formats=frozenset({"matroska", "webm"})))
    with pytest.raises(FrameSourceError):
        next(read_frames(clip, container_format="mpegts"))
    assert next(read_frames(clip, container_format="mp4")).index == 0


def test_garbage_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(FrameSourceError):
        next(read_frames(junk))


class _Counter(Analyser):
    name = "counter"

    def __init__(self) -> None:
        self.begun: list[VideoInfo] = []
        self.times: list[float] = []

    def begin(self, info: VideoInfo) -> None:
        self.begun.append(info)

    def process(self, frame: Frame) -> None:
        self.times.append(frame.time)

    def result(self) -> dict[str, Any]:
        return {"frames": len(self.times)}


class _MeanLuma(_Counter):
    name = "luma"

    def process(self, frame: Frame) -> None:
        self.times.append(float(frame.luma.mean()))


def test_run_analysers_decodes_once_for_all(make_clip: Any) -> None:
    clip = make_clip("t.mp4", "testsrc2", seconds=1.0)
    a, b = _Counter(), _MeanLuma()
    out = run_analysers(clip, [a, b], fast=False)
    assert out["counter"] == {"frames": 25} and out["luma"] == {"frames": 25}
    assert len(a.begun) == 1 and a.begun[0] is b.begun[0]
    assert out["video"]["frames"] == 25 and out["video"]["analysed_until"] == pytest.approx(0.96)


def test_run_analysers_rejects_duplicate_names(make_clip: Any) -> None:
    clip = make_clip("t.mp4", "testsrc2", seconds=0.2)
    with pytest.raises(ValueError):
        run_analysers(clip, [_Counter(), _Counter()])
