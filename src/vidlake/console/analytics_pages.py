"""Console viewer-analytics dashboard (``/console/analytics``): the Data API's headline metrics for the
last 24 hours or 7 days, views per hour as a server-drawn SVG bar chart (no script, no chart library),
breakdowns by asset and browser, the latest views, and the environment key for other players."""

from __future__ import annotations

import time
from html import escape
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from vidlake.analytics import keys, metrics, query
from vidlake.api.deps import ServicesDep
from vidlake.console import i18n
from vidlake.console.pages import _current, _html, _lang, _layout
from vidlake.db.analytics_models import VideoView

router = APIRouter(prefix="/console/analytics", tags=["console"], include_in_schema=False)

CHART_W, CHART_H = 720, 160  #: the bar chart's size (SVG user units ≈ CSS pixels)

#: (metric, measurement, how to show the value)
HEADLINE = (("views", "count", "count"), ("unique_viewers", "count", "count"),
            ("playing_time", "sum", "minutes"), ("video_startup_time", "median", "ms"),
            ("video_startup_time", "95th", "ms"), ("rebuffer_percentage", "avg", "percent"),
            ("playback_failure_percentage", "avg", "percent"), ("exits_before_video_start", "avg", "percent"),
            ("viewer_experience_score", "avg", "score"))

MESSAGES = {
    "views": {"en": "Views", "zh": "观看次数"},
    "unique_viewers": {"en": "Unique viewers", "zh": "独立观众"},
    "playing_time": {"en": "Playing time (min)", "zh": "播放时长（分钟）"},
    "video_startup_time": {"en": "Video startup time", "zh": "视频启动时间"},
    "rebuffer_percentage": {"en": "Rebuffering", "zh": "卡顿比例"},
    "playback_failure_percentage": {"en": "Playback failures", "zh": "播放失败率"},
    "exits_before_video_start": {"en": "Exits before start", "zh": "起播前退出"},
    "viewer_experience_score": {"en": "Viewer experience score", "zh": "观看体验评分"},
    "median": {"en": "median", "zh": "中位数"},
    "95th": {"en": "95th percentile", "zh": "95 分位"},
    "last_24h": {"en": "Last 24 hours", "zh": "最近 24 小时"},
    "last_7d": {"en": "Last 7 days", "zh": "最近 7 天"},
    "views_per_hour": {"en": "Views per hour", "zh": "每小时观看次数"},
    "by_asset": {"en": "By asset", "zh": "按视频资源"},
    "by_browser": {"en": "By browser", "zh": "按浏览器"},
    "latest_views": {"en": "Latest views", "zh": "最近的观看"},
    "failed_view": {"en": "failed", "zh": "失败"},
    "watch_time": {"en": "Watch time", "zh": "观看时长"},
    "env_key": {"en": "Environment key (for mux-embed in your own players)",
                "zh": "环境密钥（用于您自己播放器中的 mux-embed）"},
    "no_views": {"en": "No views in this period yet: play something in the player page.",
                 "zh": "此时间段内还没有观看记录：请在播放器页面播放视频。"},
}


def _t(lang: str, key: str) -> str:
    found = MESSAGES.get(key)
    return escape(found[lang if lang in found else "en"]) if found else escape(i18n.t(lang, key))


def _show(value: float | None, how: str) -> str:
    if value is None:
        return "-"
    if how == "percent":
        return f"{100 * value:.1f}%"
    if how == "ms":
        return f"{value:.0f} ms"
    if how == "minutes":
        return f"{value / 60_000:.1f}"
    if how == "score":
        return f"{100 * value:.0f}"
    return f"{value:.0f}"


def _chart(views: list[VideoView], start: int, end: int) -> str:
    """Views per hour over [start, end) as SVG bars, with the largest hour's count as the scale."""
    hours = max(1, (end - start + 3599) // 3600)
    counts = [0] * hours
    for v in views:
        counts[min(hours - 1, max(0, int(v.view_start - start) // 3600))] += 1
    top = max(counts) or 1
    width = CHART_W / hours
    bars = "".join(
        f'<rect x="{i * width:.1f}" y="{CHART_H - CHART_H * c / top:.1f}" width="{max(1.0, width - 1):.1f}" '
        f'height="{CHART_H * c / top:.1f}"><title>{c}</title></rect>' for i, c in enumerate(counts) if c)
    return (f'<svg class="chart" viewBox="0 0 {CHART_W} {CHART_H}" role="img" data-max="{top}">'
            f'<line x1="0" y1="{CHART_H}" x2="{CHART_W}" y2="{CHART_H}" class="axis"/>{bars}</svg>')


def _breakdown(lang: str, views: list[VideoView], column: str, title: str) -> str:
    groups: dict[str, list[VideoView]] = {}
    for v in views:
        groups.setdefault(str(getattr(v, column) or "-"), []).append(v)
    rows = "".join(
        f'<tr><td><code>{escape(name)}</code></td><td>{len(members)}</td>'
        f'<td>{_show(metrics.value(metrics.METRICS["video_startup_time"], members, "median"), "ms")}</td>'
        f'<td>{_show(metrics.value(metrics.METRICS["playback_failure_percentage"], members, "avg"), "percent")}</td>'
        f'</tr>' for name, members in sorted(groups.items(), key=lambda kv: -len(kv[1]))[:10])
    return (f'<section class="breakdown"><h2>{_t(lang, title)}</h2><table><thead><tr><th></th>'
            f'<th>{_t(lang, "views")}</th><th>{_t(lang, "video_startup_time")} ({_t(lang, "median")})</th>'
            f'<th>{_t(lang, "playback_failure_percentage")}</th></tr></thead><tbody>{rows}</tbody></table></section>')


@router.get("")
def analytics_page(request: Request, services: ServicesDep,
                   period: Annotated[Literal["24h", "7d"], Query()] = "24h") -> Response:
    """The dashboard (read-only: it has no write action)."""
    lang = _lang(request)
    current = _current(request, services)
    if current is None:
        return RedirectResponse("/console/sign-in", status_code=303)
    principal, found = current
    start, end = query.timeframe(["24:hours" if period == "24h" else "7:days"], time.time())
    with services.db.session() as db:
        views = query.views(db, principal.environment_id, (start, end), None)
        latest = list(reversed(query.views(db, principal.environment_id, (start, end), None,
                                           started_only=False)))[:20]
        env_key = keys.env_key_for(db, principal.environment_id) or ""
    tiles = "".join(
        f'<div class="tile" data-metric="{name}-{how}"><span class="label">{_t(lang, name)}'
        f'{" (" + _t(lang, how) + ")" if name == "video_startup_time" else ""}</span>'
        f'<span class="value">{_show(metrics.value(metrics.METRICS[name], views, how), shown)}</span></div>'
        for name, how, shown in HEADLINE)
    mark = ' class="current"'
    periods = " ".join(
        f'<a href="/console/analytics?period={p}"{mark if p == period else ""}>{_t(lang, label)}</a>'
        for p, label in (("24h", "last_24h"), ("7d", "last_7d")))
    rows = "".join(
        f'<tr class="{"failed" if v.failed else ""}"><td>{escape(i18n.fmt_date(lang, v.view_start))}</td>'
        f'<td><code>{escape(v.asset_id or v.live_stream_id or "-")}</code></td><td>{escape(v.browser or "-")}</td>'
        f'<td>{escape(i18n.fmt_duration(lang, v.watch_time_ms / 1000))}</td>'
        f'<td>{_show(v.video_startup_ms, "ms")}</td>'
        f'<td>{_t(lang, "failed_view") + ": " + escape(v.error_code or "") if v.failed else ""}</td></tr>'
        for v in latest)
    body = (f'<h1>{_t(lang, "analytics")}</h1><p class="periods">{periods}</p>'
            f'<div class="tiles">{tiles}</div>'
            + (f'<h2>{_t(lang, "views_per_hour")}</h2>{_chart(views, start, end)}'
               f'<div class="breakdowns">{_breakdown(lang, views, "asset_id", "by_asset")}'
               f'{_breakdown(lang, views, "browser", "by_browser")}</div>'
               f'<h2>{_t(lang, "latest_views")}</h2><table id="latest-views"><thead><tr>'
               f'<th>{_t(lang, "created")}</th><th>ID</th><th>{_t(lang, "by_browser")}</th>'
               f'<th>{_t(lang, "watch_time")}</th><th>{_t(lang, "video_startup_time")}</th><th></th></tr></thead>'
               f'<tbody>{rows}</tbody></table>' if views or latest else f'<p>{_t(lang, "no_views")}</p>')
            + f'<p class="env-key">{_t(lang, "env_key")}: <code>{escape(env_key)}</code></p>')
    return _html(_layout(lang, body, principal, found.csrf))
