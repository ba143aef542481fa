"""A view's metrics and Viewer Experience scores, from its merged mux-embed data (full key names).

Definitions follow Mux Data's (see ``docs/analytics.md``). Times are milliseconds; percentages and
scores are fractions (0-1), as the Data API returns them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ViewMetrics:
    """What one view measured; ``None`` where it does not apply (e.g. no startup time for a view that
    never showed a frame)."""

    watch_time_ms: float
    playing_time_ms: float
    video_startup_ms: float | None
    player_startup_ms: float | None
    rebuffer_count: int
    rebuffer_duration_ms: float
    rebuffer_percentage: float
    failed: bool
    exit_before_start: bool
    max_upscale: float | None
    avg_upscale: float | None
    playback_success_score: float | None
    startup_time_score: float | None
    smoothness_score: float | None
    video_quality_score: float | None
    viewer_experience_score: float | None

    def columns(self) -> dict[str, Any]:
        """The values by :class:`~vidlake.db.analytics_models.VideoView` column name."""
        return asdict(self)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return None
        return parsed if math.isfinite(parsed) else None
    return None


def startup_time_score(startup_ms: float) -> float:
    """Mux's Startup Time Score: 8 / (8 + startup seconds)."""
    return 8.0 / (8.0 + max(0.0, startup_ms) / 1000.0)


def smoothness_score(rebuffer_count: int, rebuffer_percentage: float) -> float:
    """Mux's Smoothness Score: the mean of 1/√(1 + (count/2)²) and e^(-10 × rebuffer percentage)."""
    by_count = 1.0 / math.sqrt(1.0 + (rebuffer_count / 2.0) ** 2)
    by_share = math.exp(-10.0 * max(0.0, rebuffer_percentage))
    return (by_count + by_share) / 2.0


def video_quality_score(max_upscale: float, avg_upscale: float) -> float:
    """Mux's Video Quality Score: e^(-0.33 × (0.15 × max upscale + 0.85 × average upscale)), upscale as
    fractions (0.5 = the player showed the video 50 % larger than its resolution)."""
    return math.exp(-0.33 * (0.15 * max(0.0, max_upscale) + 0.85 * max(0.0, avg_upscale)))


def compute(state: dict[str, Any], *, failed: bool, ended: bool, duration_s: float) -> ViewMetrics:
    """The metrics of a view whose merged data is ``state``.

    ``failed``: a fatal player error was reported; ``ended``: the view is over (``viewend`` seen, or
    silent past the view timeout); ``duration_s``: seconds from its first to its last event.
    """
    watch = _num(state.get("view_watch_time")) or 0.0
    playing = _num(state.get("view_playing_time_ms_cumulative"))
    if playing is None:
        playing = _num(state.get("view_content_playback_time")) or 0.0
    startup = _num(state.get("view_time_to_first_frame"))
    if startup is not None and startup < 0:
        startup = None
    player_startup = _num(state.get("player_startup_time"))
    count = int(_num(state.get("view_rebuffer_count")) or 0)
    rebuffer_ms = _num(state.get("view_rebuffer_duration")) or 0.0
    share = rebuffer_ms / watch if watch > 0 else 0.0
    ebvs = ended and not failed and startup is None
    max_up = _num(state.get("view_max_upscale_percentage"))
    content_ms = _num(state.get("view_total_content_playback_time"))
    total_up = _num(state.get("view_total_upscaling"))
    avg_up = total_up / content_ms if total_up is not None and content_ms else None
    if avg_up is None and max_up is not None:
        avg_up = max_up

    if failed:
        success: float | None = 0.0
    elif ebvs:
        success = 0.5 if duration_s >= 1.0 else None  # an exit within a second is not scored
    else:
        success = 1.0
    played = startup is not None
    startup_score = startup_time_score(startup) if played and startup is not None else None
    smooth = smoothness_score(count, share) if played else None
    quality = video_quality_score(max_up or 0.0, avg_up or 0.0) if played and max_up is not None else None
    parts = [s for s in (startup_score, smooth, quality) if s is not None]
    if success is None:
        experience = None
    elif failed or not parts:
        experience = success
    else:
        experience = success * sum(parts) / len(parts)
    return ViewMetrics(
        watch_time_ms=watch, playing_time_ms=playing, video_startup_ms=startup, player_startup_ms=player_startup,
        rebuffer_count=count, rebuffer_duration_ms=rebuffer_ms, rebuffer_percentage=share, failed=failed,
        exit_before_start=ebvs, max_upscale=max_up, avg_upscale=avg_up, playback_success_score=success,
        startup_time_score=startup_score, smoothness_score=smooth, video_quality_score=quality,
        viewer_experience_score=experience,
    )
