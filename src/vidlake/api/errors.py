"""Every error leaves the API as ``{"error": {"type": ..., "messages": [...]}}``, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vidlake.core.errors import VidlakeError

log = logging.getLogger(__name__)

_HTTP_TYPES = {
    400: "invalid_parameters",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    429: "too_many_requests",
}


def error_response(status: int, type_: str, messages: list[str], headers: dict[str, str] | None = None) -> JSONResponse:
    """A Mux-shaped error response."""
    return JSONResponse({"error": {"type": type_, "messages": messages}}, status_code=status, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        if part.isdigit():
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "body"


def _validation_messages(exc: RequestValidationError) -> list[str]:
    messages = []
    for err in exc.errors():
        where = _loc(err.get("loc", ()))
        kind = err.get("type", "")
        if kind == "json_invalid":
            messages.append(f"body: malformed JSON ({err.get('ctx', {}).get('error', 'invalid')})")
        elif kind == "extra_forbidden":
            messages.append(f"{where}: unknown field")
        elif kind == "missing":
            messages.append(f"{where}: is required")
        else:
            messages.append(f"{where}: {err.get('msg', 'invalid')}")
    return messages or ["body: invalid"]


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    @app.exception_handler(VidlakeError)
    async def _vidlake(request: Request, exc: VidlakeError) -> JSONResponse:
        if exc.status_code >= 500 or exc.public_message is not None:
            log.log(logging.ERROR if exc.status_code >= 500 else logging.INFO, "%s on %s %s: %s",
                    type(exc).__name__, request.method, request.url.path, "; ".join(exc.messages))
        headers = {"WWW-Authenticate": 'Basic realm="Vidlake"'} if exc.status_code == 401 else None
        messages = [exc.public_message] if exc.public_message is not None else exc.messages
        return error_response(exc.status_code, exc.error_type, messages, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "invalid_parameters", _validation_messages(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such route"
        if exc.status_code == 405:
            detail = "method not allowed on this route"
        return error_response(exc.status_code, _HTTP_TYPES.get(exc.status_code, "error"), [detail],
                              dict(exc.headers) if exc.headers else None)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", ["internal error; see the server log"])
