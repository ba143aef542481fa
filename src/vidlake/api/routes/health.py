"""Health and metrics (no token needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from vidlake.api.deps import ServicesDep
from vidlake.core.errors import StorageError, VidlakeError

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(services: ServicesDep) -> dict[str, Any]:
    """200 when the database and storage answer; 503 naming what is down otherwise."""
    problems = []
    try:
        with services.db.session() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:
        problems.append(f"database: {type(exc).__name__}")
    try:
        services.storage.check()
    except StorageError as exc:
        problems.append(f"storage: {exc.messages[0]}")
    if problems:
        raise _Unhealthy(*problems)
    return {"data": {"status": "ok"}}


class _Unhealthy(VidlakeError):
    """A dependency is down."""

    status_code = 503
    error_type = "unavailable"


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
