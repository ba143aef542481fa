"""Web inputs as the API sees them (Mux's ``/video/v1/web-inputs``): create, get, list, delete, launch,
reload, shutdown, change the URL. Each function is one step of a transaction the caller commits; the
browser itself is run by :mod:`vidlake.webinput.runner` in the process that owns live ingest.

States (``status``): ``idle`` → ``launching`` (asked to run; a runner starts the browser and the encoder)
→ ``streaming`` (the live stream receives it) → ``idle``. Events ``video.web_input.created``,
``.launching``, ``.streaming``, ``.shutting_down``, ``.idle``, ``.updated``, ``.deleted``; the payload is
the web input as the API shows it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import Conflict
from vidlake.core.ids import new_id
from vidlake.db.tenancy import get_owned
from vidlake.db.web_input_models import WebInput
from vidlake.events import emit
from vidlake.live import streams

#: Viewport sizes a web input renders at (width x height, pixels): Mux's list.
RESOLUTIONS = ("1920x1080", "1280x720", "1080x1920", "720x1280", "1080x1080", "720x720")

#: Video bit rate of the stream sent into the live stream, by the larger side (bits per second).
VIDEO_BITRATE = {1920: 4_500_000, 1280: 2_500_000, 1080: 3_500_000, 720: 1_800_000}

RUNNING = ("launching", "streaming")


def size_of(resolution: str) -> tuple[int, int]:
    """``"1280x720"`` → (1280, 720) pixels."""
    width, _, height = resolution.partition("x")
    return int(width), int(height)


def web_input_public(row: WebInput) -> dict[str, Any]:
    """The web input as the API shows it (Mux's ``WebInput``; ``last_error`` is Vidlake's)."""
    out: dict[str, Any] = {
        "id": row.id,
        "created_at": str(int(row.created_at)),
        "url": row.url,
        "live_stream_id": row.live_stream_id,
        "status": row.status,
        "resolution": row.resolution,
        "auto_launch": row.auto_launch,
        "timeout": row.timeout,
    }
    if row.passthrough is not None:
        out["passthrough"] = row.passthrough
    if row.last_error:
        out["last_error"] = row.last_error
    return out


def _emit(session: Session, row: WebInput, event: str) -> None:
    emit(session, row.environment_id, f"video.web_input.{event}", "web_input", row.id, web_input_public(row))


def create_web_input(session: Session, environment_id: str, request: dict[str, Any]) -> WebInput:
    """A new web input streaming into the live stream ``request["live_stream_id"]`` (of this environment:
    ``NotFound`` otherwise); launched at once when ``auto_launch``."""
    streams.get_live_stream(session, environment_id, request["live_stream_id"])
    row = WebInput(id=new_id(), environment_id=environment_id, live_stream_id=request["live_stream_id"],
                   url=request["url"], resolution=request.get("resolution") or "1920x1080",
                   timeout=int(request.get("timeout") or 3600), auto_launch=bool(request.get("auto_launch")),
                   passthrough=request.get("passthrough"), status="idle", reload_requested=0, reloads_done=0,
                   created_at=now(), updated_at=now())
    session.add(row)
    session.flush()
    _emit(session, row, "created")
    if row.auto_launch:
        launch(session, row)
    return row


def get_web_input(session: Session, environment_id: str, web_input_id: str) -> WebInput:
    """The web input, if it belongs to ``environment_id``. Raises ``NotFound``."""
    return get_owned(session, WebInput, web_input_id, environment_id, "web input")


def list_web_inputs(session: Session, environment_id: str, offset: int, limit: int) -> list[WebInput]:
    """Web inputs of the environment, newest first."""
    rows = session.scalars(select(WebInput).where(WebInput.environment_id == environment_id,
                                                  WebInput.deleted_at.is_(None))
                           .order_by(WebInput.created_at.desc(), WebInput.id).offset(offset).limit(limit))
    return list(rows)


def launch(session: Session, row: WebInput) -> None:
    """Ask for the browser to run (``launching``); a runner picks it up within a second. Launching one that
    runs already changes nothing. The live stream must still exist and be enabled (``Conflict``)."""
    if row.status in RUNNING:
        return
    stream = streams.get_live_stream(session, row.environment_id, row.live_stream_id)
    if stream.status == "disabled":
        raise Conflict(f"live stream {stream.id} is disabled: enable it before launching the web input")
    row.status, row.launched_at, row.last_error = "launching", now(), None
    row.owner, row.owner_seen_at = None, None
    row.reloads_done = row.reload_requested
    row.updated_at = now()
    _emit(session, row, "launching")


def shutdown(session: Session, row: WebInput, reason: str | None = None) -> None:
    """Stop the browser (``idle``; the runner stops its processes within a second). ``reason``: why, when
    it was not asked for (timeout, failures), kept as ``last_error``."""
    if row.status not in RUNNING:
        return
    _emit(session, row, "shutting_down")
    row.status, row.owner, row.owner_seen_at = "idle", None, None
    if reason:
        row.last_error = reason
    row.updated_at = now()
    _emit(session, row, "idle")


def request_reload(session: Session, row: WebInput) -> None:
    """Reload the page in the running browser (``Conflict`` when it is not running)."""
    if row.status not in RUNNING:
        raise Conflict("the web input is not running: launch it first")
    row.reload_requested += 1
    row.updated_at = now()


def set_url(session: Session, row: WebInput, url: str) -> None:
    """Change the page; only while idle (``Conflict`` otherwise), as Mux allows."""
    if row.status != "idle":
        raise Conflict("the URL of a web input can only change while it is idle: shut it down first")
    row.url = url
    row.updated_at = now()
    _emit(session, row, "updated")


def delete_web_input(session: Session, row: WebInput) -> None:
    """Soft-delete (a running browser is stopped by its runner within a second)."""
    shutdown(session, row)
    row.deleted_at = now()
    _emit(session, row, "deleted")


def mark_streaming(session: Session, row: WebInput) -> None:
    """The live stream receives the web input (called by the runner)."""
    if row.status == "launching":
        row.status = "streaming"
        row.updated_at = now()
        _emit(session, row, "streaming")
