"""Scenario 1, workers killed: SIGKILL the worker process running a transcode, an analysis and an edit
render, each job once at a random moment, then read everything back.

Checks (each a loss when it fails): every asset ``ready`` with ``progress.state = completed`` and one
HLS version left in storage; every playlist final and every rendition decodes (init + segments, fetched
over HTTP as a player would) to the asset's duration; one asset per request (no duplicates); one
``video.asset.ready`` event per asset and each webhook event id received once; every killed job
succeeded on a later attempt; no ffmpeg left running once the work is done (children die with their
worker: ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import av
import httpx
from media import FileServer, make_av
from services import VidlakeServer, wait_until
from sqlalchemy import select
from webhook_receiver import Receiver

from faultsuite.procs import ffmpeg_left
from faultsuite.report import Row
from vidlake.db.models import Asset, Event, Job
from vidlake.db.session import Database
from vidlake.package import hls

KINDS = ("vod.process", "analysis.run", "edit.render")


class Killer(threading.Thread):
    """Kills the worker of each running job of ``KINDS`` once, ``delay`` seconds after it is first seen
    running (uniform in ``delays``)."""

    def __init__(self, db: Database, rng: random.Random, delays: tuple[float, float] = (0.02, 0.5)) -> None:
        super().__init__(daemon=True)
        self.db, self.rng, self.delays = db, rng, delays
        self.planned: dict[str, float] = {}
        self.killed: dict[str, str] = {}  # job id -> kind
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            with self.db.session() as s:
                rows = s.execute(select(Job.id, Job.kind, Job.lease_owner)
                                 .where(Job.state == "running", Job.kind.in_(KINDS))).all()
            for job_id, kind, owner in rows:
                if job_id in self.killed:
                    continue
                due = self.planned.setdefault(job_id, time.monotonic() + self.rng.uniform(*self.delays))
                if time.monotonic() >= due and owner:
                    try:
                        os.kill(int(owner.split(":")[1]), signal.SIGKILL)
                        self.killed[job_id] = kind
                    except (ProcessLookupError, ValueError, IndexError):
                        pass
            time.sleep(0.05)


def _decoded_seconds(server: VidlakeServer, uri: str, work: Path) -> float:
    """Seconds of media in the rendition at ``uri`` (final playlist; init + every segment decoded)."""
    playlist = hls.parse(httpx.get(f"{server.url}/{uri}", timeout=30).text)
    if not isinstance(playlist, hls.MediaPlaylist) or not playlist.endlist or not playlist.segments:
        raise ValueError(f"{uri}: not a final media playlist")
    base = uri.rsplit("/", 1)[0].split("?")[0]
    data = httpx.get(f"{server.url}/{base}/{playlist.segments[0].init_uri}", timeout=30).content
    for segment in playlist.segments:
        data += httpx.get(f"{server.url}/{base}/{segment.uri}", timeout=30).content
    path = work / "rendition.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        stream = container.streams[0]
        last = 0.0
        for frame in container.decode(stream):
            if frame.time is not None:
                last = max(last, float(frame.time) + float(frame.duration or 0) * float(stream.time_base or 0))
    return last


def renditions_decoded(server: VidlakeServer, asset: dict[str, Any], work: Path) -> tuple[list[str], dict[str, float]]:
    """Every rendition of a ready asset fetched over HTTP as a player would and decoded: (problems,
    rendition uri -> decoded seconds)."""
    pid = asset["playback_ids"][0]["id"]
    master = hls.parse(httpx.get(f"{server.url}/{pid}.m3u8", timeout=30).text)
    if not isinstance(master, hls.MasterPlaylist):
        return [f"asset {asset['id']}: master playlist does not parse"], {}
    uris = [v.uri for v in master.variants] + [r.uri for r in master.renditions if r.type == "AUDIO" and r.uri]
    problems: list[str] = []
    seconds: dict[str, float] = {}
    for uri in uris:
        try:
            seconds[uri] = _decoded_seconds(server, uri, work)
        except (ValueError, av.error.FFmpegError) as exc:
            problems.append(f"asset {asset['id']}: {exc}")
    return problems, seconds


def _check_asset(server: VidlakeServer, asset: dict[str, Any], work: Path) -> list[str]:
    aid = asset["id"]
    if asset["status"] != "ready" or (asset.get("progress") or {}).get("state") != "completed":
        return [f"asset {aid}: {asset['status']} {asset.get('progress')}"]
    versions = [p for p in server.data_dir.rglob(f"{aid}/hls/*") if p.is_dir()]
    problems = [f"asset {aid}: {len(versions)} HLS versions in storage"] if len(versions) != 1 else []
    decode_problems, decoded = renditions_decoded(server, asset, work)
    problems += decode_problems
    problems += [f"asset {aid}: {uri} decodes to {s:.2f} s of {asset['duration']:.2f} s"
                 for uri, s in decoded.items() if abs(s - asset["duration"]) > 0.3]
    return problems




def _asset_done(asset: dict[str, Any]) -> bool:
    return asset["status"] == "errored" or (asset.get("progress") or {}).get("state") == "completed"


def _wait(client: httpx.Client, path: str, done: Any, timeout_s: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    data: dict[str, Any] = {}
    while time.monotonic() < deadline:
        data = client.get(path).json()["data"]
        if done(data):
            return data
        time.sleep(0.3)
    return data


def killed_workers(root: Path, *, assets: int = 20, edits: int = 20, seed: int = 1) -> list[Row]:
    """Run the scenario with ``assets`` transcodes (each also analysed) and ``edits`` renders."""
    rng = random.Random(seed)
    media = root / "media"
    media.mkdir(parents=True, exist_ok=True)
    make_av(media / "clip.mp4", seconds=6, size="640x360")
    files, receiver = FileServer(media), Receiver([])
    server = VidlakeServer(root / "server", workers=1, env={"VIDLAKE_LOG_LEVEL": "WARNING"}).start()
    db = Database(f"sqlite:///{server.data_dir / 'vidlake.db'}")
    killer = Killer(db, rng)
    killer.start()
    rows: list[Row] = []
    try:
        with server.client() as c:
            assert c.post("/system/v1/webhooks", json={"url": receiver.url}).status_code == 201
            made = [c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/clip.mp4"}],
                                                      "playback_policy": ["public"], "passthrough": f"a{i}"})
                    .json()["data"]["id"] for i in range(assets)]
            ready = [_wait(c, f"/video/v1/assets/{a}", _asset_done) for a in made]
            analyses = [c.post("/video/v1/analyses", json={"asset_id": a["id"], "kinds": ["scenes"]}).json()["data"]
                        for a in ready if a["status"] == "ready"]
            analysed = [_wait(c, f"/video/v1/analyses/{a['id']}", lambda d: d["status"] in ("completed", "errored"))
                        for a in analyses]
            timeline = {"timeline": {"tracks": [
                {"clips": [{"asset": {"type": "text", "text": "故障测试 fault test", "style": {"size": 40}},
                            "start": 0, "length": 2}]},
                {"clips": [{"asset": {"type": "video", "src": f"asset:{ready[0]['id']}", "trim": 1},
                            "start": 0, "length": 3}]}]},
                "output": {"resolution": {"width": 640, "height": 360}, "fps": 25}}
            answers = [c.post("/video/v1/edits", json=timeline) for _ in range(edits)]
            assert all(r.status_code == 201 for r in answers), answers[0].text
            edit_ids = [r.json()["data"]["id"] for r in answers]
            rendered = [_wait(c, f"/video/v1/edits/{e}", lambda d: d["status"] in ("completed", "errored"))
                        for e in edit_ids]
            outputs = [_wait(c, f"/video/v1/assets/{e['asset_id']}", _asset_done)
                       for e in rendered if e.get("asset_id")]
        killer.stop.set()
        work = root / "decode"
        work.mkdir(exist_ok=True)
        wait_until(lambda: not ffmpeg_left(root), timeout_s=20, what="ffmpeg children to end")
        with db.session() as s:
            jobs = {j.id: (j.kind, j.state, j.attempts)
                    for j in s.scalars(select(Job).where(Job.kind.in_(KINDS)))}
            stored_assets = s.scalars(select(Asset)).all()
            ready_events = Counter(e.object_id
                                   for e in s.scalars(select(Event).where(Event.type == "video.asset.ready")))
        time.sleep(3)  # the last webhooks
        deliveries = Counter(json.loads(body)["id"] for _, body in receiver.calls)
        for kind, tried, checked in (("vod.process", assets, ready), ("edit.render", edits, outputs)):
            lost = [p for a in checked for p in _check_asset(server, a, work)]
            lost += [f"{kind}: {len(checked)} of {tried} made an asset"] if len(checked) < tried else []
            lost += [f"job {j} {st} after {n} attempts"
                     for j, (k, st, n) in jobs.items() if k == kind and st != "succeeded"]
            lost += [f"asset {a['id']}: {ready_events[a['id']]} ready events"
                     for a in checked if ready_events[a["id"]] != 1]
            held = tried - len({p.split(":")[0] for p in lost})
            rows.append(Row(f"worker SIGKILLed mid-{kind}", tried, max(held, 0), lost,
                            {"kills": str(sum(1 for k in killer.killed.values() if k == kind))}))
        analysis_lost = [f"analysis {a['id']}: {a['status']}" for a in analysed if a["status"] != "completed"]
        analysis_lost += [f"job {j} {st}" for j, (k, st, _) in jobs.items()
                          if k == "analysis.run" and st != "succeeded"]
        rows.append(Row("worker SIGKILLed mid-analysis.run", len(analyses), len(analyses) - len(analysis_lost),
                        analysis_lost, {"kills": str(sum(1 for k in killer.killed.values() if k == "analysis.run"))}))
        expected_assets = assets + edits
        dupes = [f"{len(stored_assets)} assets stored for {expected_assets} requests"] \
            if len(stored_assets) != expected_assets else []
        dupes += [f"event {e} delivered {n} times" for e, n in deliveries.items() if n > 1]
        dupes += ffmpeg_left(root)
        rows.append(Row("no duplicates, no orphans", 1, 0 if dupes else 1, dupes,
                        {"webhook events": str(len(deliveries)), "deliveries": str(sum(deliveries.values()))}))
    finally:
        killer.stop.set()
        server.stop()
        files.close()
        receiver.close()
    return rows
