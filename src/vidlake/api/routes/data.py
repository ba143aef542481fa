"""The Data API, shaped like Mux Data's (``/data/v1``): metrics overall, by dimension and over time, and
video views, read from the views the roll-up job made of mux-embed beacons (:mod:`vidlake.analytics`).

Units as Mux: times in milliseconds, percentages and scores as fractions (0-1), view times as ISO 8601.
``global_value`` (Mux's all-customer benchmark) is always ``null``: a self-hosted cloud has no peers.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections import defaultdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from sqlalchemy import select

from vidlake.analytics import keys, metrics, query
from vidlake.api.deps import PrincipalDep, SessionDep
from vidlake.api.schemas.common import Page, page_params
from vidlake.core.clock import now
from vidlake.core.errors import InvalidParameters, NotFound
from vidlake.db.analytics_models import VideoView, ViewerEvent

router = APIRouter(prefix="/data/v1", tags=["data"])

TimeframeQ = Annotated[list[str] | None, Query(alias="timeframe[]", description="24:hours, 7:days, or [start, end]"
                                               " in Unix seconds")]
FiltersQ = Annotated[list[str] | None, Query(alias="filters[]", description="dimension:value or !dimension:value")]
MeasurementQ = Annotated[str | None, Query(max_length=16, description="95th, median, avg, sum or count")]
DirectionQ = Annotated[Literal["asc", "desc"] | None, Query(description="Sort order")]
GRANULARITY_S = {"minute": 60, "ten_minutes": 600, "hour": 3600, "day": 86400}
MAX_BUCKETS = 2000


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ms(value: float) -> int:
    return round(value)


@router.get("/metrics/{metric_id}/overall")
def overall(principal: PrincipalDep, session: SessionDep, metric_id: Annotated[str, PathParam(max_length=64)],
            timeframe: TimeframeQ = None, filters: FiltersQ = None,
            measurement: MeasurementQ = None) -> dict[str, Any]:
    """The metric over every view that started in the timeframe, with their view count, watch time and
    playing time (milliseconds)."""
    m = metrics.metric(metric_id)
    how = metrics.measurement_for(m, measurement)
    window = query.timeframe(timeframe, now())
    rows = query.views(session, principal.environment_id, window, filters)
    return {"data": {"value": metrics.value(m, rows, how), "total_views": len(rows),
                     "total_watch_time": _ms(sum(v.watch_time_ms for v in rows)),
                     "total_playing_time": _ms(sum(v.playing_time_ms for v in rows)), "global_value": None},
            "timeframe": list(window), "total_row_count": None}


@router.get("/metrics/{metric_id}/breakdown")
def breakdown(principal: PrincipalDep, session: SessionDep, metric_id: Annotated[str, PathParam(max_length=64)],
              group_by: Annotated[str, Query(max_length=64, description="The dimension")] = "asset_id",
              timeframe: TimeframeQ = None, filters: FiltersQ = None, measurement: MeasurementQ = None,
              order_by: Annotated[Literal["negative_impact", "value", "views", "field"] | None,
                                  Query(description="Ordering")] = None,
              order_direction: DirectionQ = None, page: Page = Depends(page_params)) -> dict[str, Any]:
    """The metric per value of ``group_by``. ``negative_impact`` ranks values (1 = the worst) by how much
    they pull the overall value the wrong way: (difference from overall) × views."""
    m = metrics.metric(metric_id)
    how = metrics.measurement_for(m, measurement)
    column = query.dimension(group_by)
    window = query.timeframe(timeframe, now())
    rows = query.views(session, principal.environment_id, window, filters)
    groups: dict[str | None, list[VideoView]] = defaultdict(list)
    for view in rows:
        groups[getattr(view, column.key)].append(view)
    whole = metrics.value(m, rows, how) or 0.0
    out: list[dict[str, Any]] = []
    for field, members in groups.items():
        value = metrics.value(m, members, how)
        worse = ((value or 0.0) - whole) * (1 if m.higher_is_worse else -1)
        out.append({"field": field, "value": value, "views": len(members),
                    "total_watch_time": _ms(sum(v.watch_time_ms for v in members)),
                    "total_playing_time": _ms(sum(v.playing_time_ms for v in members)),
                    "_impact": worse * len(members)})
    for rank, row in enumerate(sorted(out, key=lambda r: -float(r["_impact"])), start=1):
        row["negative_impact"] = rank
    by = order_by or "negative_impact"
    descending = (order_direction or ("asc" if by == "negative_impact" else "desc")) == "desc"
    out.sort(key=lambda r: (r[by] is None, r[by] if r[by] is not None else 0) if by != "field"
             else (r["field"] is None, r["field"] or ""), reverse=descending)
    for row in out:
        del row["_impact"]
    return {"data": out[page.offset:page.offset + page.limit], "total_row_count": len(out),
            "timeframe": list(window), "meta": {"aggregation": how}}


@router.get("/metrics/{metric_id}/timeseries")
def timeseries(principal: PrincipalDep, session: SessionDep, metric_id: Annotated[str, PathParam(max_length=64)],
               timeframe: TimeframeQ = None, filters: FiltersQ = None, measurement: MeasurementQ = None,
               group_by: Annotated[Literal["minute", "ten_minutes", "hour", "day"] | None,
                                   Query(description="Granularity")] = None,
               order_direction: DirectionQ = None) -> dict[str, Any]:
    """The metric per time bucket of the timeframe: rows of [bucket start (ISO 8601), value, views]."""
    m = metrics.metric(metric_id)
    how = metrics.measurement_for(m, measurement)
    start, end = query.timeframe(timeframe, now())
    span = end - start
    granularity = group_by or ("minute" if span < 5400 else "ten_minutes" if span <= 6 * 3600
                               else "hour" if span <= 15 * 86400 else "day")
    step = GRANULARITY_S[granularity]
    first = start - start % step
    if (end - first) / step > MAX_BUCKETS:
        raise InvalidParameters(f"group_by: {granularity} gives more than {MAX_BUCKETS} points in this timeframe")
    buckets: dict[int, list[VideoView]] = defaultdict(list)
    for view in query.views(session, principal.environment_id, (start, end), filters):
        buckets[int(view.view_start) - int(view.view_start) % step].append(view)
    data = [[_iso(t), metrics.value(m, buckets.get(t, []), how), len(buckets.get(t, []))]
            for t in range(first, end, step)]
    if order_direction == "desc":
        data.reverse()
    return {"data": data, "total_row_count": len(data), "timeframe": [start, end],
            "meta": {"granularity": granularity, "aggregation": how}}


def _abridged(view: VideoView) -> dict[str, Any]:
    return {"id": view.id, "viewer_os_family": view.operating_system, "viewer_application_name": view.browser,
            "video_title": view.video_title, "total_row_count": None,
            "player_error_message": view.error_message, "player_error_code": view.error_code,
            "error_type_id": None, "country_code": None, "view_start": _iso(view.view_start),
            "view_end": _iso(view.view_end), "viewer_experience_score": view.viewer_experience_score,
            "watch_time": _ms(view.watch_time_ms), "playback_failure": view.failed}


@router.get("/video-views")
def list_video_views(principal: PrincipalDep, session: SessionDep, page: Page = Depends(page_params),
                     viewer_id: Annotated[str | None, Query(max_length=128)] = None,
                     error_id: Annotated[str | None, Query(max_length=16, description="'any': failed views")] = None,
                     order_direction: DirectionQ = None, filters: FiltersQ = None,
                     timeframe: TimeframeQ = None) -> dict[str, Any]:
    """The views that started in the timeframe, newest first (``order_direction=asc``: oldest first)."""
    if error_id is not None and error_id != "any":
        raise InvalidParameters("error_id: only 'any' (views that failed) is supported")
    window = query.timeframe(timeframe, now())
    rows = query.views(session, principal.environment_id, window, filters, started_only=False)
    rows = [v for v in rows if (viewer_id is None or v.viewer_id == viewer_id) and (error_id is None or v.failed)]
    if order_direction != "asc":
        rows.reverse()
    return {"data": [_abridged(v) for v in rows[page.offset:page.offset + page.limit]],
            "total_row_count": len(rows), "timeframe": list(window)}


def _str(value: Any) -> str | None:
    return None if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _int(value: Any) -> int | None:
    return None if value is None else round(float(value))


@router.get("/video-views/{view_id}")
def get_video_view(principal: PrincipalDep, session: SessionDep,
                   view_id: Annotated[str, PathParam(max_length=128)]) -> dict[str, Any]:
    """One view: every field the player reported (full names), its metrics and scores, and its events."""
    view = session.get(VideoView, view_id)
    if view is None or view.environment_id != principal.environment_id:
        raise NotFound("video view not found")
    state = {k: v for k, v in (view.state or {}).items() if not k.startswith("_")}
    events = session.scalars(select(ViewerEvent).where(ViewerEvent.environment_id == view.environment_id,
                                                       ViewerEvent.view_id == view.id).order_by(ViewerEvent.seq))
    timeline: list[dict[str, Any]] = []
    for event in events:
        data = keys.expand(event.data or {})
        timeline.append({"name": event.event, "viewer_time": event.viewer_time,
                         "playback_time": _int(data.get("player_playhead_time")),
                         "event_time": event.viewer_time, "details": {}})
    data = {key: value for key, value in state.items() if isinstance(value, str | int | float | bool)}
    data.update({
        "id": view.id, "view_id": view.id, "mux_viewer_id": view.viewer_id, "view_start": _iso(view.view_start),
        "view_end": _iso(view.view_end), "updated_at": _iso(view.updated_at), "inserted_at": _iso(view.view_start),
        "asset_id": view.asset_id, "live_stream_id": view.live_stream_id, "playback_id": view.playback_id,
        "video_title": view.video_title, "viewer_application_name": view.browser,
        "viewer_os_family": view.operating_system, "player_name": view.player_name,
        "watch_time": _ms(view.watch_time_ms), "view_playing_time": _str(view.playing_time_ms),
        "time_to_first_frame": _int(view.video_startup_ms), "player_startup_time": _int(view.player_startup_ms),
        "buffering_count": view.rebuffer_count, "buffering_duration": _ms(view.rebuffer_duration_ms),
        "rebuffer_percentage": _str(view.rebuffer_percentage), "exit_before_video_start": view.exit_before_start,
        "player_error_code": view.error_code, "player_error_message": view.error_message,
        "view_max_upscale_percentage": _str(view.max_upscale), "playback_score": _str(view.playback_success_score),
        "startup_score": _str(view.startup_time_score), "rebuffering_score": _str(view.smoothness_score),
        "quality_score": _str(view.video_quality_score), "viewer_experience_score": _str(view.viewer_experience_score),
        "watched": view.started, "events": timeline,
    })
    return {"data": data, "timeframe": [int(view.view_start), int(view.view_end) + 1], "total_row_count": None}


@router.get("/dimensions")
def list_dimensions(principal: PrincipalDep) -> dict[str, Any]:
    """The dimensions views can be broken down and filtered by (all ``basic``: Vidlake has no others)."""
    return {"data": {"basic": list(query.DIMENSIONS), "advanced": []}, "total_row_count": len(query.DIMENSIONS),
            "timeframe": None}


@router.get("/dimensions/{dimension_id}")
def list_dimension_values(principal: PrincipalDep, session: SessionDep,
                          dimension_id: Annotated[str, PathParam(max_length=64)], timeframe: TimeframeQ = None,
                          filters: FiltersQ = None, page: Page = Depends(page_params)) -> dict[str, Any]:
    """The values ``dimension_id`` took in the timeframe's views, most views first."""
    column = query.dimension(dimension_id, "DIMENSION_ID")
    window = query.timeframe(timeframe, now())
    counts: dict[str, int] = defaultdict(int)
    for view in query.views(session, principal.environment_id, window, filters):
        value = getattr(view, column.key)
        if value is not None:
            counts[value] += 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {"data": [{"value": v, "total_count": n} for v, n in ordered[page.offset:page.offset + page.limit]],
            "total_row_count": len(ordered), "timeframe": list(window)}


@router.get("/errors")
def list_errors(principal: PrincipalDep, session: SessionDep, timeframe: TimeframeQ = None,
                filters: FiltersQ = None) -> dict[str, Any]:
    """The fatal player errors of the timeframe's views: per (player error code, message) how many views
    failed with it and their share of all views, newest occurrence first. ``id`` is stable for a given
    code and message (CRC-32 of both)."""
    window = query.timeframe(timeframe, now())
    rows = query.views(session, principal.environment_id, window, filters)
    groups: dict[tuple[str, str], list[VideoView]] = defaultdict(list)
    for view in rows:
        if view.failed:
            groups[(view.error_code or "", view.error_message or "")].append(view)
    out = []
    for (code, message), members in groups.items():
        out.append({"id": zlib.crc32(f"{code}\n{message}".encode()), "player_error_code": code or None,
                    "code": int(code) if code.isdigit() else None, "message": message or None,
                    "description": None, "notes": None, "count": len(members),
                    "percentage": len(members) / len(rows), "last_seen": _iso(max(v.view_end for v in members))})
    out.sort(key=lambda e: str(e["last_seen"]), reverse=True)
    return {"data": out, "total_row_count": len(out), "timeframe": list(window)}
