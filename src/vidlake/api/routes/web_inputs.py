"""Web inputs (``/video/v1/web-inputs``, as Mux): create, list, get, delete, launch, reload, shutdown,
and change the URL. A web page is rendered by a real Chromium and streamed into a live stream by the
``serve`` process that owns live ingest (:mod:`vidlake.webinput.runner`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Response, status
from pydantic import Field

from vidlake.api.deps import PrincipalDep, ServicesDep, SessionDep
from vidlake.api.schemas.common import Page, StrictModel, page_params
from vidlake.core.netguard import check_url
from vidlake.webinput import service as svc

router = APIRouter(prefix="/video/v1/web-inputs", tags=["web inputs"])

Resolution = Literal["1920x1080", "1280x720", "1080x1920", "720x1280", "1080x1080", "720x720"]


class WebInputCreate(StrictModel):
    """``POST /video/v1/web-inputs``: show ``url`` in a ``resolution`` viewport and stream it (30 fps, H.264
    and the page's audio as AAC) into ``live_stream_id`` for at most ``timeout`` seconds per launch."""

    url: str = Field(min_length=8, max_length=2048)
    live_stream_id: str = Field(min_length=1, max_length=64)
    id: str | None = Field(None, max_length=64, description="Accepted for SDK compatibility; Vidlake makes the id.")
    auto_launch: bool = False
    resolution: Resolution = "1920x1080"
    timeout: int = Field(3600, ge=60, le=86400)
    passthrough: str | None = Field(None, max_length=255)
    created_at: str | None = Field(None, max_length=32, description="Accepted for SDK compatibility; ignored.")
    status: str | None = Field(None, max_length=16, description="Accepted for SDK compatibility; ignored.")


class WebInputUrl(StrictModel):
    """``PUT .../url``: the page shown from the next launch (only while idle)."""

    url: str = Field(min_length=8, max_length=2048)


def _url(services: ServicesDep, url: str) -> str:
    return check_url(url, field="url", allow_private=services.settings.allow_private_networks)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_web_input(body: WebInputCreate, principal: PrincipalDep, session: SessionDep,
                     services: ServicesDep) -> dict[str, Any]:
    """Create a web input (launched at once with ``auto_launch``)."""
    request = body.model_dump()
    request["url"] = _url(services, body.url)
    row = svc.create_web_input(session, principal.environment_id, request)
    return {"data": svc.web_input_public(row)}


@router.get("")
def list_web_inputs(principal: PrincipalDep, session: SessionDep, page: Page = Depends(page_params)) -> dict[str, Any]:
    """Web inputs of the environment, newest first."""
    rows = svc.list_web_inputs(session, principal.environment_id, page.offset, page.limit)
    return {"data": [svc.web_input_public(r) for r in rows]}


@router.get("/{web_input_id}")
def get_web_input(web_input_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """One web input."""
    return {"data": svc.web_input_public(svc.get_web_input(session, principal.environment_id, web_input_id))}


@router.delete("/{web_input_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_web_input(web_input_id: str, principal: PrincipalDep, session: SessionDep) -> Response:
    """Delete (a running browser stops within a second)."""
    svc.delete_web_input(session, svc.get_web_input(session, principal.environment_id, web_input_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{web_input_id}/launch")
def launch_web_input(web_input_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Start streaming: ``launching``, then ``streaming`` once the live stream receives it."""
    row = svc.get_web_input(session, principal.environment_id, web_input_id)
    svc.launch(session, row)
    return {"data": svc.web_input_public(row)}


@router.put("/{web_input_id}/reload")
def reload_web_input(web_input_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Reload the page in the running browser (409 when it is not running)."""
    row = svc.get_web_input(session, principal.environment_id, web_input_id)
    svc.request_reload(session, row)
    return {"data": svc.web_input_public(row)}


@router.put("/{web_input_id}/shutdown")
def shutdown_web_input(web_input_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Stop streaming (``idle``)."""
    row = svc.get_web_input(session, principal.environment_id, web_input_id)
    svc.shutdown(session, row)
    return {"data": svc.web_input_public(row)}


@router.put("/{web_input_id}/url")
def update_web_input_url(web_input_id: str, body: WebInputUrl, principal: PrincipalDep, session: SessionDep,
                         services: ServicesDep) -> dict[str, Any]:
    """Change the page (409 unless idle)."""
    row = svc.get_web_input(session, principal.environment_id, web_input_id)
    svc.set_url(session, row, _url(services, body.url))
    return {"data": svc.web_input_public(row)}
