"""Scenario 6, webhooks: the receiver is down (503) for ``down_s`` seconds while events are made, and
the worker delivering them is SIGKILLed twice during the outage; then the receiver comes back.

Events: ``streams`` live streams, each created, changed three times (``PATCH``) and deleted: five events
per resource, made as fast as the API answers. Checks, read back from what the receiver got (each a loss
when it fails): every event id answered 2xx, each once per endpoint; per resource, the events answered
2xx in the order they happened; the first event's tries spaced further apart each time (exponential
backoff, printed); every delivery row ``delivered``.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
from collections import defaultdict
from pathlib import Path

from services import VidlakeServer, wait_until
from sqlalchemy import func, select
from webhook_receiver import Receiver

from faultsuite.procs import worker_pids
from faultsuite.report import Row
from vidlake.db.models import Event, WebhookDelivery
from vidlake.db.session import Database


def _received(receiver: Receiver) -> list[tuple[float, int, str, str]]:
    """(monotonic seconds, status, event id, object id) of every POST the receiver answered."""
    out = []
    for (t, status), (_, body) in zip(receiver.answers, receiver.calls, strict=True):
        event = json.loads(body)
        out.append((t, status, event["id"], event["object"]["id"]))
    return out




def webhooks_down(root: Path, *, streams: int = 20, down_s: float = 600.0, kills: int = 2) -> list[Row]:
    """Run the scenario; the full variant keeps the receiver down 10 minutes."""
    receiver = Receiver()
    server = VidlakeServer(root / "server", workers=1, env={"VIDLAKE_LOG_LEVEL": "WARNING",
                                                            # 12 tries spanning the outage (about 1.4 x it),
                                                            # as the defaults (2 s doubling to 600 s) do for
                                                            # outages up to 37 minutes
                                                            "VIDLAKE_JOB_BACKOFF_BASE_S": str(down_s / 60),
                                                            "VIDLAKE_JOB_BACKOFF_MAX_S": str(down_s / 6)}
                           ).start()
    db = Database(f"sqlite:///{server.data_dir / 'vidlake.db'}")
    killed = 0
    try:
        receiver.down.set()
        t_down = time.monotonic()
        with server.client() as c:
            assert c.post("/system/v1/webhooks", json={"url": receiver.url}).status_code == 201
            for i in range(streams):
                sid = c.post("/video/v1/live-streams", json={"playback_policy": ["public"]}).json()["data"]["id"]
                for n in range(3):
                    assert c.patch(f"/video/v1/live-streams/{sid}", json={"passthrough": f"s{i}-v{n}"}).is_success
                assert c.delete(f"/video/v1/live-streams/{sid}").status_code == 204
        with db.session() as s:
            expected = s.scalar(select(func.count()).select_from(Event)) or 0
        for _ in range(kills):  # kill the delivering worker during the outage
            time.sleep(down_s / (kills + 1))
            for pid in worker_pids(server):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        time.sleep(max(0.0, down_s - (time.monotonic() - t_down)))
        receiver.down.clear()
        t_up = time.monotonic()

        def all_delivered() -> bool:
            with db.session() as s:
                return not s.scalar(select(func.count()).select_from(WebhookDelivery)
                                    .where(WebhookDelivery.state != "delivered"))

        wait_until(all_delivered, timeout_s=max(120.0, down_s), what="every webhook delivered")
        drained_s = time.monotonic() - t_up
        with db.session() as s:
            order = {e.id: (e.object_id, e.created_at) for e in s.scalars(select(Event))}
    finally:
        server.stop()
        receiver.close()
    calls = _received(receiver)
    ok_calls = [(t, eid, oid) for t, status, eid, oid in calls if status == 200]
    lost: list[str] = []
    counts: dict[str, int] = defaultdict(int)
    for _, eid, _ in ok_calls:
        counts[eid] += 1
    lost += [f"event {e} never answered 2xx" for e in order if counts[e] == 0]
    lost += [f"event {e} delivered {n} times" for e, n in counts.items() if n > 1]
    seen: dict[str, list[float]] = defaultdict(list)
    for _, eid, oid in ok_calls:
        seen[oid].append(order[eid][1])
    lost += [f"{oid}: events delivered out of order" for oid, times in seen.items() if times != sorted(times)]
    first = min(order, key=lambda e: order[e][1])
    tries = [t for t, _, eid, _ in calls if eid == first]
    gaps = [round(b - a, 1) for a, b in itertools.pairwise(tries)]
    if len(gaps) >= 3 and not gaps[2] > gaps[0]:
        lost.append(f"no visible backoff between the first event's tries: {gaps}")
    rows = [Row(f"webhook receiver down {down_s:g} s, dispatcher killed {killed}x", expected,
                expected - len({line.split(' ')[1] for line in lost if line.startswith('event ')}), lost,
                {"events": str(expected), "2xx deliveries": str(len(ok_calls)), "tries": str(len(calls)),
                 "first event's gaps (s)": "/".join(str(g) for g in gaps[:8]),
                 "drained after up (s)": f"{drained_s:.1f}"})]
    return rows
