"""The roll-up on SQLite and PostgreSQL: beacons stored by the collector (a repeat dropped, events out of
order) become one view with the merged data and Mux's metrics; running it again changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, update

from vidlake.analytics import collector, keys, rollup
from vidlake.core.settings import Settings
from vidlake.db.analytics_models import VideoView, ViewerEvent
from vidlake.db.models import Environment
from vidlake.runtime import Services
from vidlake.startup import build_services


@pytest.fixture()
def services(settings: Settings) -> Iterator[Services]:
    services = build_services(settings)
    with services.db.session() as session:
        session.add(Environment(id="env1", name="test"))
    yield services
    services.close()


def _store(services: Services, key: str, *events: dict[str, object]) -> collector.Stored:
    body = json.dumps({"metadata": {}, "events": list(events)}).encode()
    return collector.store(services.db, collector.parse(body, 100), "Mozilla/5.0 Chrome/120.0 Safari/537.36",
                           1_800_000_000.0)


def test_views_merge_in_sequence_and_roll_up_once(services: Services) -> None:
    with services.db.session() as session:
        key = keys.env_key_for(session, "env1")
    assert key
    base = {"xid": "view-1", "ake": key}
    start = {**base, "e": "viewstart", "xsqno": 1, "vtt": "直播带货 demo", "pnm": "Vidlake player", "mvrid": "u1"}
    first_frame = {**base, "e": "playing", "xsqno": 2, "xtitofifr": 640, "xwati": 1000}
    rebuffer = {**base, "e": "rebufferend", "xsqno": 3, "xreco": 1, "xredu": 500, "xwati": 6000}
    end = {**base, "e": "viewend", "xsqno": 4, "xwati": 10_000, "xpntimscv": 9000, "vtt": "renamed"}
    assert _store(services, key, start, rebuffer).stored == 2
    assert _store(services, key, first_frame, end, end).duplicates == 1  # the SDK's repeated last beacon
    rollup.roll_up(services, budget_s=10)
    rollup.roll_up(services, budget_s=10)  # nothing new: the same view
    with services.db.session() as session:
        (view,) = session.scalars(select(VideoView)).all()
        assert session.scalar(select(func.count()).select_from(ViewerEvent).where(
            ViewerEvent.rolled_up.is_(False))) == 0
        assert view.event_count == 4 and view.ended and view.started
        assert view.video_startup_ms == 640 and view.watch_time_ms == 10_000 and view.playing_time_ms == 9000
        assert view.rebuffer_count == 1 and view.rebuffer_percentage == pytest.approx(0.05)
        assert view.video_title == "renamed" and view.player_name == "Vidlake player" and view.viewer_id == "u1"
        assert view.browser == "Chrome" and not view.failed
        assert 0 < (view.viewer_experience_score or 0) < 1


def test_a_fatal_error_fails_the_view(services: Services) -> None:
    with services.db.session() as session:
        key = keys.env_key_for(session, "env1")
    assert key
    base = {"xid": "view-2", "ake": key}
    _store(services, key, {**base, "e": "viewstart", "xsqno": 1},
           {**base, "e": "error", "xsqno": 2, "percd": "2", "perme": "manifestLoadError"})
    rollup.roll_up(services, budget_s=10)
    with services.db.session() as session:
        view = session.get(VideoView, "view-2")
        assert view is not None and view.failed and view.error_message == "manifestLoadError"
        assert view.playback_success_score == 0.0 and not view.exit_before_start


def test_unknown_keys_are_remembered_not_looked_up_per_beacon(services: Services) -> None:
    """A made-up key is answered from the cache after its first lookup (a flood of bogus keys costs one
    query per key and half-minute); a real key resolves to its environment."""
    bogus = keys.new_env_key()  # the cache is process-wide: a key of its own per run
    assert not collector.KEY_CACHE.cached(bogus)
    assert collector.KEY_CACHE.lookup(services.db, bogus) is None
    assert collector.KEY_CACHE.cached(bogus)
    with services.db.session() as session:  # cannot happen (keys are made by the server): shows the cache
        session.execute(update(Environment).where(Environment.id == "env1").values(data_env_key=bogus))
    assert collector.KEY_CACHE.lookup(services.db, bogus) is None
    with services.db.session() as session:
        real = keys.env_key_for(session, "env1")
    assert real == bogus
    fresh = keys.new_env_key()
    with services.db.session() as session:
        session.execute(update(Environment).where(Environment.id == "env1").values(data_env_key=fresh))
    assert collector.KEY_CACHE.lookup(services.db, fresh) == "env1"
