"""``Segmenter.slack_ms``: how much media can be held back without delaying a segment or part. The
promise: no frame earlier than the latest timestamp fed plus the slack closes a segment or a part."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from vidlake.ffmpeg import ffmpeg_exe
from vidlake.live.rtmp import flv
from vidlake.live.segmenter import Segmenter


def _flv(path: Path, *, video: bool, gop: int = 30) -> Path:
    argv = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    if video:
        argv += ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30"]
    argv += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "7"]
    if video:
        argv += ["-c:v", "libx264", "-preset", "ultrafast", "-g", str(gop), "-keyint_min", str(gop),
                 "-sc_threshold", "0", "-pix_fmt", "yuv420p"]
    argv += ["-c:a", "aac", "-b:a", "48k", "-f", "flv", str(path)]
    subprocess.run(argv, check=True, timeout=60)
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("slack")
    return {"av": _flv(root / "av.flv", video=True), "gop45": _flv(root / "gop45.flv", video=True, gop=45),
            "audio": _flv(root / "audio.flv", video=False)}


def _walk(source: Path, out: Path, target_s: float, part_s: float | None) -> tuple[list[tuple[int, int, int]], int]:
    """Feed ``source`` tag by tag; (timestamp of each tag that closed a segment or part, latest timestamp
    fed before it, slack before it) and the share of tags (percent) fed with at least 100 ms of slack."""
    events: list[str] = []
    seg = Segmenter(out, target_s, lambda name, d: events.append(name), part_target_s=part_s,
                    on_part=(lambda name, d, i: events.append(name)) if part_s else None)
    cuts: list[tuple[int, int, int]] = []
    latest, roomy, tags = 0, 0, 0
    for tag in flv.read_tags(source.read_bytes()):
        if tag.tag_type not in (flv.TAG_AUDIO, flv.TAG_VIDEO):
            continue
        slack = seg.slack_ms()
        assert slack >= 0
        before = len(events)
        seg.feed(tag)
        tags += 1
        roomy += slack >= 100
        if len(events) > before:
            cuts.append((tag.timestamp_ms, latest, slack))
        latest = max(latest, tag.timestamp_ms)
    seg.close()
    return cuts, 100 * roomy // tags


@pytest.mark.parametrize(("kind", "target_s", "part_s"), [
    ("av", 2.0, None), ("av", 1.0, 0.334), ("gop45", 2.0, None), ("gop45", 1.0, None), ("audio", 2.0, None),
    ("audio", 1.0, 0.334)])
def test_no_cut_comes_within_the_slack(sources: dict[str, Path], tmp_path: Path, kind: str, target_s: float,
                                       part_s: float | None) -> None:
    cuts, roomy = _walk(sources[kind], tmp_path, target_s, part_s)
    assert len(cuts) >= 2
    for ts, latest, slack in cuts:
        assert ts >= latest + slack, (ts, latest, slack)
    # The slack is worth having: most tags arrive while the next cut is at least 100 ms away (with
    # 0.334 s parts, about two thirds of a part's frames).
    assert roomy >= (50 if part_s else 75), roomy


def test_keyframe_interval_longer_than_the_target(sources: dict[str, Path], tmp_path: Path) -> None:
    """1.5 s GOPs, 1 s target: segments are cut every 1.5 s, and the slack waits for the next keyframe
    instead of reading 0 from the target on (so most of each 1.5 s has slack)."""
    cuts, roomy = _walk(sources["gop45"], tmp_path, 1.0, None)
    times = [ts for ts, _, _ in cuts]
    assert [b - a for a, b in itertools.pairwise(times)][:3] == [1500, 1500, 1500]
    assert roomy >= 80


def test_no_slack_before_the_first_segment(tmp_path: Path) -> None:
    seg = Segmenter(tmp_path, 2.0, lambda name, d: None)
    assert seg.slack_ms() == 0
