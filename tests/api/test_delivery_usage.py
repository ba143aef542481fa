"""Delivery usage: segments played over real HTTP are counted (media seconds, per resolution tier),
flushed by the maintenance pass, and reported by ``GET /video/v1/delivery-usage`` (also to mux-python)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mux_python
import pytest
from media import FileServer, make_av
from services import VidlakeServer, fresh_pg_database
from test_assets import wait_asset

from vidlake.db.migrate import upgrade
from vidlake.package import hls

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[VidlakeServer]:
    """The server on PostgreSQL (as in production): the hourly upserts and the grouped report run there."""
    root = Path(tmp_path_factory.mktemp("usage-server"))
    db_url = fresh_pg_database(postgres_url, "usage" + root.name)
    upgrade(db_url)
    srv = VidlakeServer(root, env={"VIDLAKE_DATABASE_URL": db_url}, workers=1).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def played(server: VidlakeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A ready VOD asset whose every segment was fetched once (one twice more, once as a byte range)."""
    root = tmp_path_factory.mktemp("usage")
    make_av(root / "clip.mp4", seconds=3)
    files = FileServer(root)
    with server.client() as c:
        asset = c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/clip.mp4"}],
                                                 "playback_policy": ["public"], "passthrough": "usage"}).json()["data"]
        asset = wait_asset(c, asset["id"])
    files.close()
    assert asset["status"] == "ready", asset
    pid = asset["playback_ids"][0]["id"]
    start = int(time.time())
    expected: dict[str, float] = {}
    with httpx.Client(base_url=server.url, timeout=30) as viewer:
        master = hls.parse(viewer.get(f"/{pid}.m3u8").text)
        assert isinstance(master, hls.MasterPlaylist)
        media = [(v.uri, "tier_720p" if v.resolution else "tier_audio_only") for v in master.variants]
        media += [(r.uri, "tier_audio_only") for r in master.renditions if r.type == "AUDIO" and r.uri]
        assert any(tier == "tier_720p" for _, tier in media)
        last = ""
        for uri, tier in dict(media).items():
            playlist = hls.parse(viewer.get(f"/{uri}").text)
            assert isinstance(playlist, hls.MediaPlaylist) and playlist.segments
            base = uri.rsplit("/", 1)[0]
            if playlist.segments[0].init_uri:  # an init segment has no media: counts nothing
                assert viewer.get(f"/{base}/{playlist.segments[0].init_uri}").status_code == 200
            for segment in playlist.segments:
                last = f"/{base}/{segment.uri}"
                assert viewer.get(last).status_code == 200
                expected[tier] = expected.get(tier, 0.0) + segment.duration
            last_tier, last_duration = tier, playlist.segments[-1].duration
        # Repeats count, ranges too: that is delivery.
        assert viewer.get(last).status_code == 200
        assert viewer.get(last, headers={"Range": "bytes=0-99"}).status_code == 206
        expected[last_tier] += 2 * last_duration
    yield {"asset": asset, "expected": expected, "timeframe": [start - 10, int(time.time()) + 10]}


def _usage(client: httpx.Client, **params: Any) -> httpx.Response:
    return client.get("/video/v1/delivery-usage", params=params)


def _wait_usage(server: VidlakeServer, asset_id: str, total: float, timeframe: list[int]) -> dict[str, Any]:
    """The asset's report once its flushed seconds reach ``total`` (the maintenance pass flushes)."""
    deadline = time.monotonic() + 60
    body: dict[str, Any] = {}
    with server.client() as c:
        while time.monotonic() < deadline:
            body = _usage(c, asset_id=asset_id, **{"timeframe[]": timeframe}).json()
            if body["data"] and body["data"][0]["delivered_seconds"] >= total - 0.01:
                return body
            time.sleep(0.5)
    raise AssertionError(f"usage never reached {total}: {body}")


def test_played_segments_are_delivered_seconds_per_tier(server: VidlakeServer, played: dict[str, Any]) -> None:
    asset, expected = played["asset"], played["expected"]
    body = _wait_usage(server, asset["id"], sum(expected.values()), played["timeframe"])
    assert body["total_row_count"] == 1 and body["limit"] == 25 and body["timeframe"] == played["timeframe"]
    report = body["data"][0]
    assert report["delivered_seconds"] == pytest.approx(sum(expected.values()), abs=0.01)
    assert set(report["delivered_seconds_by_resolution"]) == set(expected)
    for tier, seconds in expected.items():
        assert report["delivered_seconds_by_resolution"][tier] == pytest.approx(seconds, abs=0.01)
    assert report["asset_id"] == asset["id"] and report["passthrough"] == "usage"
    assert report["asset_state"] == "ready" and report["live_stream_id"] is None
    assert report["asset_duration"] == pytest.approx(asset["duration"])
    assert report["created_at"] == asset["created_at"] and report["deleted_at"] is None
    with server.client() as c:  # a window that ended before the playback holds none of it
        earlier = _usage(c, asset_id=asset["id"], **{"timeframe[]": [played["timeframe"][0] - 7200,
                                                                     played["timeframe"][0] - 3700]}).json()
        assert earlier["data"] == [] and earlier["total_row_count"] == 0
        listed = _usage(c, **{"timeframe[]": played["timeframe"]}).json()
        assert asset["id"] in [r["asset_id"] for r in listed["data"]]


def test_another_environment_sees_nothing(server: VidlakeServer, played: dict[str, Any]) -> None:
    asset = played["asset"]
    _wait_usage(server, asset["id"], sum(played["expected"].values()), played["timeframe"])
    with server.client() as c:
        other = c.post("/system/v1/environments", json={"name": "Usage B"}).json()["data"]
    with httpx.Client(base_url=server.url, auth=(other["access_token"]["id"], other["access_token"]["secret"])) as b:
        for params in ({}, {"asset_id": asset["id"]}):
            body = _usage(b, **params, **{"timeframe[]": played["timeframe"]}).json()
            assert body["data"] == [] and body["total_row_count"] == 0


@pytest.mark.parametrize("timeframe", [["abc", "1700000000"], ["1700000000"], ["1700000900", "1700000000"],
                                       ["1", "2", "3"]])
def test_bad_timeframe_is_a_400_naming_it(server: VidlakeServer, timeframe: list[str]) -> None:
    with server.client() as c:
        r = _usage(c, **{"timeframe[]": timeframe})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["messages"][0].startswith("timeframe[]:")


def test_asset_and_live_stream_together_is_a_400(server: VidlakeServer) -> None:
    with server.client() as c:
        r = _usage(c, asset_id="a", live_stream_id="b")
    assert r.status_code == 400 and r.json()["error"]["messages"][0].startswith("asset_id:")


def test_delivery_usage_with_the_mux_sdk(server: VidlakeServer, played: dict[str, Any]) -> None:
    asset, expected = played["asset"], played["expected"]
    _wait_usage(server, asset["id"], sum(expected.values()), played["timeframe"])
    config = mux_python.Configuration()
    config.host = server.url
    config.username, config.password = server.auth
    api = mux_python.DeliveryUsageApi(mux_python.ApiClient(config))
    answer = api.list_delivery_usage(asset_id=asset["id"], limit=10, page=1,
                                     timeframe=[str(t) for t in played["timeframe"]])
    assert answer.total_row_count == 1 and answer.limit == 10 and answer.timeframe == played["timeframe"]
    (report,) = answer.data
    assert report.asset_id == asset["id"] and report.asset_state == "ready"
    assert report.delivered_seconds == pytest.approx(sum(expected.values()), abs=0.01)
    assert report.delivered_seconds_by_resolution.tier_720p == pytest.approx(expected["tier_720p"], abs=0.01)
