"""Highlight choice on known signals (no media): keywords and prices pull a clip to them, loud lively
stretches win over quiet ones, clips start and end on sentence or scene boundaries and never overlap."""

from __future__ import annotations

import itertools
from typing import Any

from vidlake.create import highlights
from vidlake.create.signals import AssetSignals

DURATION = 120.0


def _signals(words: list[dict[str, Any]], loud: tuple[float, float] | None = None,
             cuts: list[float] | None = None) -> AssetSignals:
    energy = [0.9 if loud and loud[0] <= i * 0.5 < loud[1] else 0.3 for i in range(int(DURATION / 0.5))]
    edges = [0.0, *(cuts or []), DURATION]
    scenes = [{"start": a, "end": b} for a, b in itertools.pairwise(edges)]
    return AssetSignals("rec", DURATION, 1280, 720, {"captions": {"words": words}, "beats": {"energy": energy},
                                                      "scenes": {"scenes": scenes}})


def _sentence(start: float, text: str, seconds: float = 3.0) -> list[dict[str, Any]]:
    step = seconds / len(text)
    return [{"text": ch, "start": start + i * step, "end": start + (i + 1) * step} for i, ch in enumerate(text)]


def _talk(start: float, end: float, text: str = "今天天气很好我们聊聊天。") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    t = start
    while t + 3 <= end:
        out += _sentence(t, text)
        t += 4.0
    return out


def test_a_keyword_pulls_the_clip_to_it() -> None:
    words = _talk(0, 60) + _sentence(64, "马上上链接，只要九十九元。") + _talk(68, 120)
    (clip,) = highlights.choose(_signals(words), 0, DURATION, {"count": 1, "clip_duration": 20})
    assert clip.start <= 64 and clip.end >= 67, clip
    assert any("上链接" in r or "九十九元" in r for r in clip.reasons), clip.reasons


def test_the_request_s_own_keywords_count() -> None:
    words = _talk(0, 80) + _sentence(84, "这款面霜很好用。") + _talk(88, 120)
    (clip,) = highlights.choose(_signals(words), 0, DURATION, {"count": 1, "keywords": ["面霜"]})
    assert clip.start <= 84 and clip.end >= 87 and any("面霜" in r for r in clip.reasons)


def test_loud_lively_stretch_wins_and_clips_do_not_overlap() -> None:
    words = _talk(0, 120)
    clips = highlights.choose(_signals(words, loud=(70, 95), cuts=[70.0, 95.0]), 0, DURATION,
                              {"count": 3, "clip_duration": 20})
    assert len(clips) == 3 and [c.start for c in clips] == sorted(c.start for c in clips)
    assert all(a.end <= b.start for a, b in itertools.pairwise(clips))
    best = max(clips, key=lambda c: c.score)
    assert min(best.end, 95) - max(best.start, 70) >= 0.8 * (best.end - best.start)
    starts = {w["start"] for w in words} | {0.0, 70.0, 95.0}
    assert all(any(abs(c.start - s) < 1e-6 for s in starts) for c in clips)
    assert all(15 <= c.end - c.start <= 60 for c in clips)


def test_black_and_frozen_runs_are_left_out() -> None:
    signals = _signals(_talk(0, 120), loud=(40, 80))
    signals.results["black"] = {"intervals": [{"start": 50.0, "end": 52.0}]}
    for clip in highlights.choose(signals, 0, DURATION, {"count": 3, "clip_duration": 20}):
        assert clip.end <= 50 or clip.start >= 52, clip
