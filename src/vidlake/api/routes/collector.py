"""The QoE beacon collector: ``POST /`` takes the beacons of Mux's ``mux-embed`` SDK.

mux-embed posts to the root path of its ``beaconCollectionDomain`` (no path can be configured), with
``Content-Type: text/plain`` (``fetch``, and ``navigator.sendBeacon`` when the page hides), cross-origin and
without a preflight; it reads only whether the answer is 2xx. Answers carry ``Access-Control-Allow-Origin:
*`` so that a cross-origin page sees them (no cookies are involved). Refused beacons get a 4xx naming the
field and are counted in ``vidlake_beacons_total``. No access token: the environment key in the events says
whose they are (see :mod:`vidlake.analytics.keys`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vidlake.analytics import collector
from vidlake.api.errors import error_response
from vidlake.core.clock import now
from vidlake.runtime import Services

router = APIRouter(tags=["analytics"])

#: The path the collector answers on (also exempt from the JSON body limit: it enforces its own).
PATH = "/"
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "86400"}


def _refuse(request: Request, status: int, type_: str, message: str, reason: str) -> JSONResponse:
    request.app.state.collector_metrics.beacons.labels(reason).inc()
    return error_response(status, type_, [message], headers=CORS)


@router.post(PATH, summary="QoE beacon collector (mux-embed)", response_model=None)
async def collect(request: Request) -> Response:
    """Accept one mux-embed beacon's events (written in batches, see :class:`~vidlake.analytics.collector.
    BeaconWriter`); 200 with how many were accepted, 4xx (nothing kept) otherwise."""
    services: Services = request.app.state.services
    settings = services.settings
    limit = settings.analytics_max_beacon_bytes
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return _refuse(request, 413, "payload_too_large", f"body: larger than {limit} bytes", "oversized")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return _refuse(request, 413, "payload_too_large", f"body: larger than {limit} bytes", "oversized")
    try:
        parsed = collector.parse(bytes(body), settings.analytics_max_beacon_events)
        received = now()
        agent = request.headers.get("user-agent")
        if all(collector.KEY_CACHE.cached(e["ake"]) for e in parsed.events):  # the usual case: no database
            rows = collector.resolve(services.db, parsed, agent, received)
        else:
            rows = await run_in_threadpool(collector.resolve, services.db, parsed, agent, received)
    except collector.BeaconError as exc:
        return _refuse(request, 400, "invalid_parameters", exc.messages[0], exc.reason)
    request.app.state.beacon_writer.add(rows)
    metrics: collector.CollectorMetrics = request.app.state.collector_metrics
    metrics.beacons.labels("accepted").inc()
    metrics.events.labels("ignored").inc(parsed.ignored)
    return JSONResponse({"data": {"accepted": len(rows), "ignored": parsed.ignored}}, headers=CORS)


@router.options(PATH, include_in_schema=False)
def preflight() -> Response:
    """CORS preflight (browsers skip it for mux-embed's text/plain POSTs; other clients may send one)."""
    return Response(status_code=204, headers=CORS)
