"""Serving stored objects to viewers: cache and CORS headers, single byte ranges, local or remote storage."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.responses import FileResponse, Response, StreamingResponse

from vidlake.core.errors import NotFound, ObjectNotFound
from vidlake.deliver.resolve import PlaybackTarget
from vidlake.runtime import Services
from vidlake.storage import keys

#: Cache-Control of what never changes once written (segments, static renditions).
IMMUTABLE = "public, max-age=31536000, immutable"
#: Bytes read from remote storage per chunk of a streamed response.
CHUNK_BYTES = 256 * 1024


def image_key(target: PlaybackTarget, name: str) -> str:
    """The storage key of an image file (thumbnail, storyboard, captions) of the target's asset."""
    assert target.asset_id is not None
    return keys.asset_image(target.environment_id, target.asset_id, name)


def headers_for(target: PlaybackTarget, cache: str) -> dict[str, str]:
    """Response headers: ``cache`` (made ``private`` for signed ids) and open CORS for players."""
    if target.policy == "signed":
        cache = cache.replace("public", "private")
    return {"Cache-Control": cache, "Access-Control-Allow-Origin": "*",
            "Access-Control-Expose-Headers": "Content-Length, Content-Range"}


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive for a single ``bytes=`` range, or None if it cannot be satisfied."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if not first:
            length = int(last)
            start, end = max(0, size - length), size - 1
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
    except ValueError:
        return None
    return (start, end) if 0 <= start <= end < size else None


def serve_key(services: Services, key: str, media_type: str, headers: dict[str, str],
              range_header: str | None = None) -> Response:
    """Serve a stored object; local files (with ranges) by FileResponse, remote ones streamed, with a
    single byte range when asked (206, or 416 if it cannot be satisfied). Raises ``NotFound``."""
    path = services.storage.local_path(key)
    if path is not None:
        return FileResponse(path, media_type=media_type, headers=headers)
    try:
        size = services.storage.size(key)
        status = 200
        if range_header:
            span = byte_range(range_header, size)
            if span is None:
                return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
            body = services.storage.open_range(key, span[0], span[1])
            headers = {**headers, "Content-Range": f"bytes {span[0]}-{span[1]}/{size}"}
            size, status = span[1] - span[0] + 1, 206
        else:
            body = services.storage.open(key)
    except ObjectNotFound as exc:
        raise NotFound("no such file") from exc

    def chunks() -> Iterator[bytes]:
        try:
            while chunk := body.read(CHUNK_BYTES):
                yield chunk
        finally:
            body.close()

    return StreamingResponse(chunks(), media_type=media_type, status_code=status,
                             headers={**headers, "Content-Length": str(size), "Accept-Ranges": "bytes"})
