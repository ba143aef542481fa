"""Scenario 7, load: viewers of a live stream and of VOD assets through the playback routes, many RTMP
publishers at once, and mixed API reads at a fixed rate, against one ``vidlake serve`` (SQLite, local
disk, 1 worker) on this machine.

- **Viewers** (asyncio, one keep-alive pool): a live viewer fetches the master once, then the media
  playlist every second and each new segment; a VOD viewer fetches the master, a rendition's playlist
  and its segments in turn, then starts again. Figures: p50/p99 of playlists and of segments (ms),
  errors, and the server's CPU (its process and children) per 100 viewers over the idle baseline.
  The same VOD files served by **nginx** (Debian's ``nginx-light``, started by this script on its own
  port and config) under the same VOD load give the machine's physical floor, in the same run.
- **Publishers**: ``publishers`` ffmpeg processes copying a 160x90, ~100 kb/s FLV loop (``-c copy``:
  no encoding on the client side) to their own live streams; each must go ``active`` and list segments.
- **API**: GETs of assets, live streams and playback ids (list and by id) scheduled at ``api_rate`` per
  second for ``api_s`` seconds (open loop: a late answer does not slow the schedule; latency counts
  from the scheduled moment). Figures: achieved rate, p50/p99, errors.

The load client shares the 2 cores with the server, so figures are of both together. Losses: any
error (non-2xx, a refused connection, a timeout) and any publisher that never went live."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import httpx
from live_support import create_stream, fetch_media_playlist, stream_status, wait_for
from media import FileServer, make_av
from services import VidlakeServer, free_port, wait_port

from faultsuite.procs import tree_cpu_s
from faultsuite.report import Row
from faultsuite.workers import _asset_done, _wait
from vidlake.ffmpeg import ffmpeg_exe
from vidlake.package import hls

Stats = dict[str, list[float]]


def _percentiles(values: list[float]) -> str:
    """``p50/p99`` in milliseconds."""
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[len(ordered) // 2] * 1000:.1f}/{ordered[int(0.99 * (len(ordered) - 1))] * 1000:.1f}"




async def _get(client: httpx.AsyncClient, url: str, kind: str, stats: Stats, errors: list[str],
               since: float | None = None) -> str | None:
    """GET ``url``; its time (from ``since`` when given) goes to ``stats[kind]``; text or None."""
    start = time.perf_counter() if since is None else since
    try:
        r = await client.get(url)  # the whole body is read
        body = r.text if kind in ("playlist", "api") else ""
    except httpx.HTTPError as exc:
        errors.append(f"{kind} {url.rsplit('/', 1)[-1]}: {type(exc).__name__}")
        return None
    stats[kind].append(time.perf_counter() - start)
    if r.status_code != 200:
        errors.append(f"{kind} {url.rsplit('/', 1)[-1]}: {r.status_code}")
        return None
    return body


async def _live_viewer(client: httpx.AsyncClient, base: str, pid: str, until: float, stats: Stats,
                       errors: list[str]) -> None:
    master = hls.parse(await _get(client, f"{base}/{pid}.m3u8", "playlist", stats, errors) or "#EXTM3U\n")
    if not isinstance(master, hls.MasterPlaylist) or not master.variants:
        errors.append("live master without variants")
        return
    url = f"{base}/{random.choice(master.variants).uri}"
    seen: set[str] = set()
    await asyncio.sleep(random.random())
    while time.monotonic() < until:
        text = await _get(client, url, "playlist", stats, errors)
        media = hls.parse(text) if text else None
        if isinstance(media, hls.MediaPlaylist):
            for segment in media.segments[-2:] if not seen else media.segments:
                if segment.uri not in seen:
                    seen.add(segment.uri)
                    await _get(client, f"{url.rsplit('/', 1)[0]}/{segment.uri}", "segment", stats, errors)
        await asyncio.sleep(1.0)


async def _vod_viewer(client: httpx.AsyncClient, master_url: str, until: float, stats: Stats,
                      errors: list[str]) -> None:
    await asyncio.sleep(random.random())
    while time.monotonic() < until:
        master = hls.parse(await _get(client, master_url, "playlist", stats, errors) or "#EXTM3U\n")
        if not isinstance(master, hls.MasterPlaylist) or not master.variants:
            errors.append("VOD master without variants")
            return
        root = master_url.rsplit("/", 1)[0]
        url = f"{root}/{random.choice(master.variants).uri}"
        media = hls.parse(await _get(client, url, "playlist", stats, errors) or "#EXTM3U\n")
        if not isinstance(media, hls.MediaPlaylist):
            continue
        for segment in media.segments:
            if time.monotonic() >= until:
                break
            target = segment.init_uri if segment is media.segments[0] and segment.init_uri else None
            if target:
                await _get(client, f"{url.rsplit('/', 1)[0]}/{target}", "segment", stats, errors)
            await _get(client, f"{url.rsplit('/', 1)[0]}/{segment.uri}", "segment", stats, errors)
            await asyncio.sleep(0.5)


async def _viewers(live: list[tuple[str, str]], vod: list[str], seconds: float) -> tuple[Stats, list[str]]:
    """Run the live viewers (base, playback id) and VOD viewers (master URLs) for ``seconds``."""
    stats: Stats = defaultdict(list)
    errors: list[str] = []
    until = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=len(live) + len(vod), max_keepalive_connections=len(live) + len(vod))
    async with httpx.AsyncClient(limits=limits, timeout=20) as client:
        await asyncio.gather(*[_live_viewer(client, b, p, until, stats, errors) for b, p in live],
                             *[_vod_viewer(client, m, until, stats, errors) for m in vod])
    return stats, errors


async def _api_reads(base: str, auth: tuple[str, str], paths: list[str], rate: float, seconds: float
                     ) -> tuple[list[float], list[str], float]:
    """Open-loop GETs of ``paths`` at ``rate`` per second, at most 64 in flight: (latencies counted from
    each request's scheduled moment, errors, achieved rate). A request waits for a free slot behind a
    semaphore, not inside httpx's pool (whose queue of thousands of waiters costs the client more CPU
    than the server spends answering)."""
    stats: Stats = defaultdict(list)
    errors: list[str] = []
    slots = asyncio.Semaphore(64)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, auth=auth, limits=limits, timeout=30) as client:

        async def one(path: str, due: float) -> None:
            async with slots:
                await _get(client, f"{base}{path}", "api", stats, errors, since=due)

        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            due = start + i / rate
            if due > time.perf_counter():
                await asyncio.sleep(due - time.perf_counter())
            tasks.append(asyncio.create_task(one(paths[i % len(paths)], due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return stats["api"], errors, len(stats["api"]) / elapsed


class Nginx:
    """Debian's nginx serving ``root`` on a free loopback port (its own prefix, config and pid file)."""

    def __init__(self, root: Path, work: Path) -> None:
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        self.port = free_port()
        work.mkdir(parents=True, exist_ok=True)
        user = "user root;\n" if os.geteuid() == 0 else ""
        (work / "nginx.conf").write_text(
            f"{user}worker_processes 1;\ndaemon off;\npid {work}/nginx.pid;\nerror_log {work}/error.log;\n"
            "events { worker_connections 4096; }\n"
            f"http {{ access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;\n"
            f"  client_body_temp_path {work}/tmp; proxy_temp_path {work}/tmp; fastcgi_temp_path {work}/tmp;\n"
            f"  uwsgi_temp_path {work}/tmp; scgi_temp_path {work}/tmp;\n"
            "  types { application/vnd.apple.mpegurl m3u8; video/mp4 mp4 m4s; video/mp2t ts; }\n"
            f"  server {{ listen 127.0.0.1:{self.port}; root {root}; }} }}\n")
        self.proc = subprocess.Popen([exe, "-p", str(work), "-c", str(work / "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, timeout_s=10)
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _stored_master(server: VidlakeServer, asset_id: str) -> Path:
    """The master playlist of the asset's stored HLS version on the server's local disk."""
    found = sorted(server.data_dir.rglob(f"{asset_id}/hls/*/master.m3u8"))
    if not found:
        raise FileNotFoundError(f"no stored master.m3u8 for {asset_id}")
    return found[-1]


def _low_flv(dest: Path) -> Path:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=160x90:r=10:d=10",
                    "-f", "lavfi", "-i", "sine=f=440:sample_rate=22050:d=10", "-c:v", "libx264", "-preset",
                    "ultrafast", "-g", "10", "-b:v", "80k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "24k",
                    "-f", "flv", str(dest)], check=True, timeout=60)
    return dest


def load(root: Path, *, live_viewers: int = 200, vod_viewers: int = 50, view_s: float = 60.0,
         publishers: int = 32, publish_s: float = 40.0, api_rate: float = 1000.0, api_s: float = 20.0
         ) -> list[Row]:
    """Run the three loads in turn; one Row each."""
    media = root / "media"
    media.mkdir(parents=True)
    make_av(media / "vod.mp4", seconds=20, size="640x360")
    flv = _low_flv(media / "low.flv")
    files = FileServer(media)
    server = VidlakeServer(root / "server", rtmp=True, workers=1, env={"VIDLAKE_LOG_LEVEL": "WARNING"}).start()
    assert server.proc is not None
    rows: list[Row] = []
    procs: list[subprocess.Popen[bytes]] = []
    nginx = None
    try:
        with server.client() as c:
            aid = c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/vod.mp4"}],
                                                    "playback_policy": ["public"]}).json()["data"]["id"]
            asset = _wait(c, f"/video/v1/assets/{aid}", _asset_done)
            stream = create_stream(c, latency_mode="standard")
            procs.append(_publish_loop(flv, server.rtmp_port, stream["stream_key"], view_s + 120))
            wait_for(lambda: stream_status(c, stream["id"])["status"] == "active", "the live stream active", 60)
            live_pid = stream["playback_ids"][0]["id"]
            wait_for(lambda: len(fetch_media_playlist(server.url, live_pid)[1].segments) >= 2, "live segments", 60)
            vod_pid = asset["playback_ids"][0]["id"]
            idle_cpu = _cpu_rate(server.proc.pid, 5.0)
            t0, cpu0 = time.monotonic(), tree_cpu_s(server.proc.pid)
            stats, errors = asyncio.run(_viewers([(server.url, live_pid)] * live_viewers,
                                                 [f"{server.url}/{vod_pid}.m3u8"] * vod_viewers, view_s))
            busy_cpu = (tree_cpu_s(server.proc.pid) - cpu0) / (time.monotonic() - t0)
            per_100 = (busy_cpu - idle_cpu) / max(1, live_viewers + vod_viewers) * 100
            nginx = Nginx(_stored_master(server, aid).parent, root / "nginx")
            n_stats, n_errors = asyncio.run(_viewers([], [f"{nginx.url}/master.m3u8"] * vod_viewers, view_s / 2))
            v_stats, v_errors = asyncio.run(_viewers([], [f"{server.url}/{vod_pid}.m3u8"] * vod_viewers, view_s / 2))
            rows.append(Row(f"{live_viewers} live + {vod_viewers} VOD viewers, {view_s:g} s", 1,
                            0 if errors else 1, sorted(set(errors))[:10],
                            {"requests": str(sum(len(v) for v in stats.values())),
                             "playlist p50/p99 (ms)": _percentiles(stats["playlist"]),
                             "segment p50/p99 (ms)": _percentiles(stats["segment"]),
                             "errors": str(len(errors)),
                             "server CPU per 100 viewers (cores)": f"{per_100:.2f}",
                             "idle CPU (cores)": f"{idle_cpu:.2f}"}))
            rows.append(Row(f"{vod_viewers} VOD viewers, Vidlake vs nginx, {view_s / 2:g} s each", 1,
                            0 if v_errors or n_errors else 1, sorted(set(v_errors + n_errors))[:10],
                            {"Vidlake playlist p50/p99 (ms)": _percentiles(v_stats["playlist"]),
                             "nginx playlist p50/p99 (ms)": _percentiles(n_stats["playlist"]),
                             "Vidlake segment p50/p99 (ms)": _percentiles(v_stats["segment"]),
                             "nginx segment p50/p99 (ms)": _percentiles(n_stats["segment"])}))
            nginx.close()
            nginx = None
            rows.append(_publishers(c, server, flv, publishers, publish_s, procs))
            streams = [s["id"] for s in c.get("/video/v1/live-streams", params={"limit": 10}).json()["data"]]
            paths = ["/video/v1/assets", f"/video/v1/assets/{aid}", "/video/v1/live-streams",
                     f"/video/v1/live-streams/{streams[0]}", f"/video/v1/playback-ids/{vod_pid}"]
            latencies, api_errors, achieved = asyncio.run(_api_reads(server.url, server.auth, paths, api_rate, api_s))
            rows.append(Row(f"API reads at {api_rate:g}/s for {api_s:g} s", 1, 0 if api_errors else 1,
                            sorted(set(api_errors))[:10],
                            {"achieved (req/s)": f"{achieved:.0f}", "p50/p99 (ms)": _percentiles(latencies),
                             "errors": str(len(api_errors))}))
    finally:
        for p in procs:
            p.kill()
            p.wait()
        if nginx is not None:
            nginx.close()
        server.stop()
        files.close()
    return rows


def _publish_loop(flv: Path, port: int, key: str, seconds: float) -> subprocess.Popen[bytes]:
    """ffmpeg copying ``flv`` in a loop, in real time, to the ingest for ``seconds``."""
    return subprocess.Popen([ffmpeg_exe(), "-nostdin", "-v", "error", "-re", "-stream_loop", "-1", "-i", str(flv),
                             "-t", str(seconds), "-c", "copy", "-f", "flv", f"rtmp://127.0.0.1:{port}/live/{key}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _cpu_rate(pid: int, seconds: float) -> float:
    """Cores the process tree of ``pid`` uses over ``seconds``."""
    start = tree_cpu_s(pid)
    time.sleep(seconds)
    return (tree_cpu_s(pid) - start) / seconds


def _publishers(c: httpx.Client, server: VidlakeServer, flv: Path, count: int, seconds: float,
                procs: list[subprocess.Popen[bytes]]) -> Row:
    """``count`` publishers at once; each stream must go active and list two segments."""
    assert server.proc is not None
    streams = [create_stream(c, latency_mode="standard") for _ in range(count)]
    cpu0, t0 = tree_cpu_s(server.proc.pid), time.monotonic()
    for s in streams:  # four a second: all at once from one address would pass the ingest's limit of
        # connections not yet publishing per IP (16), which real publishers, each from its own address, do not
        procs.append(_publish_loop(flv, server.rtmp_port, s["stream_key"], seconds))
        time.sleep(0.25)
    lost: list[str] = []
    deadline = time.monotonic() + seconds
    live: set[str] = set()
    while time.monotonic() < deadline and len(live) < count:
        for s in streams:
            if s["id"] not in live and stream_status(c, s["id"])["status"] == "active":
                pid = s["playback_ids"][0]["id"]
                try:
                    if len(fetch_media_playlist(server.url, pid)[1].segments) >= 2:
                        live.add(s["id"])
                except (httpx.HTTPError, AssertionError):
                    pass
        time.sleep(1.0)
    all_live_s = time.monotonic() - t0
    time.sleep(max(0.0, deadline - time.monotonic()))
    cores = (tree_cpu_s(server.proc.pid) - cpu0) / (time.monotonic() - t0)
    lost += [f"live stream {s['id']} never listed two segments" for s in streams if s["id"] not in live]
    return Row(f"{count} RTMP publishers at once (160x90, ~100 kb/s), {seconds:g} s", count, len(live), lost,
               {"all listing segments after (s)": f"{all_live_s:.0f}", "server CPU (cores)": f"{cores:.2f}"})
