"""Benchmark: Vidlake's live ingest against nginx-rtmp (Debian's ``libnginx-mod-rtmp``), side by side.

Both servers take RTMP and write passthrough HLS (no transcoding) with the same segment length
(``--segment``, seconds; Vidlake's latency mode is picked to match: 1 → low, 2 → reduced, 6 → standard).
Publishers are ``ffmpeg -re -stream_loop -1 -c copy`` of a pre-encoded FLV (1 s GOP), so they cost
little CPU next to the servers. Measured, for each server:

1. **latency**: from a frame being published to the segment holding it being listed in the playlist
   (seconds; mean and max over the segments of one stream): frame *t* of the clip is sent at
   ``start + t`` (``-re``), its segment is listed when the playlist file first names it (polled every
   2 ms on local disk, the same way for both); for Vidlake's low mode also the same for LL-HLS parts
   (``part_mean_s``, ``part_max_s``) and the time from the publish start to the first part listed;
2. **CPU seconds per stream-minute** with ``--streams`` concurrent passthrough streams for
   ``--seconds`` (user + system time of the server process tree: for Vidlake the Python process plus its
   children, for nginx its master and workers), measured from a settled server (its CPU time still for
   half a second, so start-up work such as Vidlake's thumbnail helper loading is not counted): over the
   whole sessions (connect to a second after the last segment) and in the steady state (from 3 s after
   the publishers start to 1 s before they stop: no connect or disconnect work);
3. **most concurrent streams sustained in real time**: 1, 2, 4, 8 ... streams for ``--seconds`` each;
   a step passes when every stream has listed at least ``seconds - 3 * segment`` seconds of media.

Usage: ``python bench/live.py [--segment 1] [--streams 4] [--seconds 20] [--max-streams 32] [--repeat 3]``
Needs ``apt-get install libnginx-mod-rtmp nginx``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidlake.ffmpeg import ffmpeg_exe

NGINX_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
MODES = {1.0: "low", 2.0: "reduced", 6.0: "standard"}
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def settle(pid: int, timeout_s: float = 15.0) -> None:
    """Wait until the process tree of ``pid`` used less than 10 ms of CPU in half a second."""
    deadline = time.monotonic() + timeout_s
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(pid)
        if now - last < 0.01:
            return
        last = now


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid``, its reaped children, and its live descendants."""
    total = 0.0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15]) / TICKS  # utime stime cutime cstime
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return total


# ----------------------------------------------------------------------------------- servers


@dataclass
class Server:
    """A running RTMP → HLS server: ``url(key)`` to publish, ``playlist(key)`` it writes, ``pid``."""

    name: str
    pid: int
    url: Callable[[str], str]
    playlist: Callable[[str], Path]
    keys: list[str]
    stop: Callable[[], None]


def start_nginx(work: Path, segment: float, count: int) -> Server:
    port = free_port()
    hls_dir = work / "nginx-hls"
    hls_dir.mkdir(parents=True)
    (work / "logs").mkdir(exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(f"""load_module {NGINX_MODULE};
user root;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/logs/error.log warn;
events {{ worker_connections 1024; }}
rtmp {{
  server {{
    listen 127.0.0.1:{port};
    chunk_size 4096;
    application live {{
      live on;
      record off;
      hls on;
      hls_path {hls_dir};
      hls_fragment {segment:g}s;
      hls_playlist_length 30s;
      hls_cleanup off;
    }}
  }}
}}
""")
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)

    def stop() -> None:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    keys = [f"s{i}" for i in range(count)]
    return Server("nginx-rtmp", proc.pid, lambda k: f"rtmp://127.0.0.1:{port}/live/{k}",
                  lambda k: hls_dir / f"{k}.m3u8", keys, stop)


def start_vidlake(work: Path, segment: float, count: int) -> Server:
    port = free_port()
    ready = work / "vidlake-ready.json"
    proc = subprocess.Popen([sys.executable, __file__, "_vidlake", str(work), str(port), MODES[segment], str(count),
                             str(ready)], stdout=subprocess.DEVNULL, stderr=(work / "vidlake.log").open("wb"))
    deadline = time.monotonic() + 60
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((work / "vidlake.log").read_text()[-2000:])
        time.sleep(0.05)
    info = json.loads(ready.read_text())

    def stop() -> None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    return Server("vidlake", proc.pid, lambda k: f"rtmp://127.0.0.1:{port}/live/{k}",
                  lambda k: work / "unused", list(info["keys"]), stop)


def vidlake_main(work: str, port: str, mode: str, count: str, ready: str) -> None:
    """The Vidlake side, in its own process: LiveIngest (passthrough only) on ``port``."""
    from vidlake.core.settings import Settings
    from vidlake.db.migrate import upgrade
    from vidlake.live import streams
    from vidlake.live.ingest import LiveIngest
    from vidlake.startup import build_services

    settings = Settings(data_dir=Path(work) / "vidlake", rtmp_port=int(port), workers=0,
                        http_port=0)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    services = build_services(settings)
    from vidlake.auth.tokens import default_environment

    roots: dict[str, str] = {}
    key_by_id: dict[str, str] = {}
    with services.db.session() as session:
        env = default_environment(session)
        for _ in range(int(count)):
            s = streams.create_live_stream(session, env.id, {"latency_mode": mode, "reconnect_window": 600})
            key_by_id[s.id] = s.stream_key
    ingest = LiveIngest(services, host="127.0.0.1", port=int(port), rungs=())
    ingest.start_in_thread()
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    # A session's output directory is known once it starts: keep writing the key → directory map.
    Path(ready).write_text(json.dumps({"keys": list(key_by_id.values())}))
    while not stop[0]:
        changed = False
        for sid, live in list(ingest.sessions.items()):
            if key_by_id[sid] not in roots:
                roots[key_by_id[sid]] = str(live.root)
                changed = True
        if changed:
            Path(ready + ".roots").write_text(json.dumps(roots))
        time.sleep(0.1)  # this loop is bench plumbing in the measured process: keep it cheap
    ingest.stop()
    services.close()


Starter = Callable[[Path, float, int], Server]

# ----------------------------------------------------------------------------------- measuring


def make_source(path: Path, seconds: float) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440", "-t", f"{seconds:g}",
                    "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-keyint_min", "30", "-sc_threshold", "0",
                    "-b:v", "1500k", "-c:a", "aac", "-b:a", "128k", "-f", "flv", "-y", str(path)], check=True)


def publish(source: Path, url: str, seconds: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re",
                             "-readrate_initial_burst", "0", "-stream_loop", "-1",
                             "-i", str(source), "-t", f"{seconds:g}", "-c", "copy", "-f", "flv", url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def listed(playlist: Path) -> list[tuple[str, float]]:
    try:
        text = playlist.read_text()
    except OSError:
        return []
    out, duration = [], 0.0
    for line in text.splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",")[0])
        elif line and not line.startswith("#"):
            out.append((line, duration))
    return out


def listed_parts(playlist: Path) -> list[tuple[str, float]]:
    """(uri, duration in seconds) of every LL-HLS part (``EXT-X-PART``) in the playlist."""
    try:
        text = playlist.read_text()
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        if line.startswith("#EXT-X-PART:"):
            attrs = dict(a.split("=", 1) for a in line[12:].split(",") if "=" in a)
            out.append((attrs["URI"].strip('"'), float(attrs["DURATION"])))
    return out


def playlist_path(server: Server, key: str, work: Path) -> Path | None:
    if server.name == "vidlake":
        roots_file = work / "vidlake-ready.json.roots"
        try:
            roots = json.loads(roots_file.read_text())
        except (OSError, ValueError):
            return None
        return Path(roots[key]) / "v0.m3u8" if key in roots else None
    return server.playlist(key)


async def paced_publish(source: Path, url: str, on_start: Callable[[float], None]) -> None:
    """Publish ``source`` once over RTMP with Vidlake's test publisher, each tag sent at
    ``t0 + timestamp`` (wall clock); ``on_start(t0)`` gets t0 (Unix seconds)."""
    import asyncio

    from vidlake.live.rtmp import flv
    from vidlake.live.rtmp.chunk import RtmpMessage
    from vidlake.live.rtmp.client import RtmpPublisher

    rest = url.removeprefix("rtmp://")
    hostport, app, key = rest.split("/", 2)
    host, port = hostport.split(":")
    client = await RtmpPublisher.open(host, int(port))
    await client.connect(app)
    status = await client.publish(key)
    if status != "NetStream.Publish.Start":
        raise RuntimeError(f"publish refused: {status}")
    tags = list(flv.read_tags(source.read_bytes()))
    t0 = time.time()
    on_start(t0)
    for tag in tags:
        delay = t0 + tag.timestamp_ms / 1000 - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        csid = {8: 4, 9: 6}.get(tag.tag_type, 5)
        await client.send(RtmpMessage(tag.tag_type, tag.data, tag.timestamp_ms, client.stream_id, csid))
    await client.close()


def measure_latency(server: Server, source: Path, seconds: float, work: Path) -> dict[str, float]:
    """Latency from the keyframe that closes a segment being sent to the segment being listed."""
    import asyncio
    import threading

    key = server.keys[0]
    t0: list[float] = []
    thread = threading.Thread(target=lambda: asyncio.run(paced_publish(source, server.url(key), t0.append)))
    thread.start()
    first_seen: dict[str, float] = {}
    order: list[tuple[str, float]] = []
    part_order: list[tuple[str, float]] = []  # LL-HLS parts (Vidlake low mode), same method as segments
    while thread.is_alive():
        path = playlist_path(server, key, work)
        if path is not None:
            for uri, dur in listed(path):
                if uri not in first_seen:
                    first_seen[uri] = time.time()
                    order.append((uri, dur))
            for uri, dur in listed_parts(path):
                if uri not in first_seen:
                    first_seen[uri] = time.time()
                    part_order.append((uri, dur))
        time.sleep(0.002)
    thread.join()
    lat, media_end = [], 0.0
    for uri, dur in order:
        media_end += dur
        lat.append(first_seen[uri] - (t0[0] + media_end))
    lat = lat[:-1]  # the last segment is closed by the end of the stream, not by a keyframe
    result: dict[str, float] = {"mean_s": round(sum(lat) / max(1, len(lat)), 3),
                                "max_s": round(max(lat, default=0.0), 3), "segments": len(lat)}
    if part_order:  # from the last frame of a part being sent to the part being listed
        plat, media_end = [], 0.0
        for uri, dur in part_order:
            media_end += dur
            plat.append(first_seen[uri] - (t0[0] + media_end))
        plat = plat[:-1]
        result.update(part_mean_s=round(sum(plat) / max(1, len(plat)), 3), part_max_s=round(max(plat, default=0.0), 3),
                      parts=len(plat), first_part_after_publish_s=round(first_seen[part_order[0][0]] - t0[0], 3))
    return result


def run_streams(server: Server, source: Path, n: int, seconds: float, segment: float,
                work: Path) -> tuple[bool, float, float]:
    """``n`` concurrent streams for ``seconds``: (all kept up in real time, server CPU seconds over the whole
    sessions, server CPU seconds in the steady state from 3 s after the start to 1 s before the end)."""
    settle(server.pid)
    cpu0 = cpu_seconds(server.pid)
    t0 = time.monotonic()
    pubs = [publish(source, server.url(k), seconds) for k in server.keys[:n]]
    time.sleep(3.0)
    steady0 = cpu_seconds(server.pid)
    time.sleep(max(0.0, t0 + seconds - 1.0 - time.monotonic()))
    steady = cpu_seconds(server.pid) - steady0
    for p in pubs:
        p.wait()
    time.sleep(max(2.0, 2 * segment))
    ok = True
    for k in server.keys[:n]:
        path = playlist_path(server, k, work)
        covered = sum(d for _, d in listed(path)) if path else 0.0  # both list at most 30 s
        ok = ok and covered >= seconds - 3 * segment
    time.sleep(1.0)
    return ok, cpu_seconds(server.pid) - cpu0, steady


def _latency(name: str, starter: Starter, args: argparse.Namespace, source: Path, root: Path) -> dict[str, Any]:
    work = root / f"{name}-lat"
    work.mkdir()
    server = starter(work, args.segment, max(args.streams, 1))
    try:
        return measure_latency(server, source, args.seconds, work)
    finally:
        server.stop()


def _cpu(name: str, starter: Starter, args: argparse.Namespace, source: Path, root: Path,
         run: int) -> tuple[float, float]:
    """(CPU seconds per stream-minute over whole sessions, in the steady state) of one run."""
    work = root / f"{name}-cpu{run}"
    work.mkdir()
    server = starter(work, args.segment, args.streams)
    try:
        _, cpu, steady = run_streams(server, source, args.streams, args.seconds, args.segment, work)
    finally:
        server.stop()
    return cpu / (args.streams * args.seconds / 60.0), steady / (args.streams * (args.seconds - 4) / 60.0)


def _capacity(name: str, starter: Starter, args: argparse.Namespace, source: Path, root: Path) -> int:
    sustained = 0
    n = 1
    while n <= args.max_streams:
        work = root / f"{name}-n{n}"
        work.mkdir()
        server = starter(work, args.segment, n)
        try:
            ok, _, _ = run_streams(server, source, n, args.seconds, args.segment, work)
        finally:
            server.stop()
        if not ok:
            break
        sustained = n
        n *= 2
    return sustained


def bench(args: argparse.Namespace, source: Path, root: Path) -> dict[str, dict[str, Any]]:
    """Latency, then ``--repeat`` CPU runs taking turns between the servers (medians reported, every run
    kept), then capacity."""
    servers: dict[str, tuple[str, Starter]] = {"vidlake": ("vidlake", start_vidlake),
                                                "nginx-rtmp": ("nginx", start_nginx)}
    results: dict[str, dict[str, Any]] = {key: {} for key in servers}
    for key, (name, starter) in servers.items():
        results[key]["latency"] = _latency(name, starter, args, source, root)
    for run in range(args.repeat):
        for key, (name, starter) in servers.items():
            total, steady = _cpu(name, starter, args, source, root, run)
            results[key].setdefault("cpu_runs", []).append(round(total, 3))
            results[key].setdefault("steady_cpu_runs", []).append(round(steady, 3))
    for key, (name, starter) in servers.items():
        r = results[key]
        r["cpu_s_per_stream_minute"] = statistics.median(r["cpu_runs"])
        r["steady_cpu_s_per_stream_minute"] = statistics.median(r["steady_cpu_runs"])
        r["max_realtime_streams"] = _capacity(name, starter, args, source, root)
    return results


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_vidlake":
        vidlake_main(*sys.argv[2:7])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segment", type=float, default=1.0, choices=sorted(MODES))
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0, help="per step (at least 10)")
    parser.add_argument("--max-streams", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="CPU runs per server (median reported)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.seconds < 10:
        parser.error("--seconds must be at least 10 (the steady state starts 3 s in and ends 1 s early)")
    if not NGINX_MODULE.exists() or not shutil.which("nginx"):
        sys.exit("nginx-rtmp missing: apt-get install libnginx-mod-rtmp nginx")
    root = Path(tempfile.mkdtemp(prefix="vidlake-bench-live-"))
    try:
        source = root / "source.flv"
        make_source(source, max(10.0, args.seconds))
        results = bench(args, source, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    v, n = results["vidlake"], results["nginx-rtmp"]
    lat_v, lat_n = v["latency"], n["latency"]
    print(f"segment {args.segment:g} s (vidlake latency mode {MODES[args.segment]}), passthrough, loopback")
    print(f"{'':24}{'vidlake':>12}{'nginx-rtmp':>12}{'ratio':>8}")
    rows = [("latency mean (s)", lat_v["mean_s"], lat_n["mean_s"]),
            ("latency max (s)", lat_v["max_s"], lat_n["max_s"]),
            ("CPU s / stream-minute", v["cpu_s_per_stream_minute"], n["cpu_s_per_stream_minute"]),
            ("  steady state", v["steady_cpu_s_per_stream_minute"], n["steady_cpu_s_per_stream_minute"]),
            ("max real-time streams", v["max_realtime_streams"], n["max_realtime_streams"])]
    for label, a, b in rows:
        ratio = f"{float(a) / float(b):.2f}" if float(b) else "-"
        print(f"{label:24}{a:>12}{b:>12}{ratio:>8}")
    print(f"CPU runs (s / stream-minute, whole sessions): vidlake {v['cpu_runs']}, nginx-rtmp {n['cpu_runs']}; "
          f"steady state: vidlake {v['steady_cpu_runs']}, nginx-rtmp {n['steady_cpu_runs']}")
    if "part_mean_s" in lat_v:
        print(f"vidlake LL-HLS parts: latency mean {lat_v['part_mean_s']} s, max {lat_v['part_max_s']} s over "
              f"{lat_v['parts']} parts; first part listed {lat_v['first_part_after_publish_s']} s after the "
              "publish started")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, **results}, indent=2))


if __name__ == "__main__":
    main()
