"""The byte receiver of direct uploads: per-upload locks, the staging file, size limits, and the
conditional commit of the received offset. The upload's lifecycle (create, cancel, expire, finish
into an asset) is ``vod.uploads``, which calls :func:`receive` under :func:`upload_lock`.

Bytes go into ONE staging file per upload on local disk, ``{data_dir}/uploads/{id}.part``. The
database column ``Upload.offset`` is the truth: a byte counts only once the staging file has been
fsynced and the new offset committed (a conditional UPDATE on the old offset). Before every write the
file is truncated back to the committed offset, so bytes from a dropped connection or a crash are never
trusted twice.

A request body that stops early (dropped connection) is handled per protocol (see ``Chunk``):
``keep_partial`` (tus) keeps and commits the bytes received so far; otherwise (``Content-Range`` chunks
and single PUTs) the partial chunk is discarded and the offset stays where it was.

Writes to one upload are serialised by an in-process ``asyncio.Lock`` (one API process); the
conditional offset UPDATE additionally refuses a write that raced with another process or a cancel. A
newer request for the same upload ends the body read of the one holding the lock (a half-open
connection would otherwise block the resume), and a body idle for :data:`BODY_IDLE_S` seconds ends
as a dropped connection does.
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
from sqlalchemy import update

from vidlake.core.errors import (
    Conflict,
    InvalidParameters,
    PayloadTooLarge,
    StorageError,
    StorageFull,
    VidlakeError,
)
from vidlake.db.models import Upload
from vidlake.runtime import Services

log = logging.getLogger(__name__)

#: Largest upload accepted, in bytes (50 GiB). A module constant, not a setting (see docs/uploads.md).
MAX_UPLOAD_BYTES = 50 * 1024**3
#: Bytes buffered in memory before they are written to the staging file.
WRITE_BUFFER_BYTES = 1024 * 1024
#: A request body that sends nothing for this long (seconds) counts as a dropped connection.
BODY_IDLE_S = 60.0
#: tus ``Upload-Checksum`` algorithms.
CHECKSUM_ALGORITHMS: dict[str, Callable[[], Any]] = {
    "sha1": hashlib.sha1,
    "md5": hashlib.md5,
    "sha256": hashlib.sha256,
}


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


class Superseded(TimeoutError):
    """A newer request for the same upload ended this one's body read."""


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


def staging_path(data_dir: Path, upload_id: str) -> Path:
    """The staging file of an upload: ``{data_dir}/uploads/{id}.part``."""
    return Path(data_dir) / "uploads" / f"{upload_id}.part"


@dataclass
class _Holder:
    """Who holds one upload's lock: the waiting count, and the body read in progress (its timeout) so a
    newer request can end it."""

    lock: asyncio.Lock
    users: int = 0
    reading: asyncio.Timeout | None = None
    superseded: bool = False


class _Locks:
    """One ``asyncio.Lock`` per upload id, dropped when nobody holds or waits for it.

    A request that finds the lock held *supersedes* the holder (tusd's lock breaking): a client sends a
    new request for an upload only once it gave up on the previous one, whose connection may be half
    open (the peer vanished: no FIN, no RST) and would otherwise hold the lock until TCP gives up. The
    holder's body read then ends at once, as a dropped connection does, and the newer request goes on
    from the committed offset."""

    def __init__(self) -> None:
        self._holders: dict[str, _Holder] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        holder = self._holders.setdefault(key, _Holder(asyncio.Lock()))
        holder.users += 1
        if holder.lock.locked():
            holder.superseded = True
            if holder.reading is not None:
                holder.reading.reschedule(asyncio.get_running_loop().time())
        try:
            async with holder.lock:
                holder.superseded, holder.reading = False, None
                yield
        finally:
            holder.users -= 1
            if holder.users <= 0:
                del self._holders[key]

    async def read(self, key: str, pieces: AsyncIterator[bytes], idle_s: float) -> bytes:
        """The next piece of a body read under the lock of ``key``; raises :class:`TimeoutError` when
        nothing came for ``idle_s`` seconds or a newer request superseded this one."""
        holder = self._holders.get(key)
        if holder is None:  # not under the lock (direct use in tests): only the idle limit
            async with asyncio.timeout(idle_s):
                return await pieces.__anext__()
        if holder.superseded:
            raise Superseded
        try:
            async with asyncio.timeout(idle_s) as holder.reading:
                return await pieces.__anext__()
        except TimeoutError:
            if holder.superseded:
                raise Superseded from None
            raise
        finally:
            holder.reading = None


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


def commit_offset(services: Services, upload_id: str, old_offset: int, new_offset: int, length: int | None) -> bool:
    """Move the committed offset from ``old_offset`` to ``new_offset`` if nothing else moved it."""
    values: dict[str, Any] = {"offset": new_offset}
    if length is not None:
        values["length"] = length
    with services.db.session() as session:
        result = session.execute(update(Upload).where(Upload.id == upload_id, Upload.status == "waiting",
                                                      Upload.offset == old_offset).values(**values))
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def reset_offset(services: Services, upload_id: str, old_offset: int) -> None:
    """The staging file lost bytes: start the upload over from byte 0."""
    log.warning("upload %s: staging file shorter than the committed offset %d; restarting at 0",
                upload_id, old_offset)
    with services.db.session() as session:
        session.execute(update(Upload).where(Upload.id == upload_id, Upload.status == "waiting",
                                             Upload.offset == old_offset).values(offset=0))


def _limit(length: int | None, chunk: Chunk, start: int) -> tuple[int, int | None]:
    """(largest body accepted in bytes, total length in force) for ``chunk`` on an upload of declared
    ``length`` (bytes, None while unknown); raises on bad ranges."""
    total = chunk.total
    if total is not None:
        if total > MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"total length {total} is larger than the maximum upload size "
                                  f"({MAX_UPLOAD_BYTES} bytes)")
        if length is not None and total != length and not chunk.restart:
            raise Conflict(f"total length {total} differs from the length declared before ({length})")
        if chunk.size is not None and start + chunk.size > total:
            raise RangeNotSatisfiable(f"the chunk ends at byte {start + chunk.size - 1}, past the total "
                                      f"length {total}")
    elif not chunk.restart:
        total = length
    limit = MAX_UPLOAD_BYTES - start
    if total is not None:
        limit = min(limit, total - start)
    if chunk.size is not None:
        limit = min(limit, chunk.size)
    return limit, total


async def receive(services: Services, upload_id: str, offset: int, length: int | None,
                  body: AsyncIterator[bytes], chunk: Chunk) -> bool:
    """Receive ``body`` into the staging file of an upload whose committed ``offset`` and declared
    ``length`` (bytes, None while unknown) the caller read under :func:`upload_lock`, as ``chunk``
    describes; then commit the new offset (and length). False if the conditional commit found the
    upload changed meanwhile (another writer, a cancel): the bytes then do not count.

    Raises ``OffsetMismatch`` (409), ``RangeNotSatisfiable`` (416), ``PayloadTooLarge`` (413),
    ``InvalidParameters`` (body size differs from ``chunk.size``), ``ChecksumMismatch`` (460),
    ``UploadInterrupted`` (the body stopped early) or ``StorageError``/``StorageFull``.
    """
    start = 0 if chunk.restart else offset
    if chunk.start != start:
        raise OffsetMismatch(offset, f"the write starts at byte {chunk.start} but the upload has "
                                     f"{offset} bytes: resume at byte {offset}")
    limit, total = _limit(length, chunk, start)
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
        await anyio.to_thread.run_sync(reset_offset, services, upload_id, offset)
        raise OffsetMismatch(0, "the upload's received bytes were lost on the server: resume at byte 0") \
            from None
    try:
        received = await _receive(handle, body, chunk, start, limit, services, upload_id, offset)
    finally:
        await anyio.to_thread.run_sync(handle.close)
    new_offset = start + received
    committed: bool = await anyio.to_thread.run_sync(
        commit_offset, services, upload_id, offset, new_offset, new_offset if chunk.final else total)
    return committed


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
                piece = await _LOCKS.read(upload_id, pieces, BODY_IDLE_S)
            except StopAsyncIteration:
                break
            except Exception as exc:  # the client went away, stalled or was superseded
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
            why = ("a newer request for this upload took over" if isinstance(interrupted, Superseded)
                   else f"nothing arrived for {BODY_IDLE_S:g} s" if isinstance(interrupted, TimeoutError)
                   else "the request body stopped")
            if chunk.keep_partial and chunk.checksum is None and received > 0:
                await anyio.to_thread.run_sync(_write, handle, bytes(buffer), upload_id)
                await anyio.to_thread.run_sync(_sync, handle, upload_id)
                await anyio.to_thread.run_sync(commit_offset, services, upload_id, old_offset, start + received, None)
                raise UploadInterrupted(f"{why} after {received} bytes; they were kept") from interrupted
            failure = UploadInterrupted(f"{why} after {received} bytes; the chunk was discarded")
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
