"""Direct uploads: create, describe, cancel and expire them, and receive their bytes.

Life of an upload (``Upload.status``)::

    waiting ──(every byte received)──► asset_created
       ├──(API cancel or tus DELETE)──► cancelled
       └──(timeout passed while waiting)──► timed_out

Bytes go into ONE staging file per upload on local disk, ``{data_dir}/uploads/{id}.part``. The
database column ``Upload.offset`` is the truth: a byte counts only once the staging file has been
fsynced and the new offset committed (a conditional UPDATE on the old offset). Before every write the
file is truncated back to the committed offset, so bytes from a dropped connection or a crash are never
trusted twice. When ``offset == length`` the file is stored as ``{upload_prefix}/source``, the asset
is created with the upload's ``new_asset_settings`` and the staging file is deleted.

A request body that stops early (dropped connection) is handled per protocol (see ``Chunk``):
``keep_partial`` (tus) keeps and commits the bytes received so far; otherwise (``Content-Range`` chunks
and single PUTs) the partial chunk is discarded and the offset stays where it was.

Writes to one upload are serialised by an in-process ``asyncio.Lock`` (one API process); the
conditional offset UPDATE additionally refuses a write that raced with another process or a cancel.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import anyio.to_thread
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import (
    Conflict,
    InvalidParameters,
    NotFound,
    PayloadTooLarge,
    StorageError,
    StorageFull,
    VidlakeError,
)
from vidlake.core.ids import new_id
from vidlake.db.models import Upload
from vidlake.db.session import Database
from vidlake.events import emit
from vidlake.services import Services
from vidlake.storage import keys
from vidlake.vod.assets import create_asset

log = logging.getLogger(__name__)

#: Largest upload accepted, in bytes (50 GiB). A module constant, not a setting (see docs/uploads.md).
MAX_UPLOAD_BYTES = 50 * 1024**3
#: Seconds an upload URL stays valid by default, and the accepted range (as Mux).
DEFAULT_TIMEOUT_S = 3600
MIN_TIMEOUT_S = 60
MAX_TIMEOUT_S = 604_800
#: Bytes buffered in memory before they are written to the staging file.
WRITE_BUFFER_BYTES = 1024 * 1024
#: Longest ``Upload-Metadata`` header kept (characters).
MAX_METADATA_CHARS = 4096
#: tus ``Upload-Checksum`` algorithms.
CHECKSUM_ALGORITHMS: dict[str, Callable[[], Any]] = {
    "sha1": hashlib.sha1,
    "md5": hashlib.md5,
    "sha256": hashlib.sha256,
}
#: Statuses after which an upload accepts no more bytes.
GONE_STATUSES = ("cancelled", "timed_out", "errored")


class UploadGone(VidlakeError):
    """The upload was cancelled, timed out or errored: it accepts nothing any more."""

    status_code = 410
    error_type = "gone"


class UploadComplete(Conflict):
    """Every byte of the upload was received and its asset created; further writes are refused."""


class OffsetMismatch(Conflict):
    """The write does not start at the upload's committed offset."""

    def __init__(self, expected: int, message: str) -> None:
        super().__init__(message)
        self.expected = expected


class ChecksumMismatch(VidlakeError):
    """The chunk's ``Upload-Checksum`` does not match its bytes (tus status 460); the chunk is discarded."""

    status_code = 460
    error_type = "checksum_mismatch"


class RangeNotSatisfiable(VidlakeError):
    """The chunk lies outside the upload's declared total length."""

    status_code = 416
    error_type = "range_not_satisfiable"


class UploadInterrupted(InvalidParameters):
    """The request body ended before it was complete (the client went away)."""


@dataclass(frozen=True)
class UploadState:
    """A detached snapshot of an upload row (safe to pass between threads)."""

    id: str
    environment_id: str
    status: str
    offset: int
    length: int | None
    expires_at: float
    cors_origin: str | None
    tus_metadata: str | None
    asset_id: str | None

    @classmethod
    def of(cls, upload: Upload) -> UploadState:
        """Snapshot of ``upload``."""
        return cls(id=upload.id, environment_id=upload.environment_id, status=upload.status,
                   offset=int(upload.offset or 0), length=upload.length, expires_at=upload.expires_at,
                   cors_origin=upload.cors_origin, tus_metadata=upload.tus_metadata, asset_id=upload.asset_id)

    @property
    def full(self) -> bool:
        """All declared bytes are committed (the asset may not be created yet)."""
        return self.length is not None and self.offset == self.length


@dataclass(frozen=True)
class Chunk:
    """How to receive one request body.

    ``start`` is the byte offset the body begins at; it must equal the committed offset unless
    ``restart`` (a whole-file PUT, which begins again at 0). ``size`` is the exact byte count the body
    must carry (``Content-Range``), ``total`` the upload's total length declared with it, ``final``
    says the body ends the upload whatever its size (a plain PUT). ``keep_partial`` keeps the bytes of a
    body that stops early (tus), otherwise they are discarded. ``checksum`` is (algorithm, digest) to
    verify the body against (tus ``Upload-Checksum``). ``content_length`` (bytes, from the request
    header) lets a body that cannot fit be refused before it is read; ``need_length`` refuses the write
    while the upload's total length is unknown (tus PATCH before creation).
    """

    start: int
    size: int | None = None
    total: int | None = None
    final: bool = False
    keep_partial: bool = False
    checksum: tuple[str, bytes] | None = None
    restart: bool = False
    content_length: int | None = None
    need_length: bool = False


# --- paths and public shape ---------------------------------------------------------------------


def staging_path(data_dir: Path, upload_id: str) -> Path:
    """The staging file of an upload: ``{data_dir}/uploads/{id}.part``."""
    return Path(data_dir) / "uploads" / f"{upload_id}.part"


def source_key(environment_id: str, upload_id: str) -> str:
    """The storage key the finished upload is stored under."""
    return keys.upload_prefix(environment_id, upload_id) + "/source"


def upload_url(public_url: str, upload_id: str) -> str:
    """The data-plane URL the client sends bytes to."""
    return f"{public_url.rstrip('/')}/upload/{upload_id}"


def upload_public(upload: Upload, public_url: str) -> dict[str, Any]:
    """The upload as the API shows it (Mux's ``Upload`` object; absent fields left out)."""
    out: dict[str, Any] = {
        "id": upload.id,
        "timeout": int(upload.timeout_s),
        "status": upload.status,
        "new_asset_settings": dict(upload.new_asset_settings or {}),
        "url": upload_url(public_url, upload.id),
        "test": bool(upload.test),
    }
    if upload.cors_origin is not None:
        out["cors_origin"] = upload.cors_origin
    if upload.asset_id is not None:
        out["asset_id"] = upload.asset_id
    if upload.error is not None:
        out["error"] = upload.error
    return out


def asset_request(upload: Upload) -> dict[str, Any]:
    """The asset creation request made from an upload's ``new_asset_settings``."""
    request = dict(upload.new_asset_settings or {})
    policies: list[str] = []
    for policy in [*(request.pop("playback_policy", None) or []), *(request.pop("playback_policies", None) or [])]:
        if policy not in policies:
            policies.append(policy)
    request["playback_policy"] = policies
    if request.get("static_renditions"):
        request["static_renditions"] = [r["resolution"] if isinstance(r, dict) else r
                                        for r in request["static_renditions"]]
    if upload.test:
        request["test"] = True
    return request


# --- control plane (API, inside a caller's session) -----------------------------------------------


def create_upload(
    session: Session,
    environment_id: str,
    new_asset_settings: dict[str, Any],
    *,
    public_url: str,
    cors_origin: str | None = None,
    timeout_s: int = DEFAULT_TIMEOUT_S,
    test: bool = False,
) -> Upload:
    """A new waiting upload valid for ``timeout_s`` seconds, with ``video.upload.created``.

    ``new_asset_settings`` must already be validated (asset creation fields, without None values).
    """
    if not MIN_TIMEOUT_S <= timeout_s <= MAX_TIMEOUT_S:
        raise InvalidParameters(f"timeout: must be between {MIN_TIMEOUT_S} and {MAX_TIMEOUT_S} seconds")
    created = now()
    upload = Upload(id=new_id(), environment_id=environment_id, status="waiting",
                    new_asset_settings=new_asset_settings, cors_origin=cors_origin, timeout_s=float(timeout_s),
                    test=test, offset=0, length=None, created_at=created, expires_at=created + timeout_s)
    session.add(upload)
    session.flush()
    emit(session, environment_id, "video.upload.created", "upload", upload.id, upload_public(upload, public_url))
    return upload


def _expire_if_due(upload: Upload, data_dir: Path) -> bool:
    """waiting → timed_out once ``expires_at`` has passed (uploads already full are left to finish)."""
    full = upload.length is not None and upload.offset == upload.length
    if upload.status == "waiting" and not full and now() >= upload.expires_at:
        upload.status = "timed_out"
        staging_path(data_dir, upload.id).unlink(missing_ok=True)
        return True
    return False


def get_upload(session: Session, environment_id: str, upload_id: str, data_dir: Path) -> Upload:
    """The upload if it belongs to ``environment_id`` (expired lazily). Raises ``NotFound``."""
    upload = session.get(Upload, upload_id)
    if upload is None or upload.environment_id != environment_id:
        raise NotFound(f"upload {upload_id!r} not found")
    _expire_if_due(upload, data_dir)
    return upload


def list_uploads(session: Session, environment_id: str, data_dir: Path, *, limit: int, offset: int) -> list[Upload]:
    """A page of the environment's uploads, newest first (expired lazily)."""
    rows = list(session.scalars(select(Upload).where(Upload.environment_id == environment_id)
                                .order_by(Upload.created_at.desc(), Upload.id).offset(offset).limit(limit)))
    for upload in rows:
        _expire_if_due(upload, data_dir)
    return rows


def cancel_upload(session: Session, upload: Upload, *, data_dir: Path, public_url: str) -> Upload:
    """waiting → cancelled with ``video.upload.cancelled``; the staging file is deleted.

    Cancelling a cancelled upload changes nothing; a finished or timed-out one raises ``Conflict``.
    A chunk still being received when the cancel commits is refused at its own commit.
    """
    if upload.status == "cancelled":
        return upload
    if upload.status != "waiting":
        raise Conflict(f"upload {upload.id!r} is {upload.status}: only waiting uploads can be cancelled")
    result = session.execute(update(Upload).where(Upload.id == upload.id, Upload.status == "waiting")
                             .values(status="cancelled"))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(upload)
        raise Conflict(f"upload {upload.id!r} is {upload.status}: only waiting uploads can be cancelled")
    session.refresh(upload)
    staging_path(data_dir, upload.id).unlink(missing_ok=True)
    emit(session, upload.environment_id, "video.upload.cancelled", "upload", upload.id,
         upload_public(upload, public_url))
    return upload


def expire_uploads(db: Database, data_dir: Path) -> int:
    """Time out every waiting upload past its timeout, delete staging files of uploads that are no
    longer waiting (or no longer exist); returns how many uploads were timed out. Safe to run
    anywhere, at any time (every transition is a conditional update)."""
    expired = 0
    with db.session() as session:
        due = list(session.scalars(select(Upload.id).where(Upload.status == "waiting", Upload.expires_at <= now())))
    for upload_id in due:
        with db.session() as session:
            result = session.execute(
                update(Upload).where(Upload.id == upload_id, Upload.status == "waiting", Upload.expires_at <= now(),
                                     (Upload.length.is_(None)) | (Upload.offset != Upload.length))
                .values(status="timed_out"))
            if result.rowcount == 1:  # type: ignore[attr-defined]
                expired += 1
                staging_path(data_dir, upload_id).unlink(missing_ok=True)
    folder = Path(data_dir) / "uploads"
    if folder.is_dir():
        parts = {p.name[: -len(".part")]: p for p in folder.glob("*.part")}
        if parts:
            with db.session() as session:
                waiting = set(session.scalars(select(Upload.id).where(Upload.id.in_(list(parts)),
                                                                      Upload.status == "waiting")))
            for upload_id, path in parts.items():
                if upload_id not in waiting:
                    path.unlink(missing_ok=True)
    return expired


# --- data plane (no token: the upload id is the capability) --------------------------------------


def _valid_id(upload_id: str) -> bool:
    return 0 < len(upload_id) <= 64 and upload_id.isascii() and upload_id.isalnum()


def load_state(services: Services, upload_id: str) -> UploadState:
    """The upload's state for the data plane, after lazy expiry. Raises ``NotFound``."""
    if not _valid_id(upload_id):
        raise NotFound(f"upload {upload_id!r} not found")
    with services.db.session() as session:
        upload = session.get(Upload, upload_id)
        if upload is None:
            raise NotFound(f"upload {upload_id!r} not found")
        _expire_if_due(upload, services.settings.data_dir)
        return UploadState.of(upload)


def peek_state(services: Services, upload_id: str) -> UploadState | None:
    """The upload's state without side effects, or None (used to decorate error responses)."""
    if not _valid_id(upload_id):
        return None
    with services.db.session() as session:
        upload = session.get(Upload, upload_id)
        return UploadState.of(upload) if upload is not None else None


def require_writable(state: UploadState) -> None:
    """Raise ``UploadGone`` or ``UploadComplete`` unless the upload still accepts bytes."""
    if state.status in GONE_STATUSES:
        raise UploadGone(f"upload {state.id!r} is {state.status}")
    if state.status == "asset_created":
        raise UploadComplete(f"upload {state.id!r} is complete: asset {state.asset_id} was created from it")


def declare_length(services: Services, upload_id: str, length: int, metadata: str | None) -> UploadState:
    """tus creation: fix the total length (bytes) and keep the ``Upload-Metadata`` header.

    Re-declaring the same length is allowed (a retried creation); changing it once bytes have been
    received is a ``Conflict``.
    """
    if length <= 0:
        raise InvalidParameters("Upload-Length: must be at least 1 byte")
    if length > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"Upload-Length: larger than the maximum upload size ({MAX_UPLOAD_BYTES} bytes)")
    state = load_state(services, upload_id)
    require_writable(state)
    if state.length is not None and state.length != length and state.offset > 0:
        raise Conflict(f"Upload-Length: the upload already has length {state.length} and {state.offset} bytes")
    if state.offset > length:
        raise Conflict(f"Upload-Length: {state.offset} bytes were already received")
    with services.db.session() as session:
        result = session.execute(update(Upload).where(Upload.id == upload_id, Upload.status == "waiting",
                                                      Upload.offset == state.offset)
                                 .values(length=length, tus_metadata=metadata))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("the upload changed while its length was being declared; retry")
    return load_state(services, upload_id)


def terminate(services: Services, upload_id: str) -> UploadState:
    """tus termination (``DELETE``): cancel the upload. Terminating a cancelled upload is a no-op."""
    state = load_state(services, upload_id)
    if state.status == "cancelled":
        return state
    require_writable(state)
    with services.db.session() as session:
        upload = session.get(Upload, upload_id)
        assert upload is not None
        cancel_upload(session, upload, data_dir=services.settings.data_dir, public_url=services.settings.public_url)
    return load_state(services, upload_id)


class _Locks:
    """One ``asyncio.Lock`` per upload id, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


_LOCKS = _Locks()


def upload_lock(upload_id: str) -> contextlib.AbstractAsyncContextManager[None]:
    """The lock that serialises writes to one upload in this process."""
    return _LOCKS.hold(upload_id)


class _StagingLost(Exception):
    """The staging file holds fewer bytes than the committed offset."""


def _open_at(path: Path, start: int) -> BinaryIO:
    """Open (create) the staging file, truncated to ``start`` bytes, positioned at ``start``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        handle = os.fdopen(fd, "r+b")
        if os.fstat(fd).st_size < start:
            handle.close()
            raise _StagingLost(str(path))
        handle.truncate(start)
        handle.seek(start)
    except OSError as exc:
        raise _disk_error(exc, path.stem) from exc
    return handle


def _disk_error(exc: OSError, upload_id: str) -> StorageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull(f"no space left on the staging disk for upload {upload_id!r}")
    return StorageError(f"writing the staging file of upload {upload_id!r} failed: {exc.strerror or exc}")


def _write(handle: BinaryIO, data: bytes, upload_id: str) -> None:
    try:
        handle.write(data)
    except OSError as exc:
        raise _disk_error(exc, upload_id) from exc


def _sync(handle: BinaryIO, upload_id: str) -> None:
    try:
        handle.flush()
        os.fsync(handle.fileno())
    except OSError as exc:
        raise _disk_error(exc, upload_id) from exc


def _discard(handle: BinaryIO, start: int) -> None:
    handle.truncate(start)
    handle.flush()


def _commit(services: Services, upload_id: str, old_offset: int, new_offset: int, length: int | None) -> bool:
    """Move the committed offset from ``old_offset`` to ``new_offset`` if nothing else moved it."""
    values: dict[str, Any] = {"offset": new_offset}
    if length is not None:
        values["length"] = length
    with services.db.session() as session:
        result = session.execute(update(Upload).where(Upload.id == upload_id, Upload.status == "waiting",
                                                      Upload.offset == old_offset).values(**values))
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _reset(services: Services, upload_id: str, old_offset: int) -> None:
    """The staging file lost bytes: start the upload over from byte 0."""
    log.warning("upload %s: staging file shorter than the committed offset %d; restarting at 0",
                upload_id, old_offset)
    with services.db.session() as session:
        session.execute(update(Upload).where(Upload.id == upload_id, Upload.status == "waiting",
                                             Upload.offset == old_offset).values(offset=0))


def _limit(state: UploadState, chunk: Chunk, start: int) -> tuple[int, int | None]:
    """(largest body accepted in bytes, total length in force) for ``chunk``; raises on bad ranges."""
    total = chunk.total
    if total is not None:
        if total > MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"total length {total} is larger than the maximum upload size "
                                  f"({MAX_UPLOAD_BYTES} bytes)")
        if state.length is not None and total != state.length and not chunk.restart:
            raise Conflict(f"total length {total} differs from the length declared before ({state.length})")
        if chunk.size is not None and start + chunk.size > total:
            raise RangeNotSatisfiable(f"the chunk ends at byte {start + chunk.size - 1}, past the total "
                                      f"length {total}")
    elif not chunk.restart:
        total = state.length
    limit = MAX_UPLOAD_BYTES - start
    if total is not None:
        limit = min(limit, total - start)
    if chunk.size is not None:
        limit = min(limit, chunk.size)
    return limit, total


async def append(services: Services, upload_id: str, body: AsyncIterator[bytes], chunk: Chunk) -> UploadState:
    """Receive ``body`` into the upload's staging file as described by ``chunk``; commit the new offset
    and, when every byte is in, create the asset. Returns the state after the write.

    Raises ``NotFound``, ``UploadGone``, ``UploadComplete``, ``OffsetMismatch`` (409),
    ``RangeNotSatisfiable`` (416), ``PayloadTooLarge`` (413), ``InvalidParameters`` (body size differs
    from ``chunk.size``), ``ChecksumMismatch`` (460) or ``UploadInterrupted`` (the body stopped early).
    """
    async with upload_lock(upload_id):
        state = await anyio.to_thread.run_sync(load_state, services, upload_id)
        if state.status == "waiting" and state.full:
            state = await anyio.to_thread.run_sync(finalize, services, upload_id)
        require_writable(state)
        start = 0 if chunk.restart else state.offset
        if chunk.start != start:
            raise OffsetMismatch(state.offset, f"the write starts at byte {chunk.start} but the upload has "
                                               f"{state.offset} bytes: resume at byte {state.offset}")
        limit, total = _limit(state, chunk, start)
        if chunk.need_length and total is None:
            raise InvalidParameters("Upload-Length: unknown; declare it first with POST {upload url}/tus")
        if chunk.content_length is not None and chunk.content_length > limit:
            if chunk.size is not None and limit == chunk.size:
                raise InvalidParameters(f"Content-Length {chunk.content_length} differs from the {chunk.size} "
                                        "bytes of Content-Range")
            raise PayloadTooLarge(f"the body ({chunk.content_length} bytes) goes past the upload's total length "
                                  f"({start + limit} bytes)")
        path = staging_path(services.settings.data_dir, upload_id)
        try:
            handle = await anyio.to_thread.run_sync(_open_at, path, start)
        except _StagingLost:
            await anyio.to_thread.run_sync(_reset, services, upload_id, state.offset)
            raise OffsetMismatch(0, "the upload's received bytes were lost on the server: resume at byte 0") \
                from None
        try:
            received = await _receive(handle, body, chunk, start, limit, services, upload_id, state.offset)
        finally:
            await anyio.to_thread.run_sync(handle.close)
        new_offset = start + received
        length = new_offset if chunk.final else total
        if not await anyio.to_thread.run_sync(_commit, services, upload_id, state.offset, new_offset, length):
            return await anyio.to_thread.run_sync(_commit_refused, services, upload_id)
        state = await anyio.to_thread.run_sync(load_state, services, upload_id)
        if state.full:
            state = await anyio.to_thread.run_sync(finalize, services, upload_id)
        return state


async def _receive(handle: BinaryIO, body: AsyncIterator[bytes], chunk: Chunk, start: int, limit: int,
                   services: Services, upload_id: str, old_offset: int) -> int:
    """Stream ``body`` into ``handle``; returns the byte count, fsynced. Cleans up and raises on errors.

    An exception from ``body`` itself is an interruption (the client went away); a failing disk write
    is a storage error (``StorageFull`` / ``StorageError``) and the chunk is discarded.
    """
    hasher = CHECKSUM_ALGORITHMS[chunk.checksum[0]]() if chunk.checksum else None
    buffer = bytearray()
    received = 0
    interrupted: Exception | None = None
    failure: VidlakeError | None = None
    pieces = body.__aiter__()
    try:
        while True:
            try:
                piece = await pieces.__anext__()
            except StopAsyncIteration:
                break
            except Exception as exc:
                interrupted = exc
                break
            received += len(piece)
            if received > limit:
                if chunk.size is not None and limit == chunk.size:
                    failure = InvalidParameters(f"the body is longer than the {chunk.size} bytes its Content-Range "
                                                "declares")
                else:
                    failure = PayloadTooLarge(f"the body goes past the upload's total length ({start + limit} bytes)")
                break
            if hasher is not None:
                hasher.update(piece)
            buffer += piece
            if len(buffer) >= WRITE_BUFFER_BYTES:
                data = bytes(buffer)
                buffer.clear()
                await anyio.to_thread.run_sync(_write, handle, data, upload_id)
        if interrupted is not None:
            if chunk.keep_partial and chunk.checksum is None and received > 0:
                await anyio.to_thread.run_sync(_write, handle, bytes(buffer), upload_id)
                await anyio.to_thread.run_sync(_sync, handle, upload_id)
                await anyio.to_thread.run_sync(_commit, services, upload_id, old_offset, start + received, None)
                raise UploadInterrupted(f"the request body stopped after {received} bytes; they were kept") \
                    from interrupted
            failure = UploadInterrupted(f"the request body stopped after {received} bytes; the chunk was discarded")
        elif failure is None and chunk.size is not None and received != chunk.size:
            failure = InvalidParameters(f"the body has {received} bytes but its Content-Range declares {chunk.size}")
        elif failure is None and chunk.final and start + received == 0:
            failure = InvalidParameters("the body is empty: an upload needs at least one byte")
        elif failure is None and hasher is not None and chunk.checksum is not None \
                and hasher.digest() != chunk.checksum[1]:
            failure = ChecksumMismatch(f"Upload-Checksum: the {chunk.checksum[0]} digest of the {received} bytes "
                                       "received does not match; the chunk was discarded")
        if failure is not None:
            raise failure
        if buffer:
            await anyio.to_thread.run_sync(_write, handle, bytes(buffer), upload_id)
        await anyio.to_thread.run_sync(_sync, handle, upload_id)
        return received
    except StorageError:
        with contextlib.suppress(OSError):
            await anyio.to_thread.run_sync(_discard, handle, start)
        raise
    except VidlakeError as exc:
        if not isinstance(exc, UploadInterrupted) or not chunk.keep_partial or chunk.checksum is not None:
            with contextlib.suppress(OSError):
                await anyio.to_thread.run_sync(_discard, handle, start)
        raise


def _commit_refused(services: Services, upload_id: str) -> UploadState:
    """The conditional offset update found the upload changed under us: explain why."""
    state = load_state(services, upload_id)
    if state.status != "waiting":
        staging_path(services.settings.data_dir, upload_id).unlink(missing_ok=True)
    require_writable(state)
    raise OffsetMismatch(state.offset, f"another request wrote to this upload; resume at byte {state.offset}")


def finalize(services: Services, upload_id: str) -> UploadState:
    """A full upload becomes an asset: store the staging file as ``{upload_prefix}/source``, create the
    asset (``create_asset`` queues its processing), set ``asset_created`` and emit
    ``video.upload.asset_created``. Idempotent, and safe to call again after a crash part-way."""
    settings = services.settings
    state = load_state(services, upload_id)
    if state.status != "waiting" or not state.full or state.length is None:
        return state
    path = staging_path(settings.data_dir, upload_id)
    size = path.stat().st_size if path.exists() else -1
    if size < state.length:
        _reset(services, upload_id, state.offset)
        raise OffsetMismatch(0, "the upload's received bytes were lost on the server: resume at byte 0")
    if size > state.length:
        os.truncate(path, state.length)
    key = source_key(state.environment_id, upload_id)
    services.storage.put_file(key, path)
    with services.db.session() as session:
        result = session.execute(update(Upload).where(Upload.id == upload_id, Upload.status == "waiting",
                                                      Upload.offset == state.length).values(status="asset_created"))
        if result.rowcount == 1:  # type: ignore[attr-defined]
            upload = session.get(Upload, upload_id)
            assert upload is not None
            session.refresh(upload)
            asset = create_asset(session, upload.environment_id, asset_request(upload), upload_id=upload_id,
                                 source_key=key, source_size=state.length)
            upload.asset_id = asset.id
            emit(session, upload.environment_id, "video.upload.asset_created", "upload", upload_id,
                 upload_public(upload, settings.public_url))
            created = True
        else:
            created = False
    if not created:
        state = load_state(services, upload_id)
        if state.status != "asset_created":
            services.storage.delete(key)
    path.unlink(missing_ok=True)
    return load_state(services, upload_id)


def recover_finished_uploads(services: Services, min_age_s: float = 5.0) -> int:
    """Finish uploads whose every byte arrived but whose asset was never made (the server stopped in
    between). Only uploads whose staging file is on this machine are touched, so this is safe to run on
    every API host. Returns how many became assets."""
    with services.db.session() as session:
        ids = list(session.scalars(select(Upload.id).where(
            Upload.status == "waiting", Upload.length.is_not(None), Upload.offset == Upload.length,
            Upload.created_at < now() - min_age_s)))
    done = 0
    for upload_id in ids:
        if not staging_path(services.settings.data_dir, upload_id).exists():
            continue
        try:
            if finalize(services, upload_id).status == "asset_created":
                done += 1
        except VidlakeError as exc:
            log.warning("could not finish upload %s: %s", upload_id, exc)
    return done
