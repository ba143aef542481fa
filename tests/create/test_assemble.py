"""Cut grids and shot assignment on known inputs (no media): cuts on the beats the style asks for, slots
that add up to the duration, the best shots first, no shot twice in a row, faces kept in frame."""

from __future__ import annotations

import itertools

import pytest

from vidlake.create import assemble
from vidlake.create.scoring import Candidate

BEATS = {"tempo_bpm": 120.0, "beats": [0.5 * i for i in range(80)], "downbeats": [2.0 * i for i in range(20)]}


@pytest.mark.parametrize(("style", "step"), [("energetic", 1.0), ("product", 2.0), ("calm", 4.0), ("vlog", 4.0)])
def test_cuts_follow_the_style(style: str, step: float) -> None:
    cuts = assemble.cut_times(30.0, style, BEATS)
    assert cuts[0] == step and all(b - a == pytest.approx(step) for a, b in itertools.pairwise(cuts))
    assert all(c in BEATS["beats"] for c in cuts) and cuts[-1] < 30.0


def test_slow_music_cuts_every_beat_and_no_music_cuts_a_grid() -> None:
    slow = {"tempo_bpm": 80.0, "beats": [0.75 * i for i in range(60)], "downbeats": []}
    assert assemble.cut_times(15.0, "energetic", slow)[:3] == [0.75, 1.5, 2.25]
    assert assemble.cut_times(15.0, "calm", None) == [4.0, 8.0, 12.0]


def _cand(i: int, scene: int, start: float, end: float, score: float) -> Candidate:
    return Candidate(input_index=i, asset_id=f"a{i}", scene=scene, start=start, end=end, score=score,
                     reasons=["test"])


def test_fill_prefers_better_shots_and_reuses_long_ones() -> None:
    slots = assemble.slots_for(6.0, [1.0, 2.0, 3.0, 4.0, 5.0])
    assert sum(s.length for s in slots) == pytest.approx(6.0)
    cands = [_cand(0, 0, 0, 10, 0.9), _cand(1, 0, 0, 1.2, 0.5), _cand(1, 1, 2, 3.5, 0.2),
             _cand(0, 1, 20, 20.9, 1.0), _cand(2, 0, 0, 5, 0.4)]
    assemble.fill(slots, cands, {}, 0.0)
    chosen = [s.candidate for s in slots]
    assert chosen[0] is not None and (chosen[0].input_index, chosen[0].scene) == (0, 0)  # 20-20.9 is too short
    for a, b in itertools.pairwise(chosen):
        assert a is not None and b is not None and (a.input_index, a.scene) != (b.input_index, b.scene)
    windows = [(s.source_start, s.source_start + s.length) for s in slots if s.candidate.input_index == 0]
    assert all(a1 <= b0 or b1 <= a0 for i, (a0, a1) in enumerate(windows) for b0, b1 in windows[i + 1:])


def test_fill_says_what_is_missing() -> None:
    slots = assemble.slots_for(6.0, [3.0])
    with pytest.raises(assemble.NotEnoughFootage, match=r"needs 3\.0 s"):
        assemble.fill(slots, [_cand(0, 0, 0, 2, 0.5)], {}, 0.0)


def test_face_focus_is_the_largest_face() -> None:
    faces = {"frames": [{"time": 1.0, "faces": [{"box": [0.7, 0.2, 0.9, 0.5]}, {"box": [0.1, 0.1, 0.12, 0.13]}]},
                        {"time": 1.5, "faces": [{"box": [0.72, 0.2, 0.92, 0.5]}]},
                        {"time": 9.0, "faces": [{"box": [0.0, 0.0, 0.5, 0.5]}]}]}
    x, y = assemble.face_focus(faces, 0.5, 2.0) or (0, 0)
    assert x == pytest.approx(0.81) and y == pytest.approx(0.35)
    assert assemble.face_focus(faces, 3.0, 4.0) is None


def test_vlog_windows_fall_between_sentences() -> None:
    # Sentences of input 0 at 0.5-3.5, 4.0-7.5 and 8.0-11.0 s; a 4 s slot can start at 3.7 and end at 7.7.
    spoken = {0: [(0.5, 3.5), (4.0, 7.5), (8.0, 11.0)]}
    cand = _cand(0, 0, 0.0, 12.0, 0.9)
    start = assemble.clean_start(cand, 4.0, spoken[0])
    assert start is not None and start == pytest.approx(3.7)
    slots = assemble.slots_for(8.0, [4.0])
    assemble.fill(slots, [cand, _cand(1, 0, 0.0, 12.0, 0.5)], {}, 0.0, spoken)
    first = slots[0]
    assert first.candidate is cand and first.source_start == pytest.approx(3.7) and first.cuts_sentence is False
    for edge in (first.source_start, first.source_start + first.length):
        assert not any(a - 0.15 < edge < b + 0.15 for a, b in spoken[0]), edge
    # Without the sentences the window would have started at 0.0 and ended inside the second one.
    plain = assemble.slots_for(8.0, [4.0])
    assemble.fill(plain, [_cand(0, 0, 0.0, 12.0, 0.9), _cand(1, 0, 0.0, 12.0, 0.5)], {}, 0.0)
    assert plain[0].source_start == 0.0 and plain[0].cuts_sentence is None


def test_vlog_prefers_a_shot_with_a_pause_that_fits() -> None:
    # Input 0 speaks without a pause long enough; input 1, scored a little lower, has one.
    spoken = {0: [(0.0, 12.0)], 1: [(0.2, 2.0), (6.5, 9.0)]}
    slots = assemble.slots_for(4.0, [])
    assemble.fill(slots, [_cand(0, 0, 0.0, 12.0, 0.8), _cand(1, 0, 0.0, 12.0, 0.7)], {}, 0.0, spoken)
    assert slots[0].candidate is not None and slots[0].candidate.input_index == 1
    assert slots[0].cuts_sentence is False and slots[0].public()["cuts_sentence"] is False
    # With no clean window anywhere, the slot is filled and says it cuts a sentence.
    only = assemble.slots_for(4.0, [])
    assemble.fill(only, [_cand(0, 0, 0.0, 12.0, 0.8)], {}, 0.0, spoken)
    assert only[0].cuts_sentence is True
