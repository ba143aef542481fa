"""The scoring rules used by the tests and the benchmark."""

from __future__ import annotations

from vidlake.analyze.evaluation import Event, score_video

TRUTH = [
    Event("cut", 2.0, 2.0),
    Event("dissolve", 4.0, 5.0),
    Event("flash", 6.0, 6.04),
    Event("pan", 8.0, 10.0),
    Event("fade", 12.0, 13.0),
]


def test_perfect_detection() -> None:
    found = [Event("cut", 2.0, 2.0), Event("dissolve", 4.1, 4.9), Event("fade", 12.0, 13.0)]
    report = score_video(TRUTH, found)
    assert report.overall.f1 == 1.0
    assert report.by_type["cut"].tp == 1 and report.by_type["flash"].fp == 0


def test_tolerance_and_one_to_one_matching() -> None:
    found = [Event("cut", 2.08, 2.08), Event("cut", 2.04, 2.04), Event("cut", 2.5, 2.5)]
    report = score_video(TRUTH, found, tolerance=0.1)
    assert report.by_type["cut"].tp == 1
    assert report.by_type["cut"].fp == 2  # the duplicate and the late one
    assert report.by_type["dissolve"].fn == 1 and report.by_type["fade"].fn == 1


def test_false_positives_are_charged_to_the_zone_they_fall_in() -> None:
    found = [Event("cut", 6.04, 6.04), Event("cut", 9.0, 9.0), Event("dissolve", 15.0, 15.5)]
    report = score_video(TRUTH, found)
    assert report.by_type["flash"].fp == 1
    assert report.by_type["pan"].fp == 1
    assert report.by_type["fade"].fp == 1  # nearest truth row
    assert report.overall.tp == 0 and report.overall.fp == 3 and report.overall.fn == 3
    assert report.by_type["cut"].f1 == 0.0
