from __future__ import annotations

from vidlake.ffmpeg import ProgressParser

BLOCK = """frame=50
fps=0.00
out_time_us=2000000
out_time_ms=2000000
out_time=00:00:02.000000
speed=4.5x
progress=continue
"""


def test_parses_blocks_into_percent() -> None:
    parser = ProgressParser(duration_s=8.0)
    results = [p for line in BLOCK.splitlines() if (p := parser.feed(line))]
    assert len(results) == 1
    assert results[0].out_time_s == 2.0 and results[0].percent == 25.0
    assert results[0].speed == 4.5 and results[0].frame == 50 and not results[0].ended
    end = [p for line in ["out_time_us=N/A", "speed=N/A", "progress=end"] if (p := parser.feed(line))]
    assert end[0].ended and end[0].percent == 100.0 and end[0].speed is None


def test_percent_clamped_and_unknown_duration() -> None:
    parser = ProgressParser(duration_s=1.0)
    parser.feed("out_time_us=5000000")
    p = parser.feed("progress=continue")
    assert p is not None and p.percent == 100.0
    q = ProgressParser(None)
    q.feed("out_time_us=5000000")
    r = q.feed("progress=continue")
    assert r is not None and r.percent is None and r.out_time_s == 5.0


def test_ignores_garbage() -> None:
    parser = ProgressParser(10)
    assert parser.feed("") is None and parser.feed("no equals sign") is None
