"""Master access (Mux's ``PUT /assets/{id}/master-access``): a temporary download of the asset's
master-quality MP4, made on demand by the ``vod.master_access`` job.

``master_access: temporary`` sets ``master.status`` preparing → ready (``master.url`` then downloads
``master.mp4``: the highest rung with its audio, remuxed without re-encoding) → deleted once
``MASTER_TTL_S`` (24 hours, as Mux) have passed since it became ready: the maintenance pass removes the
file, ``master_access`` reads ``none`` again and ``master`` is gone from the asset (Mux's SDK models
know no ``deleted`` status), with ``video.asset.master.deleted``. ``none`` deletes it at once. Events
``video.asset.master.{preparing,ready,errored,deleted}`` follow each change, as Mux sends them.
The URL carries a random token (a capability, like a presigned URL): whoever has it
may download until expiry, with no other credential.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import Conflict
from vidlake.core.ids import new_secret
from vidlake.db.models import Asset
from vidlake.deliver.media import local_hls_dir
from vidlake.events import emit
from vidlake.ffmpeg import FFmpegError
from vidlake.jobs import maintenance
from vidlake.jobs.context import JobContext
from vidlake.jobs.queue import enqueue
from vidlake.jobs.registry import job_kind
from vidlake.runtime import Services
from vidlake.storage import Storage, keys
from vidlake.vod.assets import asset_public

log = logging.getLogger(__name__)

MASTER_KIND = "vod.master_access"
#: How long a master stays downloadable once ready (seconds).
MASTER_TTL_S = 24 * 3600.0
MASTER_NAME = "master.mp4"
#: No cap on the short side of the rung a master is made from (pixels).
_NO_CAP = 100_000


def _key(asset: Asset) -> str:
    return keys.asset_static(asset.environment_id, asset.id, MASTER_NAME)


def master_public(asset: Asset, public_url: str) -> dict[str, Any] | None:
    """Mux's ``master`` object (``status``, and ``url`` once ready), or None without master access."""
    status = asset.master_status
    if asset.master_access != "temporary" or status not in ("preparing", "ready", "errored"):
        return None
    if status == "ready" and asset.master_expires_at is not None and now() >= asset.master_expires_at:
        return None
    out: dict[str, Any] = {"status": status}
    if status == "ready":
        out["url"] = f"{public_url.rstrip('/')}/master/{asset.id}/{asset.master_token}/{MASTER_NAME}"
    return out


def set_master_access(session: Session, storage: Storage, asset: Asset, value: str) -> None:
    """``temporary``: (re)make the master and start a new 24-hour window; ``none``: delete it."""
    if value == "none":
        storage.delete(_key(asset))
        had = asset.master_status in ("preparing", "ready")
        asset.master_access, asset.master_status = "none", "deleted"
        asset.master_expires_at = asset.master_token = None
        if had:
            _emit(session, asset, "deleted")
    else:
        if asset.status != "ready" or not asset.hls_complete:
            raise Conflict(f"asset {asset.id!r} is not ready: master access can be set once it is")
        asset.master_access, asset.master_status = "temporary", "preparing"
        asset.master_expires_at, asset.master_token = None, new_secret()
        enqueue(session, MASTER_KIND, {"asset_id": asset.id}, environment_id=asset.environment_id)
        _emit(session, asset, "preparing")
    asset.updated_at = now()


def _emit(session: Session, asset: Asset, what: str) -> None:
    emit(session, asset.environment_id, f"video.asset.master.{what}", "asset", asset.id,
         asset_public(session, asset))


def master_file(session: Session, asset_id: str, token: str) -> str | None:
    """The storage key of a downloadable master for ``asset_id`` and ``token``, else None."""
    asset = session.get(Asset, asset_id)
    if (asset is None or asset.deleted_at is not None or asset.master_status != "ready"
            or not asset.master_token or asset.master_token != token
            or (asset.master_expires_at is not None and now() >= asset.master_expires_at)):
        return None
    return _key(asset)


@job_kind(MASTER_KIND, max_attempts=3, timeout_s=3600)
def make_master(ctx: JobContext) -> dict[str, Any]:
    """Remux the highest rung into ``master.mp4`` and mark the master ready for ``MASTER_TTL_S``."""
    from vidlake.vod.renditions import static_mp4

    services = ctx.services
    with services.db.session() as session:
        asset = session.get(Asset, ctx.payload["asset_id"])
        if asset is None or asset.deleted_at is not None or asset.master_status != "preparing":
            return {"skipped": True}
        prefix, key, token = asset.hls_prefix or "", _key(asset), asset.master_token
    try:
        with tempfile.TemporaryDirectory() as tmp:
            made = static_mp4(local_hls_dir(services, prefix) / "master.m3u8", Path(tmp) / MASTER_NAME,
                              max_short_side=_NO_CAP)
            services.storage.put_file(key, made.path, "video/mp4")
    except (ValueError, FFmpegError) as exc:
        log.warning("master of %s failed: %s", ctx.payload["asset_id"], exc)
        status = "errored"
    else:
        status = "ready"
    with services.db.session() as session:
        asset = session.get(Asset, ctx.payload["asset_id"])
        if asset is not None and asset.master_token == token and asset.master_status == "preparing":
            asset.master_status = status
            asset.master_expires_at = now() + MASTER_TTL_S if status == "ready" else None
            _emit(session, asset, status)
    return {"status": status}


def expire_masters(services: Services) -> None:
    """Maintenance: delete the files of masters past their window and mark them ``deleted``."""
    with services.db.session() as session:
        rows = session.scalars(select(Asset).where(Asset.master_status == "ready",
                                                   Asset.master_expires_at <= now()).limit(100))
        for asset in rows:
            services.storage.delete(_key(asset))
            asset.master_access, asset.master_status, asset.master_token = "none", "deleted", None
            _emit(session, asset, "deleted")


maintenance.add_hook(expire_masters)
