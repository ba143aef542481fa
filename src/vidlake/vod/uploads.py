"""Direct uploads: create, describe, cancel and expire them, and finish them into an asset.

Life of an upload (``Upload.status``)::

    waiting ──(every byte received)──► asset_created
       ├──(API cancel or tus DELETE)──► cancelled
       └──(timeout passed while waiting)──► timed_out

The bytes are received by ``vod.upload_receiver`` (staging file, locks, limits, offset commit); the
data-plane calls here (:func:`append`, :func:`settle`) take the upload's lock, let the receiver write,
and, when ``offset == length``, store the staging file as ``{upload_prefix}/source``, create the
asset with the upload's ``new_asset_settings`` and delete the staging file (:func:`finalize`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import Conflict, InvalidParameters, NotFound, PayloadTooLarge, VidlakeError
from vidlake.core.ids import new_id
from vidlake.db.models import Upload
from vidlake.db.session import Database
from vidlake.db.tenancy import get_owned
from vidlake.events import emit
from vidlake.runtime import Services
from vidlake.storage import keys
from vidlake.vod.assets import create_asset
from vidlake.vod.upload_receiver import (
    MAX_UPLOAD_BYTES,
    Chunk,
    OffsetMismatch,
    receive,
    reset_offset,
    staging_path,
    upload_lock,
)

log = logging.getLogger(__name__)

#: Seconds an upload URL stays valid by default, and the accepted range (as Mux).
DEFAULT_TIMEOUT_S = 3600
MIN_TIMEOUT_S = 60
MAX_TIMEOUT_S = 604_800
#: Longest ``Upload-Metadata`` header kept (characters).
MAX_METADATA_CHARS = 4096
#: Statuses after which an upload accepts no more bytes.
GONE_STATUSES = ("cancelled", "timed_out", "errored")


class UploadGone(VidlakeError):
    """The upload was cancelled, timed out or errored: it accepts nothing any more."""

    status_code = 410
    error_type = "gone"


class UploadComplete(Conflict):
    """Every byte of the upload was received and its asset created; further writes are refused."""


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


# --- paths and public shape ---------------------------------------------------------------------


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
    upload = get_owned(session, Upload, upload_id, environment_id, "upload")
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


async def append(services: Services, upload_id: str, body: AsyncIterator[bytes], chunk: Chunk) -> UploadState:
    """Receive ``body`` as described by ``chunk`` (see ``upload_receiver.receive``) under the upload's
    lock and, when every byte is in, create the asset. Returns the state after the write.

    Raises ``NotFound``, ``UploadGone``, ``UploadComplete``, ``OffsetMismatch`` (409), or the
    receiver's errors (416, 413, 400, 460, ``UploadInterrupted``, storage errors).
    """
    async with upload_lock(upload_id):
        state = await _finish_if_full(services, await anyio.to_thread.run_sync(load_state, services, upload_id))
        require_writable(state)
        if not await receive(services, upload_id, state.offset, state.length, body, chunk):
            return await anyio.to_thread.run_sync(_commit_refused, services, upload_id)
        return await _finish_if_full(services, await anyio.to_thread.run_sync(load_state, services, upload_id))


async def settle(services: Services, upload_id: str) -> UploadState:
    """The upload's state (after lazy expiry), finishing an upload whose bytes are all in but whose
    asset is not made yet (a crash in between). Raises ``NotFound``."""
    state = await anyio.to_thread.run_sync(load_state, services, upload_id)
    if state.status == "waiting" and state.full:
        async with upload_lock(upload_id):
            state = await anyio.to_thread.run_sync(finalize, services, upload_id)
    return state


async def _finish_if_full(services: Services, state: UploadState) -> UploadState:
    if state.status == "waiting" and state.full:
        return await anyio.to_thread.run_sync(finalize, services, state.id)
    return state


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
        reset_offset(services, upload_id, state.offset)
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
