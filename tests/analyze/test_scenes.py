"""Shot boundary detection on the small generated corpus, scored against bench/corpus/truth.csv."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from vidlake.analyze.base import run_analysers
from vidlake.analyze.evaluation import Event, Report, score_video
from vidlake.analyze.scenes import ShotDetector

SMALL = ("cuts", "fades", "dissolves", "flashes", "pans")


def test_truth_table_matches_the_edit_list(corpus_generator: ModuleType) -> None:
    committed = corpus_generator.read_truth()
    assert committed == corpus_generator.truth_rows(), "run: python bench/corpus/generate.py --write-truth"
    assert {e.name for e in corpus_generator.EDITS if e.small} == set(SMALL)


def _truth(gen: ModuleType, video: str) -> list[Event]:
    return [Event(r["type"], float(r["start_s"]), float(r["end_s"])) for r in gen.read_truth()
            if r["video"] == video]


@pytest.fixture(scope="module", params=[True, False], ids=["fast", "full"])
def detections(request: pytest.FixtureRequest, small_corpus: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """ShotDetector results per small video, in fast (I/P frames) and full decode modes."""
    return {name: run_analysers(path, [ShotDetector()], fast=request.param) for name, path in small_corpus.items()}


def _report(gen: ModuleType, detections: dict[str, dict[str, Any]]) -> Report:
    total = Report()
    for name, out in detections.items():
        found = [Event(t["type"], t["start"], t["end"]) for t in out["scenes"]["transitions"]]
        total.add(score_video(_truth(gen, name), found))
    return total


def test_f1_per_transition_type(corpus_generator: ModuleType, detections: dict[str, dict[str, Any]]) -> None:
    report = _report(corpus_generator, detections)
    scores = {t: round(s.f1, 3) for t, s in report.by_type.items()}
    assert report.by_type["cut"].tp >= 10, scores
    assert report.by_type["cut"].f1 >= 0.95, scores
    assert report.by_type["fade"].f1 >= 0.85, scores
    assert report.by_type["dissolve"].f1 >= 0.8, scores


def test_no_boundaries_in_flashes_pans_and_zooms(corpus_generator: ModuleType,
                                                detections: dict[str, dict[str, Any]]) -> None:
    report = _report(corpus_generator, detections)
    assert report.by_type["flash"].fp == 0
    assert report.by_type["pan"].fp == 0
    assert report.by_type["zoom"].fp == 0


def test_gradual_transitions_are_labelled(corpus_generator: ModuleType,
                                          detections: dict[str, dict[str, Any]]) -> None:
    for video, kind in (("fades", "fade"), ("dissolves", "dissolve"), ("cuts", "cut")):
        kinds = [t["type"] for t in detections[video]["scenes"]["transitions"]]
        assert kinds and kinds.count(kind) >= len(kinds) - 1, (video, kinds)
    for t in detections["dissolves"]["scenes"]["transitions"]:
        assert t["end"] - t["start"] >= 0.2  # a dissolve has an extent, in seconds


def test_scenes_tile_the_video_and_chapters_have_keyframes(detections: dict[str, dict[str, Any]]) -> None:
    for out in detections.values():
        scenes = out["scenes"]["scenes"]
        assert len(scenes) == len(out["scenes"]["transitions"]) + 1
        assert scenes[0]["start"] == 0.0
        assert scenes[-1]["end"] == pytest.approx(out["video"]["duration"], abs=0.05)
        assert all(a["end"] == b["start"] for a, b in itertools.pairwise(scenes))
        chapters = out["scenes"]["chapters"]
        assert chapters and chapters[0]["start"] == 0.0 and chapters[-1]["end"] == scenes[-1]["end"]
        for c in chapters:
            assert c["start"] <= c["keyframe"] < c["end"]
            assert c["end"] - c["start"] >= 4.0 or len(chapters) == 1


def test_cuts_are_placed_on_the_first_frame_of_the_new_shot(corpus_generator: ModuleType,
                                                            detections: dict[str, dict[str, Any]]) -> None:
    truth = [e.start for e in _truth(corpus_generator, "cuts")]
    found = [t["start"] for t in detections["cuts"]["scenes"]["transitions"]]
    assert len(found) == len(truth)
    # Exact in full mode; x264 puts an I/P frame on each cut, so fast mode is exact here too.
    assert max(abs(a - b) for a, b in zip(truth, found, strict=True)) <= 0.081


def test_a_single_shot_has_no_transition(make_clip: Any) -> None:
    clip = make_clip("one.mp4", "testsrc2", seconds=3.0)
    out = run_analysers(clip, [ShotDetector()])["scenes"]
    assert out["transitions"] == []
    assert len(out["scenes"]) == 1 and len(out["chapters"]) == 1


def test_a_fade_in_from_black_at_the_start_is_not_a_transition(make_clip: Any) -> None:
    clip = make_clip("fadein.mp4", "testsrc2", seconds=3.0, extra=("-vf", "fade=t=in:st=0:d=1,fade=t=out:st=2:d=1"))
    assert run_analysers(clip, [ShotDetector()])["scenes"]["transitions"] == []
