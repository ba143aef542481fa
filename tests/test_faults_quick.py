"""The quick variant of the fault suite (``bench/faults.py --quick``): workers SIGKILLed mid-transcode,
mid-analysis and mid-render lose nothing; mutated playback tokens are all refused; webhooks outlive a
receiver outage and a twice-killed dispatcher, once each and in order per resource; RTMP fuzzing beside a
good publisher and mutated media through the probe crash and hang nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_modules import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def faults():  # type: ignore[no-untyped-def]
    """The scenario modules of ``bench/faultsuite`` (as attributes)."""
    import sys
    from types import SimpleNamespace

    sys.path.insert(0, str(REPO / "bench"))
    from faultsuite import load, media_fuzz, rtmp_fuzz, tokens, uploads_cut, webhooks, workers

    return SimpleNamespace(workers=workers, tokens=tokens, webhooks=webhooks, rtmp_fuzz=rtmp_fuzz,
                           media_fuzz=media_fuzz, load=load, uploads_cut=uploads_cut)


def test_killed_workers_lose_nothing(faults, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = faults.workers.killed_workers(tmp_path, assets=3, edits=3)
    assert all(r.ok for r in rows), [(r.scenario, r.lost) for r in rows]
    kills = {r.scenario: int(r.figures.get("kills", "0")) for r in rows}
    assert kills["worker SIGKILLed mid-vod.process"] >= 3, kills  # the faults really happened
    assert kills["worker SIGKILLed mid-edit.render"] >= 1, kills


def test_mutated_tokens_are_refused(faults, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (row,) = faults.tokens.mutated_tokens(tmp_path, count=300)
    assert row.ok and row.figures["403"] == "300", (row.lost, row.figures)


def test_webhooks_outlive_an_outage_in_order(faults, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (row,) = faults.webhooks.webhooks_down(tmp_path, streams=4, down_s=20.0, kills=2)
    assert row.ok, (row.lost, row.figures)
    assert row.tried == 20 and "2x" in row.scenario, row  # 4 resources x 5 events; both kills landed


def test_rtmp_fuzzing_leaves_the_good_stream_alone(faults, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (row,) = faults.rtmp_fuzz.rtmp_fuzz(tmp_path, seconds=20.0)
    assert row.ok, (row.lost, row.figures)
    assert int(row.figures["sessions"]) >= 20, row.figures  # the fuzzing really ran


def test_mutated_media_neither_hangs_nor_crashes(faults, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (row,) = faults.media_fuzz.mutated_media(tmp_path, count=27)
    assert row.ok, (row.lost, row.figures)
    assert row.tried == 34 and int(row.figures.get("ready", "0")) >= 1, row.figures  # some got through


def test_load_answers_every_request(faults, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = faults.load.load(tmp_path, live_viewers=20, vod_viewers=5, view_s=8.0, publishers=4, publish_s=20.0,
                     api_rate=100.0, api_s=4.0)
    assert all(r.ok for r in rows), [(r.scenario, r.lost) for r in rows]
    viewers, versus, publishers, api = rows
    assert int(viewers.figures["requests"]) > 100 and publishers.held == 4, (viewers.figures, publishers)
    assert versus.figures["nginx segment p50/p99 (ms)"] != "-" and int(api.figures["achieved (req/s)"]) > 50


def test_cut_uploads_resume_byte_identical(faults, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (row,) = faults.uploads_cut.uploads_cut(tmp_path, count=8)
    assert row.ok, (row.lost, row.figures)
    injected = sum(int(v) for k, v in row.figures.items() if k.startswith("faults ") and k != "faults pass")
    assert injected >= 3, row.figures  # the proxy really broke connections
