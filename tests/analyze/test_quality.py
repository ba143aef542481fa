"""Black, frozen and letterbox analysers on deliberately damaged copies of a test clip."""

from __future__ import annotations

from typing import Any

import pytest

from vidlake.analyze.base import run_analysers
from vidlake.analyze.quality import BlackFrameDetector, FrozenFrameDetector, LetterboxDetector


def _all() -> list[Any]:
    return [BlackFrameDetector(), FrozenFrameDetector(), LetterboxDetector()]


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "full"])
def test_a_clean_clip_has_no_defect(make_clip: Any, fast: bool) -> None:
    clip = make_clip("clean.mp4", "testsrc2", seconds=3.0, size="640x360")
    out = run_analysers(clip, _all(), fast=fast)
    assert out["black"]["intervals"] == [] and out["frozen"]["intervals"] == []
    assert out["letterbox"]["active"] == {"x": 0, "y": 0, "width": 640, "height": 360}


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "full"])
def test_black_and_frozen_sections_are_found(make_clip: Any, fast: bool) -> None:
    damaged = "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(t,1,1.96)'," \
              "split[a][b];[a][b]freezeframes=first=75:last=110:replace=74"
    clip = make_clip("damaged.mp4", "testsrc2", seconds=5.0, size="640x360", extra=("-vf", damaged))
    out = run_analysers(clip, _all(), fast=fast)
    (black,) = out["black"]["intervals"]
    assert black["start"] == pytest.approx(1.0, abs=0.13) and black["end"] == pytest.approx(2.0, abs=0.13)
    # Frames 75..110 repeat frame 74: the picture stands still from 2.96 s to 4.44 s.
    frozen = [i for i in out["frozen"]["intervals"] if i["start"] > 2.5]
    assert len(frozen) == 1
    assert frozen[0]["start"] == pytest.approx(2.96, abs=0.13) and frozen[0]["end"] == pytest.approx(4.44, abs=0.13)
    # The black second is also a still picture; nothing else is.
    assert len(out["frozen"]["intervals"]) <= 2


@pytest.mark.parametrize(
    ("vf", "bars"),
    [
        ("scale=640:270,pad=640:360:0:45:black", (45, 45, 0, 0)),
        ("scale=480:360,pad=640:360:80:0:black", (0, 0, 80, 80)),
        ("scale=560:300,pad=640:360:40:20:black", (20, 40, 40, 40)),
    ],
    ids=["letterbox", "pillarbox", "windowbox"],
)
def test_bars_are_measured_in_source_pixels(make_clip: Any, vf: str, bars: tuple[int, int, int, int]) -> None:
    clip = make_clip("bars.mp4", "testsrc2", seconds=1.0, size="640x360", extra=("-vf", vf))
    out = run_analysers(clip, [LetterboxDetector()])["letterbox"]
    found = (out["top"], out["bottom"], out["left"], out["right"])
    assert all(abs(a - b) <= 4 for a, b in zip(found, bars, strict=True)), found
    assert out["active"]["width"] == 640 - out["left"] - out["right"]
