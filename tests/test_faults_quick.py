"""The quick variant of the fault suite (``bench/faults.py --quick``): workers SIGKILLed mid-transcode,
mid-analysis and mid-render lose nothing; mutated playback tokens are all refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_modules import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def faults():  # type: ignore[no-untyped-def]
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    from faultsuite import tokens, workers

    return workers, tokens


def test_killed_workers_lose_nothing(faults, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    workers, _ = faults
    rows = workers.killed_workers(tmp_path, assets=3, edits=3)
    assert all(r.ok for r in rows), [(r.scenario, r.lost) for r in rows]
    kills = {r.scenario: int(r.figures.get("kills", "0")) for r in rows}
    assert kills["worker SIGKILLed mid-vod.process"] >= 3, kills  # the faults really happened
    assert kills["worker SIGKILLed mid-edit.render"] >= 1, kills


def test_mutated_tokens_are_refused(faults, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, tokens = faults
    (row,) = tokens.mutated_tokens(tmp_path, count=300)
    assert row.ok and row.figures["403"] == "300", (row.lost, row.figures)
