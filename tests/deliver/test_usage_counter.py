"""The delivery counter on its own: durations from a live LL-HLS output's playlists (parts, a segment
written later, one that slid out of the window), tiers, and flushes that add up in one hourly row."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from vidlake.core.settings import Settings
from vidlake.db.models import Asset, DeliveryUsage, Environment, LiveStream
from vidlake.deliver import usage
from vidlake.deliver.resolve import PlaybackTarget
from vidlake.runtime import Services
from vidlake.startup import build_services

PREFIX = "live/env1/ls1/s1"
MASTER = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1920x1080
v0.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=1280x720
v1.m3u8
"""


def _media(first: int, count: int, parts: bool) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:9", "#EXT-X-TARGETDURATION:2", f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    if parts:
        lines.append("#EXT-X-PART-INF:PART-TARGET=0.5")
    lines.append('#EXT-X-MAP:URI="run0/v0/init.mp4"')
    for n in range(first, first + count):
        lines += ["#EXTINF:2.000,", f"run0/v0/seg_{n:05d}.m4s"]
    if parts:
        lines.append(f'#EXT-X-PART:DURATION=0.480,URI="run0/v0/part_{first + count:05d}_0.m4s",INDEPENDENT=YES')
    return "\n".join(lines) + "\n"


@pytest.fixture()
def services(settings: Settings) -> Iterator[Services]:
    services = build_services(settings)  # on SQLite and on PostgreSQL (tests/conftest.py)
    with services.db.session() as session:
        session.add(Environment(id="env1", name="test"))
        session.flush()
        session.add(LiveStream(id="ls1", environment_id="env1", stream_key="k", active_asset_id="liveasset"))
    services.storage.put_bytes(f"{PREFIX}/master.m3u8", MASTER.encode())
    services.storage.put_bytes(f"{PREFIX}/v0.m3u8", _media(0, 3, parts=True).encode())
    services.storage.put_bytes(f"{PREFIX}/v1.m3u8", _media(0, 3, parts=False).replace("v0/", "v1/").encode())
    yield services
    services.close()


TARGET = PlaybackTarget(playback_id="p1", policy="public", environment_id="env1", hls_prefix=PREFIX,
                        complete=False, duration_s=None, live_stream_id="ls1")


def test_tiers() -> None:
    assert usage.tier_of((640, 360)) == usage.tier_of((1280, 720)) == "tier_720p"
    assert usage.tier_of((1080, 1920)) == "tier_1080p"  # portrait: the short side
    assert usage.tier_of((2560, 1440)) == "tier_1440p" and usage.tier_of((3840, 2160)) == "tier_2160p"
    assert usage.tier_of(None) == "tier_audio_only"


def test_live_durations_parts_and_rereads(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = usage.UsageCounter()
    assert counter.count(services, TARGET, "run0/v0/seg_00001.m4s") == 2.0
    assert counter.count(services, TARGET, "run0/v1/seg_00002.m4s") == 2.0
    assert counter.count(services, TARGET, "run0/v0/part_00003_0.m4s") == pytest.approx(0.48)
    assert counter.count(services, TARGET, "run0/v0/init.mp4") == 0.0  # no media in an init segment
    assert counter.count(services, TARGET, "run0/v0/seg_00099.m4s") == 0.0  # listed nowhere
    # The window slides: a new segment is found on a reread, the one that left the window still counts.
    services.storage.put_bytes(f"{PREFIX}/v0.m3u8", _media(1, 3, parts=False).encode())
    monkeypatch.setattr(usage, "LIVE_REREAD_S", 0.0)
    assert counter.count(services, TARGET, "run0/v0/seg_00003.m4s") == 2.0
    assert counter.count(services, TARGET, "run0/v0/seg_00000.m4s") == 2.0
    pending = counter.take()
    by_tier = {key[4]: seconds for key, seconds in pending.items()}
    assert by_tier == pytest.approx({"tier_1080p": 6.48, "tier_720p": 2.0})


def test_flushes_add_to_one_hourly_row_of_the_live_asset(services: Services) -> None:
    counter = usage.UsageCounter()
    for _ in range(3):
        counter.count(services, TARGET, "run0/v0/seg_00001.m4s")
    assert counter.flush(services, force=True) == 1
    counter.count(services, TARGET, "run0/v0/seg_00002.m4s")
    assert counter.flush(services, force=True) == 1
    assert counter.flush(services, force=True) == 0  # nothing pending: no write
    with services.db.session() as session:
        rows = session.scalars(select(DeliveryUsage)).all()
        assert [(r.asset_id, r.live_stream_id, r.tier, r.seconds, r.hour % usage.HOUR_S) for r in rows] == [
            ("liveasset", "ls1", "tier_1080p", 8.0, 0)]


def test_live_stream_report_joins_live_and_later_playback_of_its_asset(services: Services) -> None:
    """``live_stream_id=`` reports the live stream's asset once: its live delivery and its VOD playback."""
    from vidlake.api.routes.delivery_usage import list_delivery_usage
    from vidlake.api.schemas.common import Page
    from vidlake.auth.tokens import Principal

    with services.db.session() as session:
        session.add(Asset(id="liveasset", environment_id="env1", status="ready", live_stream_id="ls1", duration=6.0))
        session.add(DeliveryUsage(environment_id="env1", asset_id="liveasset", live_stream_id="ls1", hour=7200,
                                  tier="tier_1080p", seconds=4.0))
        session.add(DeliveryUsage(environment_id="env1", asset_id="liveasset", live_stream_id="", hour=7200,
                                  tier="tier_720p", seconds=1.5))
        session.add(DeliveryUsage(environment_id="env1", asset_id="", live_stream_id="ls2", hour=7200,
                                  tier="tier_720p", seconds=2.0))
    principal = Principal(token_id="t", environment_id="env1", permission="full")
    with services.db.session() as session:
        body = list_delivery_usage(principal, session, Page(limit=25, page=1), live_stream_id="ls1",
                                   timeframe=["7000", "7300"])
        everything = list_delivery_usage(principal, session, Page(limit=25, page=1), timeframe=["7000", "7300"])
    assert body["total_row_count"] == 1
    (report,) = body["data"]
    assert (report["asset_id"], report["live_stream_id"], report["delivered_seconds"]) == ("liveasset", "ls1", 5.5)
    assert report["delivered_seconds_by_resolution"] == {"tier_1080p": 4.0, "tier_720p": 1.5}
    assert [(r["asset_id"], r["live_stream_id"]) for r in everything["data"]] == [("liveasset", "ls1"),
                                                                                 (None, "ls2")]
