"""QoE collector: answer time of ``POST /`` (mux-embed beacons) while 200 beacons per second arrive.

A fresh ``vidlake serve`` (SQLite, 1 worker) gets beacons shaped like mux-embed's (10 events of a view
each, ~3 KB, new views every few beacons) at a fixed rate from 8 keep-alive connections for 15 s; the
answer times' median and 95th percentile are printed against the baseline of ``GET /healthz`` sent at the
same rate in the same run (the server's floor for a request). Target: median <= 5 ms.

    .venv/bin/python bench/collector.py [--rate 200] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))


def beacon(env_key: str, view: int, seq: int) -> bytes:
    events = []
    for i in range(10):
        name = "viewstart" if seq == 0 and i == 0 else "playing" if i == 1 and seq == 0 else "timeupdate"
        events.append({"e": name, "xid": f"bench-view-{view}", "xsqno": seq + i,
                       "ake": env_key, "uti": int(time.time() * 1000), "psqno": seq + i, "xwati": 1000 * (seq + i),
                       "pphti": 900 * (seq + i), "vtt": "基准测试 bench", "pswd": 1280, "psht": 720,
                       "mvrid": f"viewer-{view % 50}", "pnm": "Vidlake player", "xtitofifr": 420,
                       "psour": "http://localhost/abc.m3u8", "pvi": "1.0.0", "vsmty": "on-demand"})
    return json.dumps({"metadata": {"mux_embed_version": "5.19.0"}, "events": events}).encode()


async def load(url: str, rate: float, seconds: float, body: Any, method: str) -> list[float]:
    times: list[float] = []
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        async def one(i: int) -> None:
            t = time.perf_counter()
            if method == "POST":
                r = await client.post(url, content=body(i), headers={"content-type": "text/plain"})
            else:
                r = await client.get(url)
            times.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
        tasks = []
        start = time.perf_counter()
        n = int(rate * seconds)
        for i in range(n):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return times


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    from services import VidlakeServer

    with tempfile.TemporaryDirectory(prefix="bench-collector-") as tmp:
        server = VidlakeServer(Path(tmp), workers=1, env={"VIDLAKE_LOG_LEVEL": "WARNING"}).start()
        try:
            with server.client() as c:
                stream = c.post("/video/v1/live-streams", json={"playback_policy": ["public"]}).json()["data"]
            page = httpx.get(f"{server.url}/player/{stream['playback_ids'][0]['id']}").text
            env_key = page.split('data-env-key="', 1)[1].split('"', 1)[0]
            base = asyncio.run(load(f"{server.url}/healthz", args.rate, args.seconds, None, "GET"))
            beacons = asyncio.run(load(f"{server.url}/", args.rate, args.seconds,
                                       lambda i: beacon(env_key, i // 4, (i % 4) * 10), "POST"))
            deadline = time.monotonic() + 120
            views = 0
            while time.monotonic() < deadline:  # the roll-up job catches up
                with server.client() as c:
                    got = c.get("/data/v1/metrics/views/overall", params={"timeframe[]": "1:hours"}).json()
                views = got["data"]["total_views"]
                if views >= int(args.rate * args.seconds) // 4:
                    break
                time.sleep(1)
            rolled = time.monotonic() - (deadline - 120)
        finally:
            server.stop()
    b50, b95 = summary(base)
    c50, c95 = summary(beacons)
    print(f"# {len(beacons)} beacons at {args.rate:g}/s: median {c50:.2f} ms, p95 {c95:.2f} ms; "
          f"/healthz baseline median {b50:.2f} ms, p95 {b95:.2f} ms; {views} views rolled up {rolled:.1f} s "
          "after the last beacon")
    print("\n| beacons/s | collector median (ms) | p95 (ms) | /healthz median (ms) | median ratio | target |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.rate:g} | {c50:.2f} | {c95:.2f} | {b50:.2f} | {c50 / b50:.2f} | median <= 5 ms: "
          f"{'met' if c50 <= 5 else 'missed'} |")


if __name__ == "__main__":
    main()
