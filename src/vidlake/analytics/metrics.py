"""The Data API's metrics, defined as Mux Data defines them, aggregated over rolled-up views.

Each metric turns a list of :class:`~vidlake.db.analytics_models.VideoView` rows into one value. Only
views that started (a play was attempted, or the view failed) count. Units: times in milliseconds
(``playing_time`` too), percentages and scores as fractions 0-1, ``rebuffer_frequency`` in rebuffers per
minute of watch time. Scores are averaged weighted by watch time (a view without watch time weighs as
one second), as Mux weighs its Viewer Experience scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vidlake.core.errors import InvalidParameters
from vidlake.db.analytics_models import VideoView

MEASUREMENTS = ("95th", "median", "avg", "sum", "count")


@dataclass(frozen=True)
class Metric:
    """One metric: ``measure(views, measurement)``; ``higher_is_worse`` orders breakdown impact;
    ``measurements`` it accepts, the first being its default."""

    name: str
    measure: Callable[[Sequence[VideoView], str], float | None]
    higher_is_worse: bool
    measurements: tuple[str, ...] = ("avg",)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` (0-100) percentile of ``values`` by linear interpolation; ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _measure(values: Sequence[float], measurement: str) -> float | None:
    if measurement == "count":
        return float(len(values))
    if not values:
        return None
    if measurement == "sum":
        return float(sum(values))
    if measurement == "avg":
        return sum(values) / len(values)
    return percentile(values, 95.0 if measurement == "95th" else 50.0)


def _of(column: str) -> Callable[[Sequence[VideoView], str], float | None]:
    def measure(views: Sequence[VideoView], measurement: str) -> float | None:
        return _measure([float(getattr(v, column)) for v in views if getattr(v, column) is not None], measurement)
    return measure


def _share(test: Callable[[VideoView], bool]) -> Callable[[Sequence[VideoView], str], float | None]:
    def measure(views: Sequence[VideoView], _: str) -> float | None:
        return sum(1 for v in views if test(v)) / len(views) if views else None
    return measure


def _score(column: str) -> Callable[[Sequence[VideoView], str], float | None]:
    def measure(views: Sequence[VideoView], _: str) -> float | None:
        pairs = [(float(getattr(v, column)), max(v.watch_time_ms, 1000.0)) for v in views
                 if getattr(v, column) is not None]
        weight = sum(w for _, w in pairs)
        return sum(s * w for s, w in pairs) / weight if weight else None
    return measure


def _watch(views: Sequence[VideoView]) -> float:
    return sum(v.watch_time_ms for v in views)


def _rebuffer_percentage(views: Sequence[VideoView], _: str) -> float | None:
    watch = _watch(views)
    return sum(v.rebuffer_duration_ms for v in views) / watch if watch > 0 else None


def _rebuffer_frequency(views: Sequence[VideoView], _: str) -> float | None:
    watch = _watch(views)
    return sum(v.rebuffer_count for v in views) / (watch / 60_000.0) if watch > 0 else None


def _views(views: Sequence[VideoView], _: str) -> float | None:
    return float(len(views))


def _unique_viewers(views: Sequence[VideoView], _: str) -> float | None:
    return float(len({v.viewer_id or v.id for v in views}))


def _playing_time(views: Sequence[VideoView], _: str) -> float | None:
    return float(sum(v.playing_time_ms for v in views))


TIMES = ("95th", "median", "avg", "sum")
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("views", _views, False, ("count",)),
    Metric("unique_viewers", _unique_viewers, False, ("count",)),
    Metric("playing_time", _playing_time, False, ("sum",)),
    Metric("video_startup_time", _of("video_startup_ms"), True, TIMES),
    Metric("player_startup_time", _of("player_startup_ms"), True, TIMES),
    Metric("rebuffer_percentage", _rebuffer_percentage, True),
    Metric("rebuffer_frequency", _rebuffer_frequency, True),
    Metric("rebuffer_count", _of("rebuffer_count"), True, ("avg", "median", "95th", "sum")),
    Metric("rebuffer_duration", _of("rebuffer_duration_ms"), True, ("avg", "median", "95th", "sum")),
    Metric("playback_failure_percentage", _share(lambda v: v.failed), True),
    Metric("exits_before_video_start", _share(lambda v: v.exit_before_start), True),
    Metric("playback_success_score", _score("playback_success_score"), False),
    Metric("startup_time_score", _score("startup_time_score"), False),
    Metric("smoothness_score", _score("smoothness_score"), False),
    Metric("video_quality_score", _score("video_quality_score"), False),
    Metric("viewer_experience_score", _score("viewer_experience_score"), False),
)}


def metric(name: str) -> Metric:
    """The metric called ``name``; 400 naming the path's ``METRIC_ID`` otherwise."""
    found = METRICS.get(name)
    if found is None:
        raise InvalidParameters(f"METRIC_ID: unknown metric {name[:64]!r}; one of {', '.join(METRICS)}")
    return found


def measurement_for(m: Metric, measurement: str | None) -> str:
    """``measurement`` checked against what ``m`` accepts (its default when ``None``)."""
    if measurement is None:
        return m.measurements[0]
    if measurement not in m.measurements:
        raise InvalidParameters(f"measurement: {m.name} takes one of {', '.join(m.measurements)}")
    return measurement


def value(m: Metric, views: Sequence[VideoView], measurement: str) -> float | None:
    """``m`` over ``views`` (only the started ones count)."""
    return m.measure([v for v in views if v.started], measurement)
