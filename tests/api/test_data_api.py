"""Viewer analytics end to end: the real mux-embed SDK in the player page (headless Chromium) sends its
beacons to the collector, the roll-up job makes views of them, and mux-python's ``MetricsApi`` and
``VideoViewsApi`` read them: startup time > 0, playing time within 20% of what Chromium played, a forced
playback error counted as a failure. The collector's own answers (refusals, duplicates) over plain HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mux_python
import pytest
from media import FileServer, make_av
from services import VidlakeServer
from test_assets import wait_asset

SECONDS = 8.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VidlakeServer]:
    srv = VidlakeServer(Path(tmp_path_factory.mktemp("qoe")), workers=1,
                        env={"VIDLAKE_ANALYTICS_ROLLUP_INTERVAL_S": "1", "VIDLAKE_ANALYTICS_VIEW_TIMEOUT_S": "20",
                             "VIDLAKE_ALLOW_PRIVATE_NETWORKS": "true"}).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def asset(server: VidlakeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("qoe-media")
    make_av(root / "clip.mp4", seconds=SECONDS, size="320x180")
    files = FileServer(root)
    with server.client() as c:
        r = c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/clip.mp4"}],
                                             "playback_policy": ["public"]})
        assert r.status_code == 201, r.text
        yield wait_asset(c, r.json()["data"]["id"])
    files.close()


def _env_key(server: VidlakeServer, pid: str) -> str:
    page = httpx.get(f"{server.url}/player/{pid}").text
    key = page.split('data-env-key="', 1)[1].split('"', 1)[0]
    assert len(key) == 26, page
    return key


def _post(server: VidlakeServer, body: bytes | str) -> httpx.Response:
    return httpx.post(f"{server.url}/", content=body, headers={"content-type": "text/plain"})


def test_collector_refuses_bad_beacons_and_stores_a_repeat_once(server: VidlakeServer, asset: dict[str, Any]) -> None:
    key = _env_key(server, asset["playback_ids"][0]["id"])
    event = {"e": "viewstart", "xid": "manual-view", "xsqno": 1, "ake": key, "uti": int(time.time() * 1000)}
    beacon = json.dumps({"metadata": {}, "events": [event]})
    first, again = _post(server, beacon), _post(server, beacon)
    assert first.status_code == 200 and first.json()["data"] == {"accepted": 1, "ignored": 0}, first.text
    assert again.json()["data"] == {"accepted": 1, "ignored": 0}  # the repeat is dropped when written
    assert first.headers["access-control-allow-origin"] == "*"
    for body, status, field in [("{", 400, "body"), (json.dumps({"events": [{**event, "ake": "nope"}]}), 400,
                                                      "events[0].ake"),
                                (json.dumps({"events": [event, {**event, "xsqno": None}]}), 400, "events[1].xsqno"),
                                ("x" * 700_000, 413, "body")]:
        r = _post(server, body)
        assert r.status_code == status and r.json()["error"]["messages"][0].startswith(field), r.text
    deadline = time.monotonic() + 30
    with server.client() as c:
        while (r := c.get("/data/v1/video-views/manual-view")).status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.5)
    assert r.status_code == 200 and [e["name"] for e in r.json()["data"]["events"]] == ["viewstart"], r.text
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'vidlake_beacon_events_total{outcome="duplicate"} 1.0' in metrics
    assert 'vidlake_beacons_total{outcome="unknown_env_key"} 1.0' in metrics
    assert 'vidlake_beacons_total{outcome="oversized"} 1.0' in metrics


def _api(server: VidlakeServer) -> mux_python.ApiClient:
    config = mux_python.Configuration()
    config.host = server.url
    config.username, config.password = server.auth
    return mux_python.ApiClient(config)


@pytest.mark.slow
def test_views_from_mux_embed_in_chromium_reach_the_data_api(server: VidlakeServer, asset: dict[str, Any]) -> None:
    from browser import chromium_browser, console_sign_in

    pid = asset["playback_ids"][0]["id"]
    page_url = f"http://localhost:{server.port}/player/{pid}?autoplay=1&muted=1"
    with chromium_browser() as browser:
        page = browser.new_page()
        page.goto(page_url)
        page.wait_for_function("() => window.vidlakePlayer.monitored && window.vidlakePlayer.video.ended",
                               timeout=90_000)
        played = page.evaluate("""() => { const r = window.vidlakePlayer.video.played; let s = 0;
            for (let i = 0; i < r.length; i++) s += r.end(i) - r.start(i); return s; }""")
        assert page.evaluate("() => window.vidlakePlayer.errors") == []
        page.close(run_before_unload=True)
        # A second view whose rendition playlists fail: hls.js gives up (fatal), mux-embed reports the error.
        failing = browser.new_page()
        failing.route("**/index.m3u8", lambda route: route.fulfill(status=404, body="gone"))
        failing.goto(page_url)
        failing.wait_for_function("() => window.vidlakePlayer.status === 'error'", timeout=90_000)
        failing.wait_for_timeout(1500)
        failing.close(run_before_unload=True)

    views_api = mux_python.VideoViewsApi(_api(server))
    deadline = time.monotonic() + 60  # queryable within a minute of the view's end
    listed: list[Any] = []
    while time.monotonic() < deadline:
        listed = views_api.list_video_views(timeframe=["1:hours"], filters=[f"playback_id:{pid}"]).data or []
        if len(listed) >= 2 and any(v.playback_failure for v in listed) and any(
                not v.playback_failure and v.watch_time for v in listed):
            break
        time.sleep(1)
    assert len(listed) == 2, listed
    good = next(v for v in listed if not v.playback_failure)
    view = views_api.get_video_view(good.id).data
    assert view.time_to_first_frame and view.time_to_first_frame > 0, view
    assert view.player_name == "Vidlake player" and view.viewer_application_name == "Chrome"
    assert float(view.view_playing_time) / 1000 == pytest.approx(played, rel=0.2), (view.view_playing_time, played)
    assert view.events and view.events[0].name
    print(f"played {played:.2f} s, playing time {float(view.view_playing_time) / 1000:.2f} s, "
          f"time to first frame {view.time_to_first_frame} ms, {len(view.events)} events")

    metrics_api = mux_python.MetricsApi(_api(server))
    scoped = {"timeframe": ["1:hours"], "filters": [f"playback_id:{pid}"]}
    overall = metrics_api.get_overall_values("playback_failure_percentage", **scoped).data
    assert overall.total_views == 2 and overall.value == pytest.approx(0.5)
    startup = metrics_api.get_overall_values("video_startup_time", measurement="median", **scoped).data
    assert startup.value and startup.value > 0
    by_browser = metrics_api.list_breakdown_values("views", group_by="browser", **scoped).data
    assert [(b.field, b.views) for b in by_browser] == [("Chrome", 2)]
    series = metrics_api.get_metric_timeseries_data("views", group_by="minute", **scoped).data
    assert sum(int(row[2]) for row in series) == 2
    dimensions = mux_python.DimensionsApi(_api(server))
    assert "browser" in dimensions.list_dimensions().data.basic
    values = dimensions.list_dimension_values("browser", **scoped).data
    assert [(v.value, v.total_count) for v in values] == [("Chrome", 2)]
    (error,) = mux_python.ErrorsApi(_api(server)).list_errors(**scoped).data
    assert error.count == 1 and error.percentage == pytest.approx(0.5) and error.message, error
    with server.client() as c:
        r = c.get("/data/v1/metrics/no_such_metric/overall")
        assert r.status_code == 400 and r.json()["error"]["messages"][0].startswith("METRIC_ID")
        r = c.get("/data/v1/metrics/views/breakdown", params={"group_by": "country"})
        assert r.status_code == 400 and "GeoIP" in r.text

    # The console dashboard shows the environment's views as the Data API counts them (with the collector
    # test's manual view when it ran first) (in Chinese too); screenshots go to test-artifacts/console/.
    everything = metrics_api.get_overall_values("views", timeframe=["24:hours"]).data
    failures = metrics_api.get_overall_values("playback_failure_percentage", timeframe=["24:hours"]).data
    assert everything.total_views >= 2 and 0 < failures.value < 1
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
    artifacts.mkdir(parents=True, exist_ok=True)
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="zh-CN")
        console_sign_in(page, server.url, server.token_id, server.token_secret)
        page.click("#analytics-link")
        page.wait_for_url(f"{server.url}/console/analytics")
        assert page.locator("h1").inner_text() == "观看体验分析"
        assert page.locator("[data-metric=views-count] .value").inner_text() == str(everything.total_views)
        assert page.locator("[data-metric=playback_failure_percentage-avg] .value").inner_text() \
            == f"{100 * failures.value:.1f}%"
        assert page.locator("#latest-views tbody tr").count() == everything.total_views
        assert int(page.locator("svg.chart").get_attribute("data-max") or 0) >= 1
        page.screenshot(path=str(artifacts / "analytics-zh.png"), full_page=True)
