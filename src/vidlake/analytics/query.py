"""The Data API's query parameters (``timeframe[]``, ``filters[]``, dimensions) and the views they select.

As Mux Data: ``timeframe[]`` is either one relative value ``N:unit`` (``24:hours``, ``7:days``,
``30:minutes``; the default is ``24:hours``) or two Unix times in seconds, start and end; a view is in the
timeframe when it started in it. ``filters[]`` are ``dimension:value`` (``!dimension:value`` excludes).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import InstrumentedAttribute

from vidlake.api.routes.delivery_usage import timeframe_window
from vidlake.core.errors import InvalidParameters
from vidlake.db.analytics_models import VideoView

DEFAULT_TIMEFRAME = "24:hours"
MAX_VIEWS = 200_000  #: most views one metric query reads (the answer says so when it stopped there)
UNITS_S = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_RELATIVE = re.compile(r"^(\d{1,6}):([a-z]+)$")

#: Dimension name (Mux's) → the view column it reads.
DIMENSIONS: dict[str, InstrumentedAttribute[str | None]] = {
    "asset_id": VideoView.asset_id,
    "live_stream_id": VideoView.live_stream_id,
    "playback_id": VideoView.playback_id,
    "video_title": VideoView.video_title,
    "browser": VideoView.browser,
    "operating_system": VideoView.operating_system,
    "player_name": VideoView.player_name,
    "viewer_id": VideoView.viewer_id,
}
#: Dimensions Mux has that Vidlake cannot know (no offline GeoIP database ships in a package).
UNAVAILABLE = ("country", "region", "city", "asn", "continent_code")


def timeframe(values: list[str] | None, at: float) -> tuple[int, int]:
    """[start, end] in Unix seconds from ``timeframe[]`` (400 naming the field when malformed)."""
    values = values or [DEFAULT_TIMEFRAME]
    if len(values) == 1:
        match = _RELATIVE.match(values[0].strip().lower())
        if not match or match.group(2) not in UNITS_S or int(match.group(1)) == 0:
            raise InvalidParameters("timeframe[]: one relative value such as 24:hours or 7:days "
                                    "(minutes, hours, days), or two Unix times in seconds")
        span = int(match.group(1)) * UNITS_S[match.group(2)]
        if span > 366 * 86400:
            raise InvalidParameters("timeframe[]: at most 366 days")
        end = int(at) + 1
        return end - span, end
    return timeframe_window(values, at)


def dimension(name: str, field: str = "group_by") -> InstrumentedAttribute[str | None]:
    """The column of dimension ``name``; 400 naming ``field`` otherwise."""
    column = DIMENSIONS.get(name)
    if column is None:
        why = " (no GeoIP database ships with Vidlake)" if name in UNAVAILABLE else ""
        raise InvalidParameters(f"{field}: unknown dimension {name[:64]!r}{why}; one of {', '.join(DIMENSIONS)}")
    return column


def parse_filters(values: list[str] | None) -> list[tuple[InstrumentedAttribute[str | None], str, bool]]:
    """``filters[]`` as (column, value, excluded)."""
    out = []
    for raw in values or []:
        excluded = raw.startswith("!")
        name, sep, wanted = raw.removeprefix("!").partition(":")
        if not sep or not wanted:
            raise InvalidParameters("filters[]: must be dimension:value (or !dimension:value to exclude)")
        out.append((dimension(name, "filters[]"), wanted[:255], excluded))
    return out


def views(session: Session, environment_id: str, window: tuple[int, int], filters: Sequence[str] | None,
          *, started_only: bool = True) -> list[VideoView]:
    """The environment's views that started in ``window`` and pass ``filters`` (at most :data:`MAX_VIEWS`)."""
    query = select(VideoView).where(VideoView.environment_id == environment_id,
                                    VideoView.view_start >= window[0], VideoView.view_start < window[1])
    if started_only:
        query = query.where(VideoView.started.is_(True))
    for column, wanted, excluded in parse_filters(list(filters or [])):
        query = query.where((column != wanted) | column.is_(None) if excluded else column == wanted)
    return list(session.scalars(query.order_by(VideoView.view_start).limit(MAX_VIEWS)))
