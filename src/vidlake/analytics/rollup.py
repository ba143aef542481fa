"""The ``analytics.rollup`` job: folds new beacon events into per-view rows (:class:`VideoView`).

A maintenance hook enqueues the job every ``analytics_rollup_interval_s`` seconds when there are events
not yet rolled up (or views that went silent past ``analytics_view_timeout_s``), so a view is queryable
seconds after its last beacon. Events are applied in view sequence order; the SDK sends only what changed
since its previous event, so a view's data is the merge of its events (a late, older event only fills
keys not seen yet). The job is idempotent: an event is marked rolled up in the transaction that updates
its view, and on PostgreSQL concurrent runs skip each other's rows.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from vidlake.analytics import keys, scores, useragent
from vidlake.core.clock import now
from vidlake.db.analytics_models import VideoView, ViewerEvent
from vidlake.db.models import Asset, Job, PlaybackId
from vidlake.db.session import is_postgres
from vidlake.jobs import maintenance, queue
from vidlake.jobs.context import JobContext
from vidlake.jobs.registry import job_kind
from vidlake.runtime import Services

KIND = "analytics.rollup"
BATCH = 2000  #: events per transaction
BUDGET_S = 60.0  #: seconds one job works before leaving the rest to the next
_PLAYBACK_URL = re.compile(r"/([A-Za-z0-9_-]{1,64})\.m3u8(?:[?#]|$)")


def _text(value: Any, limit: int) -> str | None:
    if value is None or value == "":
        return None
    return str(value)[:limit]


def _dimensions(session: Session, view: VideoView, state: dict[str, Any]) -> None:
    """Asset, playback id, live stream, title, browser, OS and player of ``view`` from its data."""
    if view.playback_id is None:
        for name in ("video_source_url", "player_source_url"):
            match = _PLAYBACK_URL.search(str(state.get(name) or ""))
            if match:
                view.playback_id = match.group(1)
                break
        pid = session.get(PlaybackId, view.playback_id) if view.playback_id else None
        if pid is not None and pid.environment_id == view.environment_id:
            view.asset_id, view.live_stream_id = pid.asset_id, pid.live_stream_id
        elif pid is None:
            view.playback_id = None
    if view.asset_id is None and view.live_stream_id is None and state.get("video_id"):
        asset = session.get(Asset, str(state["video_id"])[:64])
        if asset is not None and asset.environment_id == view.environment_id:
            view.asset_id = asset.id
    view.video_title = _text(state.get("video_title"), 255)
    client = useragent.parse(state.get("_user_agent"))
    view.browser = _text(state.get("viewer_application_name"), 64) or client.browser
    view.operating_system = _text(state.get("viewer_os_family"), 64) or client.os
    view.player_name = _text(state.get("player_name") or state.get("player_software_name")
                             or state.get("player_software"), 128)
    view.viewer_id = _text(state.get("mux_viewer_id"), 128)


def _fatal(data: dict[str, Any]) -> bool:
    return data.get("player_error_severity") != "warning" and not data.get("player_error_business_exception")


def _apply(session: Session, environment_id: str, view_id: str, events: list[ViewerEvent], t: float,
           timeout_s: float) -> None:
    view = session.get(VideoView, view_id)
    if view is not None and view.environment_id != environment_id:
        return  # a view id another environment already uses: not this one's
    if view is None:
        first = events[0].received_at
        view = VideoView(id=view_id, environment_id=environment_id, view_start=first, view_end=first,
                         last_seq=-1, event_count=0, state={}, ended=False, started=False)
        session.add(view)
    state = dict(view.state or {})
    for event in sorted(events, key=lambda e: e.seq):
        data = keys.expand(event.data or {})
        if event.seq > view.last_seq:
            state.update(data)
            view.last_seq = event.seq
        else:
            for key, value in data.items():
                state.setdefault(key, value)
        if event.user_agent:
            state["_user_agent"] = event.user_agent
        if event.event == "viewstart" or "view_start" in data:
            state["_started"] = True
        if event.event == "error" and _fatal(data):
            state["_failed"] = True
            state["_error_code"] = data.get("player_error_code")
            state["_error_message"] = data.get("player_error_message")
        if event.event == "viewend":
            state["_ended"] = True
        view.view_start = min(view.view_start, event.received_at)
        view.view_end = max(view.view_end, event.received_at)
        view.event_count += 1
    view.state = state
    _dimensions(session, view, state)
    _score(view, t, timeout_s)


def _score(view: VideoView, t: float, timeout_s: float) -> None:
    state = view.state or {}
    failed = bool(state.get("_failed"))
    view.ended = bool(state.get("_ended")) or t - view.view_end > timeout_s
    view.started = bool(state.get("_started")) or failed
    view.error_code = _text(state.get("_error_code"), 64) if failed else None
    view.error_message = _text(state.get("_error_message"), 2000) if failed else None
    metrics = scores.compute(state, failed=failed, ended=view.ended, duration_s=view.view_end - view.view_start)
    for column, value in metrics.columns().items():
        setattr(view, column, value)
    view.updated_at = t


def roll_up(services: Services, budget_s: float = BUDGET_S, ctx: JobContext | None = None) -> dict[str, int]:
    """Roll up pending events (for up to ``budget_s`` seconds), end silent views, prune old events."""
    settings = services.settings
    db = services.db
    started = time.monotonic()
    events_done = views_done = 0
    while time.monotonic() - started < budget_s:
        if ctx is not None:
            ctx.check()
        with db.session() as session:
            query = select(ViewerEvent).where(ViewerEvent.rolled_up.is_(False)).order_by(ViewerEvent.id).limit(BATCH)
            if is_postgres(db.engine):
                query = query.with_for_update(skip_locked=True)
            batch = list(session.scalars(query))
            if not batch:
                break
            grouped: dict[tuple[str, str], list[ViewerEvent]] = defaultdict(list)
            for event in batch:
                grouped[(event.environment_id, event.view_id)].append(event)
            t = now()
            for (env_id, view_id), events in grouped.items():
                _apply(session, env_id, view_id, events, t, settings.analytics_view_timeout_s)
            session.flush()
            session.execute(update(ViewerEvent).where(ViewerEvent.id.in_([e.id for e in batch]))
                            .values(rolled_up=True))
        events_done += len(batch)
        views_done += len(grouped)
    t = now()
    with db.session() as session:
        silent = list(session.scalars(select(VideoView).where(
            VideoView.ended.is_(False), VideoView.view_end < t - settings.analytics_view_timeout_s).limit(BATCH)))
        for view in silent:
            _score(view, t, settings.analytics_view_timeout_s)
        old = select(ViewerEvent.id).where(ViewerEvent.rolled_up.is_(True),
                                           ViewerEvent.received_at < t - settings.analytics_event_retention_s) \
            .limit(10 * BATCH)
        pruned = getattr(session.execute(delete(ViewerEvent).where(ViewerEvent.id.in_(old))), "rowcount", 0) or 0
    return {"events": events_done, "views": views_done, "ended_by_timeout": len(silent), "pruned": int(pruned)}


@job_kind(KIND, max_attempts=3, timeout_s=300)
def rollup_job(ctx: JobContext) -> dict[str, Any]:
    """Job handler: :func:`roll_up`."""
    return roll_up(ctx.services, ctx=ctx)


_last_check = [0.0]


def schedule(services: Services) -> None:
    """Maintenance hook: enqueue one roll-up when there is work and none is queued or running."""
    interval = services.settings.analytics_rollup_interval_s
    if time.monotonic() - _last_check[0] < interval:
        return
    _last_check[0] = time.monotonic()
    t = now()
    with services.db.session() as session:
        pending = session.scalar(select(ViewerEvent.id).where(ViewerEvent.rolled_up.is_(False)).limit(1))
        silent = pending is None and session.scalar(select(VideoView.id).where(
            VideoView.ended.is_(False), VideoView.view_end < t - services.settings.analytics_view_timeout_s).limit(1))
        if pending is None and not silent:
            return
        if session.scalar(select(Job.id).where(Job.kind == KIND, Job.state.in_(("queued", "running"))).limit(1)):
            return
        queue.enqueue(session, KIND, {}, idempotency_key=f"{KIND}:{int(t // interval)}")


maintenance.add_hook(schedule)
