"""The upload URL ``/upload/{upload_id}``: where clients send the bytes of a direct upload.

No access token: like Mux's signed storage URL, the random upload id is the capability. Three ways in
(details, headers and status codes in docs/uploads.md):

* one ``PUT`` with the whole file;
* chunked ``PUT`` with ``Content-Range: bytes START-END/TOTAL`` (UpChunk; ``TOTAL`` may be ``*`` until
  the last chunk), answered ``308`` with ``Range`` until the last chunk, then ``200``;
* tus 1.0.0: ``OPTIONS``, creation ``POST /upload/{id}/tus``, ``HEAD``, ``PATCH``, ``DELETE`` with the
  creation, termination, checksum and expiration extensions.

Every response carries ``Tus-Resumable: 1.0.0`` and, when the request's ``Origin`` matches the upload's
``cors_origin``, the CORS headers.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from vidlake.api.deps import get_services
from vidlake.api.errors import error_response
from vidlake.core.errors import InvalidParameters, PayloadTooLarge, VidlakeError
from vidlake.runtime import Services
from vidlake.vod import uploads
from vidlake.vod.upload_receiver import (
    CHECKSUM_ALGORITHMS,
    MAX_UPLOAD_BYTES,
    Chunk,
    OffsetMismatch,
    RangeNotSatisfiable,
)
from vidlake.vod.uploads import MAX_METADATA_CHARS, UploadGone, UploadState

log = logging.getLogger(__name__)

router = APIRouter(tags=["upload data"])

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,checksum,expiration"
TUS_CONTENT_TYPE = "application/offset+octet-stream"
_ALLOW_METHODS = "PUT, POST, PATCH, HEAD, DELETE, OPTIONS"
_ALLOW_HEADERS = ("Content-Type, Content-Range, Upload-Offset, Upload-Length, Upload-Metadata, Upload-Checksum, "
                  "Upload-Defer-Length, Tus-Resumable, X-HTTP-Method-Override, X-Requested-With")
_EXPOSE_HEADERS = ("Location, Range, Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires, Tus-Resumable, "
                   "Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm")
_CONTENT_RANGE = re.compile(r"^bytes\s+(?:(\d{1,20})-(\d{1,20})|\*)/(\d{1,20}|\*)$")


class PreconditionFailed(VidlakeError):
    """The client speaks a tus version this server does not."""

    status_code = 412
    error_type = "precondition_failed"


class UnsupportedMediaType(VidlakeError):
    """A tus PATCH must have ``Content-Type: application/offset+octet-stream``."""

    status_code = 415
    error_type = "unsupported_media_type"


class MethodNotAllowed(VidlakeError):
    """This method is not used on the upload URL."""

    status_code = 405
    error_type = "method_not_allowed"


# --- header parsing (pure) -------------------------------------------------------------------------


@dataclass(frozen=True)
class ContentRange:
    """A parsed ``Content-Range``: ``start``/``end`` (inclusive byte offsets) are None for a status
    query (``bytes */TOTAL``); ``total`` is None when given as ``*``."""

    start: int | None
    end: int | None
    total: int | None


def parse_content_range(value: str) -> ContentRange:
    """Parse ``bytes START-END/TOTAL``, ``bytes START-END/*`` or ``bytes */TOTAL``."""
    match = _CONTENT_RANGE.match(value.strip())
    if not match:
        raise InvalidParameters(f"Content-Range: {value!r} is not 'bytes START-END/TOTAL' (TOTAL may be '*')")
    first, last, total_text = match.groups()
    total = None if total_text == "*" else int(total_text)
    if first is None or last is None:
        return ContentRange(None, None, total)
    start, end = int(first), int(last)
    if end < start:
        raise InvalidParameters(f"Content-Range: the end {end} is before the start {start}")
    if total is not None and end >= total:
        raise RangeNotSatisfiable(f"Content-Range: byte {end} is past the declared total of {total} bytes")
    return ContentRange(start, end, total)


def parse_int_header(request: Request, name: str, *, required: bool) -> int | None:
    """A non-negative integer header, or None when absent and not ``required``."""
    value = request.headers.get(name)
    if value is None:
        if required:
            raise InvalidParameters(f"{name}: is required")
        return None
    value = value.strip()
    if not value.isdigit() or len(value) > 20:
        raise InvalidParameters(f"{name}: must be a non-negative integer")
    return int(value)


def parse_checksum(value: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum: ALGORITHM BASE64DIGEST`` → (algorithm, digest)."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise InvalidParameters(f"Upload-Checksum: unsupported algorithm {algorithm!r} "
                                f"(use {', '.join(CHECKSUM_ALGORITHMS)})")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidParameters("Upload-Checksum: the digest is not valid base64") from exc
    if len(digest) != CHECKSUM_ALGORITHMS[algorithm]().digest_size:
        raise InvalidParameters(f"Upload-Checksum: a {algorithm} digest has "
                                f"{CHECKSUM_ALGORITHMS[algorithm]().digest_size} bytes")
    return algorithm, digest


def parse_metadata(value: str | None) -> str | None:
    """Validate ``Upload-Metadata`` (comma-separated ``key base64value`` pairs); returns it unchanged."""
    if value is None or not value.strip():
        return None
    if len(value) > MAX_METADATA_CHARS:
        raise InvalidParameters(f"Upload-Metadata: longer than {MAX_METADATA_CHARS} characters")
    seen: set[str] = set()
    for pair in value.split(","):
        key, _, encoded = pair.strip().partition(" ")
        if not key or " " in encoded.strip() or key in seen:
            raise InvalidParameters("Upload-Metadata: must be comma-separated 'key base64value' pairs, "
                                    "keys unique and without spaces")
        seen.add(key)
        try:
            base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidParameters(f"Upload-Metadata: the value of {key!r} is not base64") from exc
    return value.strip()


def http_date(instant: float) -> str:
    """An RFC 7231 IMF-fixdate, e.g. ``Wed, 25 Jun 2014 16:00:00 GMT``."""
    return email.utils.formatdate(instant, usegmt=True)


# --- response headers ------------------------------------------------------------------------------


def _cors(request: Request, state: UploadState | None, *, preflight: bool = False) -> dict[str, str]:
    origin = request.headers.get("origin")
    if not origin or state is None or not state.cors_origin:
        return {}
    if state.cors_origin != "*" and origin.rstrip("/").lower() != state.cors_origin:
        return {}
    headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
               "Access-Control-Expose-Headers": _EXPOSE_HEADERS}
    if preflight:
        headers.update({"Access-Control-Allow-Methods": _ALLOW_METHODS, "Access-Control-Allow-Headers": _ALLOW_HEADERS,
                        "Access-Control-Max-Age": "86400"})
    return headers


def _headers(request: Request, state: UploadState | None, *, offsets: bool = False,
             ranges: bool = False) -> dict[str, str]:
    """Tus-Resumable and CORS; with ``offsets`` Upload-Offset/Length/Expires, with ``ranges`` Range."""
    headers = {"Tus-Resumable": TUS_VERSION, **_cors(request, state)}
    if state is None:
        return headers
    offset = state.length if state.status == "asset_created" and state.length is not None else state.offset
    if offsets:
        headers["Upload-Offset"] = str(offset)
        if state.length is not None:
            headers["Upload-Length"] = str(state.length)
        if state.status == "waiting":
            headers["Upload-Expires"] = http_date(state.expires_at)
    if ranges and offset > 0:
        headers["Range"] = f"bytes=0-{offset - 1}"
    return headers


def _done(request: Request, state: UploadState) -> JSONResponse:
    """200: the last byte is in and the asset exists."""
    body = {"data": {"id": state.id, "status": state.status, "asset_id": state.asset_id}}
    return JSONResponse(body, status_code=200, headers=_headers(request, state, offsets=True, ranges=True))


async def _guarded(request: Request, upload_id: str, action: Callable[[Services], Awaitable[Response]], *,
                   ranges: bool = False) -> Response:
    """Run ``action``; turn errors into JSON errors carrying the tus/CORS/Range headers.

    A ``Tus-Resumable`` version other than 1.0.0 is refused with 412 (except on OPTIONS, as tus says).
    """
    services = get_services(request)
    try:
        version = request.headers.get("tus-resumable")
        if version is not None and version.strip() != TUS_VERSION and request.method != "OPTIONS":
            raise PreconditionFailed(f"Tus-Resumable: version {version!r} is not supported (use {TUS_VERSION})")
        return await action(services)
    except VidlakeError as exc:
        state = await anyio.to_thread.run_sync(uploads.peek_state, services, upload_id)
        headers = _headers(request, state, offsets=state is not None and state.status == "waiting",
                           ranges=ranges and state is not None and state.status == "waiting")
        if isinstance(exc, OffsetMismatch):
            headers["Upload-Offset"] = str(exc.expected)
            headers.pop("Range", None)
            if ranges and exc.expected > 0:
                headers["Range"] = f"bytes=0-{exc.expected - 1}"
        if isinstance(exc, PreconditionFailed):
            headers["Tus-Version"] = TUS_VERSION
        if exc.status_code >= 500:
            log.error("upload %s: %s", upload_id, "; ".join(exc.messages))
        return error_response(exc.status_code, exc.error_type, exc.messages, headers)


async def _load(services: Services, upload_id: str) -> UploadState:
    return await anyio.to_thread.run_sync(uploads.load_state, services, upload_id)


# --- routes ----------------------------------------------------------------------------------------


@router.options("/upload/{upload_id}")
@router.options("/upload/{upload_id}/tus")
async def upload_options(upload_id: str, request: Request) -> Response:
    """tus discovery and CORS preflight."""

    async def action(services: Services) -> Response:
        state = await _load(services, upload_id)
        headers = {"Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION, "Tus-Extension": TUS_EXTENSIONS,
                   "Tus-Max-Size": str(MAX_UPLOAD_BYTES), "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
                   **_cors(request, state, preflight=True)}
        return Response(status_code=204, headers=headers)

    return await _guarded(request, upload_id, action)


@router.put("/upload/{upload_id}")
async def upload_put(upload_id: str, request: Request) -> Response:
    """The whole file in one body, or one ``Content-Range`` chunk (308 until the last, then 200)."""

    async def action(services: Services) -> Response:
        content_length = parse_int_header(request, "content-length", required=False)
        header = request.headers.get("content-range")
        if header is None:
            if content_length is not None and content_length > MAX_UPLOAD_BYTES:
                raise PayloadTooLarge(f"the body is larger than the maximum upload size ({MAX_UPLOAD_BYTES} bytes)")
            chunk = Chunk(start=0, final=True, restart=True, content_length=content_length)
            state = await uploads.append(services, upload_id, request.stream(), chunk)
            return _done(request, state)
        rng = parse_content_range(header)
        if rng.start is None or rng.end is None:
            if content_length:
                raise InvalidParameters("Content-Range: a status query ('bytes */TOTAL') must have an empty body")
            state = await uploads.settle(services, upload_id)
            if state.status == "asset_created":
                return _done(request, state)
            uploads.require_writable(state)
            return Response(status_code=308, headers=_headers(request, state, offsets=True, ranges=True))
        size = rng.end - rng.start + 1
        if content_length is not None and content_length != size:
            raise InvalidParameters(f"Content-Length {content_length} differs from the {size} bytes of Content-Range")
        chunk = Chunk(start=rng.start, size=size, total=rng.total, content_length=content_length)
        state = await uploads.append(services, upload_id, request.stream(), chunk)
        if state.status == "asset_created":
            return _done(request, state)
        return Response(status_code=308, headers=_headers(request, state, offsets=True, ranges=True))

    return await _guarded(request, upload_id, action, ranges=True)


@router.post("/upload/{upload_id}/tus", status_code=201)
async def tus_create(upload_id: str, request: Request) -> Response:
    """tus creation: declare ``Upload-Length`` (and ``Upload-Metadata``); 201 with ``Location``."""

    async def action(services: Services) -> Response:
        if request.headers.get("upload-defer-length") is not None:
            raise InvalidParameters("Upload-Defer-Length: not supported; send Upload-Length")
        length = parse_int_header(request, "upload-length", required=True)
        assert length is not None
        metadata = parse_metadata(request.headers.get("upload-metadata"))
        if parse_int_header(request, "content-length", required=False):
            raise InvalidParameters("creation-with-upload is not supported: POST with an empty body, then PATCH")
        state = await anyio.to_thread.run_sync(uploads.declare_length, services, upload_id, length, metadata)
        headers = _headers(request, state, offsets=True)
        headers["Location"] = f"/upload/{upload_id}"
        return Response(status_code=201, headers=headers)

    return await _guarded(request, upload_id, action)


@router.head("/upload/{upload_id}")
async def tus_head(upload_id: str, request: Request) -> Response:
    """tus: the committed ``Upload-Offset`` (and ``Upload-Length``, ``Upload-Metadata``)."""
    return await _guarded(request, upload_id, lambda services: _head(upload_id, request, services))


async def _head(upload_id: str, request: Request, services: Services) -> Response:
    state = await uploads.settle(services, upload_id)
    if state.status in uploads.GONE_STATUSES:
        raise UploadGone(f"upload {upload_id!r} is {state.status}")
    headers = _headers(request, state, offsets=True)
    headers["Cache-Control"] = "no-store"
    if state.tus_metadata:
        headers["Upload-Metadata"] = state.tus_metadata
    return Response(status_code=200, headers=headers)


@router.patch("/upload/{upload_id}")
async def tus_patch(upload_id: str, request: Request) -> Response:
    """tus: append the body at ``Upload-Offset``; 204 with the new ``Upload-Offset``."""
    return await _guarded(request, upload_id, lambda services: _patch(upload_id, request, services))


async def _patch(upload_id: str, request: Request, services: Services) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != TUS_CONTENT_TYPE:
        raise UnsupportedMediaType(f"Content-Type: a PATCH must be {TUS_CONTENT_TYPE}")
    offset = parse_int_header(request, "upload-offset", required=True)
    assert offset is not None
    total = parse_int_header(request, "upload-length", required=False)
    chunk = Chunk(start=offset, total=total, keep_partial=True, need_length=True,
                  checksum=parse_checksum(request.headers.get("upload-checksum")),
                  content_length=parse_int_header(request, "content-length", required=False))
    state = await uploads.append(services, upload_id, request.stream(), chunk)
    return Response(status_code=204, headers=_headers(request, state, offsets=True))


@router.delete("/upload/{upload_id}")
async def tus_delete(upload_id: str, request: Request) -> Response:
    """tus termination: cancel the upload (204)."""
    return await _guarded(request, upload_id, lambda services: _delete(upload_id, request, services))


async def _delete(upload_id: str, request: Request, services: Services) -> Response:
    state = await anyio.to_thread.run_sync(uploads.terminate, services, upload_id)
    return Response(status_code=204, headers=_headers(request, state))


@router.post("/upload/{upload_id}")
async def method_override(upload_id: str, request: Request) -> Response:
    """``POST`` with ``X-HTTP-Method-Override: PATCH | DELETE | HEAD`` (clients behind strict proxies)."""
    override = request.headers.get("x-http-method-override", "").strip().upper()
    handlers: dict[str, Callable[[str, Request, Services], Awaitable[Response]]] = {
        "PATCH": _patch, "DELETE": _delete, "HEAD": _head,
    }
    handler = handlers.get(override)

    async def action(services: Services) -> Response:
        if handler is None:
            raise MethodNotAllowed("POST the upload URL only with X-HTTP-Method-Override: PATCH, DELETE or HEAD; "
                                   "create tus uploads with POST {url}/tus")
        return await handler(upload_id, request, services)

    return await _guarded(request, upload_id, action)
