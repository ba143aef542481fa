"""Shot scores on known measures (no media): ``product`` prefers a subject centred on a plain background,
other styles do not look at it; a shot without the ``centre`` measure (older analyses) scores as even."""

from __future__ import annotations

from typing import Any

from vidlake.create.scoring import candidates
from vidlake.create.signals import AssetSignals


def _signals(centre: list[float]) -> AssetSignals:
    """Two 5 s scenes, alike in everything (sharpness, exposure, motion) but where their detail is."""
    times = [i * 0.25 for i in range(40)]
    quality: dict[str, Any] = {"sample_fps": 4.0, "times": times, "sharpness": [2.0] * 40, "luma": [0.5] * 40,
                               "dark": [0.0] * 40, "bright": [0.0] * 40, "motion": [0.01] * 40,
                               "contrast": [0.2] * 40}
    if centre:
        quality["centre"] = [centre[0] if t < 5.0 else centre[1] for t in times]
    scenes = {"scenes": [{"start": 0.0, "end": 5.0}, {"start": 5.0, "end": 10.0}]}
    return AssetSignals("a", 10.0, 1280, 720, {"scenes": scenes, "shot_quality": quality})


def test_product_prefers_the_centred_subject() -> None:
    product = {c.scene: c for c in candidates([(_signals([0.3, 0.92]), 0.0, 10.0)], "product")}
    assert product[1].scores["centred"] == 1.0 and product[0].scores["centred"] == 0.0
    assert product[1].score > product[0].score
    assert any("centred" in r for r in product[1].reasons)
    assert not any("centred" in r for r in product[0].reasons)
    energetic = {c.scene: c for c in candidates([(_signals([0.3, 0.92]), 0.0, 10.0)], "energetic")}
    assert energetic[1].score == energetic[0].score  # only product weighs it


def test_older_analyses_score_as_even_detail() -> None:
    old = {c.scene: c for c in candidates([(_signals([]), 0.0, 10.0)], "product")}
    assert old[0].scores["centred"] == old[1].scores["centred"] == 0.0
    assert "centre" not in old[0].measures
