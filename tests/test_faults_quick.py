"""The quick variant of the fault suite (``bench/faults.py --quick``): workers SIGKILLed mid-transcode,
mid-analysis and mid-render lose nothing; mutated playback tokens are all refused; webhooks outlive a
receiver outage and a twice-killed dispatcher, once each and in order per resource."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_modules import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def faults():  # type: ignore[no-untyped-def]
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    from faultsuite import tokens, webhooks, workers

    return workers, tokens, webhooks


def test_killed_workers_lose_nothing(faults, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    workers, _, _ = faults
    rows = workers.killed_workers(tmp_path, assets=3, edits=3)
    assert all(r.ok for r in rows), [(r.scenario, r.lost) for r in rows]
    kills = {r.scenario: int(r.figures.get("kills", "0")) for r in rows}
    assert kills["worker SIGKILLed mid-vod.process"] >= 3, kills  # the faults really happened
    assert kills["worker SIGKILLed mid-edit.render"] >= 1, kills


def test_mutated_tokens_are_refused(faults, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, tokens, _ = faults
    (row,) = tokens.mutated_tokens(tmp_path, count=300)
    assert row.ok and row.figures["403"] == "300", (row.lost, row.figures)


def test_webhooks_outlive_an_outage_in_order(faults, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, webhooks = faults
    (row,) = webhooks.webhooks_down(tmp_path, streams=4, down_s=20.0, kills=2)
    assert row.ok, (row.lost, row.figures)
    assert row.tried == 20 and "2x" in row.scenario, row  # 4 resources x 5 events; both kills landed
