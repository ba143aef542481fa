"""The beacon collector's parser, mux-embed's key dictionary and the score formulas, against known values (the
shortened keys as mux-embed 5.19's own encoder makes them, ``dist/mux.js``)."""

from __future__ import annotations

import json
import math

import pytest

from vidlake.analytics import collector, keys, metrics, scores


@pytest.mark.parametrize(("short", "full"), [
    ("xwati", "view_watch_time"),
    ("xtitofifr", "view_time_to_first_frame"),
    ("xsqno", "view_sequence_number"),
    ("psqno", "player_sequence_number"),
    ("vtt", "video_title"),
    ("ake", "env_key"),
    ("psuti", "player_startup_time"),
    ("xreco", "view_rebuffer_count"),
    ("xmauppe", "view_max_upscale_percentage"),
    ("mvrid", "mux_viewer_id"),
    ("perme", "player_error_message"),
    ("x_foo__bar_", "view_foo_bar"),  # words the SDK does not know: "_word_"
    ("zzz_ti", "zzz_time"),
])
def test_keys_expand_as_the_sdk_shortens(short: str, full: str) -> None:
    assert keys.expand_key(short) == full


def _beacon(*events: dict[str, object]) -> bytes:
    return json.dumps({"metadata": {"mux_embed_version": "5"}, "events": list(events)}).encode()


GOOD = {"e": "viewstart", "xid": "v1", "xsqno": 1, "ake": "k", "uti": 1_700_000_000_000}


@pytest.mark.parametrize(("body", "field"), [
    (b"not json", "body"),
    (b"[1, 2]", "body"),
    (_beacon(), "events"),
    (_beacon({**GOOD, "e": ""}), "events[0].e"),
    (_beacon(GOOD, {**GOOD, "xsqno": "two"}), "events[1].xsqno"),
    (_beacon({**GOOD, "xsqno": -1}), "events[0].xsqno"),
    (_beacon({**GOOD, "ake": 5}), "events[0].ake"),
    (_beacon({**GOOD, "xid": "x" * 200}), "events[0].xid"),
    (_beacon({**GOOD, "uti": "soon"}), "events[0].uti"),
    (json.dumps({"metadata": [], "events": [GOOD]}).encode(), "metadata"),
])
def test_malformed_beacons_are_refused_whole_naming_the_field(body: bytes, field: str) -> None:
    with pytest.raises(collector.BeaconError) as err:
        collector.parse(body, max_events=100)
    assert err.value.messages[0].startswith(field), err.value.messages


def test_events_outside_a_view_are_ignored_and_too_many_refused() -> None:
    parsed = collector.parse(_beacon(GOOD, {"e": "playerready", "xid": "-1"}), max_events=100)
    assert len(parsed.events) == 1 and parsed.ignored == 1
    with pytest.raises(collector.BeaconError) as err:
        collector.parse(_beacon(*[GOOD] * 3), max_events=2)
    assert err.value.reason == "too_many_events"


def test_scores_follow_mux_formulas() -> None:
    assert scores.startup_time_score(0) == 1.0
    assert scores.startup_time_score(8000) == pytest.approx(0.5)
    assert scores.smoothness_score(0, 0.0) == 1.0
    assert scores.smoothness_score(2, 0.1) == pytest.approx((1 / math.sqrt(2) + math.exp(-1)) / 2)
    assert scores.video_quality_score(0, 0) == 1.0
    assert scores.video_quality_score(1.0, 1.0) == pytest.approx(math.exp(-0.33))


def test_a_failed_view_scores_zero_and_an_early_exit_half() -> None:
    failed = scores.compute({"view_watch_time": 3000}, failed=True, ended=True, duration_s=5)
    assert failed.playback_success_score == 0.0 and failed.viewer_experience_score == 0.0
    exited = scores.compute({"view_watch_time": 3000}, failed=False, ended=True, duration_s=5)
    assert exited.exit_before_start and exited.playback_success_score == 0.5
    good = scores.compute({"view_watch_time": 10_000, "view_time_to_first_frame": 800,
                           "view_playing_time_ms_cumulative": 9000, "view_rebuffer_count": 1,
                           "view_rebuffer_duration": 500}, failed=False, ended=True, duration_s=10)
    assert good.video_startup_ms == 800 and good.rebuffer_percentage == pytest.approx(0.05)
    assert good.playing_time_ms == 9000 and not good.exit_before_start
    expected = (scores.startup_time_score(800) + scores.smoothness_score(1, 0.05)) / 2
    assert good.viewer_experience_score == pytest.approx(expected)


def test_percentiles_interpolate() -> None:
    assert metrics.percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert metrics.percentile([10.0] * 3 + [100.0], 95) == pytest.approx(86.5)
    assert metrics.percentile([], 50) is None
