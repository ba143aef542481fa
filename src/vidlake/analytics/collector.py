"""The beacon collector's core: validate a mux-embed beacon whole, then append its events in one statement.

A beacon is ``{"metadata": {...}, "events": [{...}, ...]}`` with the SDK's abbreviated keys (see
:mod:`vidlake.analytics.keys`). Every event that belongs to a view (``xid``) must carry its environment
key (``ake``) and view sequence number (``xsqno``); events without a view (the SDK sends some between
views) are ignored. A beacon with any malformed event is refused whole, so nothing is stored half.
The same (environment, view, sequence number) is stored once: mux-embed may send a view's last beacon
twice (``fetch`` and then ``sendBeacon`` on page hide). Accepted events are written in batches by
:class:`BeaconWriter`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.dialects import postgresql, sqlite

from vidlake.analytics import keys
from vidlake.core.errors import InvalidParameters
from vidlake.db.analytics_models import ViewerEvent
from vidlake.db.session import Database

MAX_EVENT_NAME = 64
MAX_VIEW_ID = 128
MAX_USER_AGENT = 512
#: Rows per INSERT statement (well under SQLite's bound-parameter limit).
INSERT_CHUNK = 500
#: Seconds an env key → environment lookup is remembered in this process.
KEY_CACHE_S = 30.0

log = logging.getLogger(__name__)


class BeaconError(InvalidParameters):
    """A beacon that is not what mux-embed sends; ``reason`` labels it in the metrics."""

    def __init__(self, message: str, reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Parsed:
    """A validated beacon: the events to store (still abbreviated) and how many were ignored."""

    events: list[dict[str, Any]]
    ignored: int


@dataclass(frozen=True)
class Stored:
    """What :func:`store` did: events newly stored, duplicates dropped, events ignored."""

    stored: int
    duplicates: int
    ignored: int


class CollectorMetrics:
    """Prometheus counters of the collector (``vidlake_beacons_total`` by outcome,
    ``vidlake_beacon_events_total`` by outcome)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.beacons = Counter("vidlake_beacons", "Beacons received by the QoE collector, by outcome",
                               ["outcome"], registry=registry)
        self.events = Counter("vidlake_beacon_events", "Beacon events, by outcome", ["outcome"],
                              registry=registry)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def parse(body: bytes, max_events: int) -> Parsed:
    """Validate ``body``; raises :class:`BeaconError` naming the first bad field."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BeaconError(f"body: malformed JSON ({type(exc).__name__})") from exc
    if not isinstance(doc, dict):
        raise BeaconError("body: must be a JSON object with metadata and events")
    if not isinstance(doc.get("metadata", {}), dict):
        raise BeaconError("metadata: must be an object")
    events = doc.get("events")
    if not isinstance(events, list) or not events:
        raise BeaconError("events: must be a non-empty array")
    if len(events) > max_events:
        raise BeaconError(f"events: at most {max_events} per beacon", reason="too_many_events")
    keep: list[dict[str, Any]] = []
    ignored = 0
    for i, event in enumerate(events):
        where = f"events[{i}]"
        if not isinstance(event, dict):
            raise BeaconError(f"{where}: must be an object")
        name = event.get("e")
        if not isinstance(name, str) or not 0 < len(name) <= MAX_EVENT_NAME:
            raise BeaconError(f"{where}.e: must be an event name of 1 to {MAX_EVENT_NAME} characters")
        view_id = event.get("xid")
        if view_id is None or view_id == "-1":
            ignored += 1
            continue
        if not isinstance(view_id, str) or not 0 < len(view_id) <= MAX_VIEW_ID:
            raise BeaconError(f"{where}.xid: must be a view id of 1 to {MAX_VIEW_ID} characters")
        seq = _int(event.get("xsqno"))
        if seq is None or seq < 0:
            raise BeaconError(f"{where}.xsqno: must be the view sequence number (an integer >= 0)")
        env_key = event.get("ake")
        if not isinstance(env_key, str) or not env_key:
            raise BeaconError(f"{where}.ake: must be the environment key")
        viewer_time = event.get("uti")
        if viewer_time is not None and _int(viewer_time) is None:
            raise BeaconError(f"{where}.uti: must be the viewer time in Unix milliseconds")
        keep.append(event)
    return Parsed(keep, ignored)


class _KeyCache:
    """env key → environment id (or ``None``: no such key), remembered for :data:`KEY_CACHE_S` seconds.

    Unknown keys are remembered too, so that a flood of beacons with made-up keys costs one database lookup
    per key and half-minute, not one per beacon (keys are random and made by the server: a key that was
    unknown cannot become known later)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, tuple[str | None, float]] = {}

    def _hit(self, env_key: str, t: float) -> tuple[str | None, float] | None:
        with self._lock:
            hit = self._known.get(env_key)
        return hit if hit is not None and t - hit[1] < KEY_CACHE_S else None

    def cached(self, env_key: str) -> bool:
        """Whether the answer for ``env_key`` (known or unknown) is at hand without asking the database."""
        return self._hit(env_key, time.monotonic()) is not None

    def lookup(self, db: Database, env_key: str) -> str | None:
        t = time.monotonic()
        hit = self._hit(env_key, t)
        if hit is not None:
            return hit[0]
        with db.session() as session:
            env_id = keys.environment_for_key(session, env_key)
        with self._lock:
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[env_key] = (env_id, t)
        return env_id


KEY_CACHE = _KeyCache()


def resolve(db: Database, parsed: Parsed, user_agent: str | None, received_at: float) -> list[dict[str, Any]]:
    """The rows to append for ``parsed`` (one per (environment, view, sequence number) in the beacon).

    Raises :class:`BeaconError` (reason ``unknown_env_key``) when an event's environment key is unknown."""
    envs: dict[str, str] = {}
    for i, event in enumerate(parsed.events):
        env_key = event["ake"]
        if env_key not in envs:
            env_id = KEY_CACHE.lookup(db, env_key)
            if env_id is None:
                raise BeaconError(f"events[{i}].ake: unknown environment key", reason="unknown_env_key")
            envs[env_key] = env_id
    rows: dict[tuple[str, str, int], dict[str, Any]] = {}
    agent = (user_agent or "")[:MAX_USER_AGENT] or None
    for event in parsed.events:
        key = (envs[event["ake"]], event["xid"], _int(event["xsqno"]) or 0)
        if key in rows:
            continue
        viewer_time = event.get("uti")
        rows[key] = {"environment_id": key[0], "view_id": key[1], "seq": key[2], "event": event["e"],
                     "viewer_time": _int(viewer_time) if viewer_time is not None else None,
                     "received_at": received_at, "user_agent": agent if not rows else None,
                     "data": event, "rolled_up": False}
    return list(rows.values())


def insert(db: Database, values: list[dict[str, Any]]) -> int:
    """Append ``values`` (one statement per :data:`INSERT_CHUNK` rows, one transaction); rows whose
    (environment, view, sequence number) is stored already are dropped. Returns the rows stored."""
    inserted = 0
    if values:
        insert_ = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
        with db.session() as session:
            for start in range(0, len(values), INSERT_CHUNK):
                statement = insert_(ViewerEvent).values(values[start:start + INSERT_CHUNK]) \
                    .on_conflict_do_nothing(index_elements=["environment_id", "view_id", "seq"]) \
                    .returning(ViewerEvent.id)  # rowcount is -1 here on psycopg: count what came back
                inserted += len(session.execute(statement).all())
    return inserted


def store(db: Database, parsed: Parsed, user_agent: str | None, received_at: float) -> Stored:
    """Append ``parsed``'s events now (the collector batches them through :class:`BeaconWriter`)."""
    values = resolve(db, parsed, user_agent, received_at)
    inserted = insert(db, values)
    return Stored(stored=inserted, duplicates=len(parsed.events) - inserted, ignored=parsed.ignored)


class BeaconWriter:
    """Appends accepted rows in batches: a thread writes whatever arrived every ``interval_s`` seconds
    (or at once past :data:`FLUSH_ROWS` rows), so a beacon costs its parse, not a transaction.

    A beacon answered 200 is in memory until the next write: :meth:`close` (server shutdown) writes
    what is left; a killed API process loses at most ``interval_s`` of beacons (mux-embed never resends
    an answered beacon either way). A failed write is retried with the next batch, up to
    :data:`MAX_PENDING_ROWS` rows held; beyond that the oldest are dropped and counted."""

    FLUSH_ROWS = 5000
    MAX_PENDING_ROWS = 500_000

    def __init__(self, db: Database, metrics: CollectorMetrics | None, interval_s: float = 0.25) -> None:
        self.db = db
        self.metrics = metrics
        self.interval_s = interval_s
        self._rows: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Queue ``rows`` for the next write."""
        with self._cond:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="beacon-writer", daemon=True)
                self._thread.start()
            self._rows.extend(rows)
            if len(self._rows) >= self.FLUSH_ROWS:
                self._cond.notify()

    def flush(self) -> int:
        """Write what is queued now; returns the rows stored."""
        with self._cond:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        try:
            stored = insert(self.db, rows)
        except Exception:
            log.exception("writing %d beacon events failed; retrying with the next batch", len(rows))
            with self._cond:
                self._rows = rows + self._rows
                dropped = max(0, len(self._rows) - self.MAX_PENDING_ROWS)
                del self._rows[:dropped]
            if dropped and self.metrics is not None:
                self.metrics.events.labels("dropped").inc(dropped)
            return 0
        if self.metrics is not None:
            self.metrics.events.labels("stored").inc(stored)
            self.metrics.events.labels("duplicate").inc(len(rows) - stored)
        return stored

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._closed:
                    self._cond.wait(self.interval_s)
                closed = self._closed
            self.flush()
            if closed:
                return

    def close(self) -> None:
        """Write what is left and stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=30)
        self.flush()
