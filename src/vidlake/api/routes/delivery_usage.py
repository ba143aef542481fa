"""Delivery usage (``GET /video/v1/delivery-usage``, as Mux): media seconds delivered per asset (and live
stream) in a time window, from the hourly sums the playback routes' counters flush (``deliver.usage``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import case, func, select

from vidlake.api.deps import PrincipalDep, SessionDep
from vidlake.api.schemas.common import Page, page_params
from vidlake.api.serialize import ts, ts_opt
from vidlake.core.clock import now
from vidlake.core.errors import InvalidParameters
from vidlake.db.models import Asset, DeliveryUsage
from vidlake.deliver.usage import HOUR_S, TIERS

router = APIRouter(prefix="/video/v1/delivery-usage", tags=["delivery usage"])

MAX_WINDOW_S = 366 * 86400  #: longest timeframe (seconds)


def timeframe_window(values: list[str] | None, at: float) -> tuple[int, int]:
    """``timeframe[]``: [start, end] in Unix seconds (default: the hour before ``at``). 400 naming the
    field unless exactly two integers with start < end, at most :data:`MAX_WINDOW_S` apart."""
    if not values:
        end = int(at)
        return end - HOUR_S, end
    if len(values) != 2:
        raise InvalidParameters("timeframe[]: must be two values, start and end in Unix seconds")
    try:
        start, end = (int(float(v)) for v in values)
    except (ValueError, OverflowError) as exc:
        raise InvalidParameters("timeframe[]: start and end must be Unix seconds (integers)") from exc
    if not 0 <= start < end or end - start > MAX_WINDOW_S:
        raise InvalidParameters(f"timeframe[]: start must be before end, at most {MAX_WINDOW_S} seconds apart")
    return start, end


def _asset_state(asset: Asset | None) -> str | None:
    if asset is None:
        return None
    if asset.deleted_at is not None:
        return "deleted"
    return "errored" if asset.status == "errored" else "ready"


def _report(asset_id: str, live_id: str, by_tier: dict[str, float], asset: Asset | None) -> dict[str, Any]:
    return {
        "asset_id": asset_id or None,
        "live_stream_id": (asset.live_stream_id if asset is not None else None) or live_id or None,
        "passthrough": asset.passthrough if asset is not None else None,
        "created_at": ts(asset.created_at) if asset is not None else None,
        "deleted_at": ts_opt(asset.deleted_at) if asset is not None else None,
        "asset_state": _asset_state(asset),
        "asset_duration": asset.duration if asset is not None else None,
        "asset_resolution_tier": asset.resolution_tier if asset is not None else None,
        "delivered_seconds": round(sum(by_tier.values()), 3),
        "delivered_seconds_by_resolution": {tier: round(s, 3) for tier, s in by_tier.items() if s > 0},
    }


@router.get("")
def list_delivery_usage(
    principal: PrincipalDep,
    session: SessionDep,
    page: Page = Depends(page_params),
    asset_id: Annotated[str | None, Query(max_length=64, description="Only this asset")] = None,
    live_stream_id: Annotated[str | None, Query(max_length=64, description="Only this live stream's")] = None,
    timeframe: Annotated[list[str] | None, Query(alias="timeframe[]",
                                                 description="[start, end], Unix seconds")] = None,
) -> dict[str, Any]:
    """Delivered media seconds per asset (and live stream) of the environment, in the hours that overlap
    the timeframe (default: the last hour), by resolution tier; ordered by asset id."""
    if asset_id and live_stream_id:
        raise InvalidParameters("asset_id: cannot be combined with live_stream_id")
    start, end = timeframe_window(timeframe, now())
    rows = (DeliveryUsage.environment_id == principal.environment_id) & (DeliveryUsage.hour < end) \
        & (DeliveryUsage.hour + HOUR_S > start)
    if asset_id:
        rows &= DeliveryUsage.asset_id == asset_id
    if live_stream_id:  # its live usage, and the playback of its assets afterwards
        recorded = select(Asset.id).where(Asset.environment_id == principal.environment_id,
                                          Asset.live_stream_id == live_stream_id)
        rows &= (DeliveryUsage.live_stream_id == live_stream_id) | DeliveryUsage.asset_id.in_(recorded)
    # One report per asset (live and later playback together); per live stream when no asset is known.
    owner = case((DeliveryUsage.asset_id != "", DeliveryUsage.asset_id), else_=DeliveryUsage.live_stream_id)
    groups = select(owner, func.max(DeliveryUsage.asset_id), func.max(DeliveryUsage.live_stream_id)) \
        .where(rows).group_by(owner)
    # The page and the count in one statement: a flush committing between two statements (PostgreSQL reads
    # each statement at its own snapshot) would otherwise give a page of rows and a count of none.
    keys = session.execute(groups.add_columns(func.count().over()).order_by(owner)
                           .offset(page.offset).limit(page.limit)).all()
    counted = select(func.count()).select_from(groups.subquery())  # past the last page: count alone
    total = int(keys[0][3]) if keys else session.scalar(counted) or 0
    data = []
    for group, group_asset, group_live, _ in keys:
        sums = session.execute(select(DeliveryUsage.tier, func.sum(DeliveryUsage.seconds))
                               .where(rows & (owner == group)).group_by(DeliveryUsage.tier)).all()
        by_tier = {tier: float(seconds or 0.0) for tier, seconds in sums if tier in TIERS}
        asset = session.get(Asset, group_asset) if group_asset else None
        if asset is not None and asset.environment_id != principal.environment_id:
            asset = None
        data.append(_report(group_asset, group_live, by_tier, asset))
    return {"data": data, "total_row_count": total, "timeframe": [start, end], "limit": page.limit}
