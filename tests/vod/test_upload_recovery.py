"""A server that stopped between the last byte of an upload and the asset: it finishes on restart."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest
from media import make_av
from services import VidlakeServer
from sqlalchemy import update

from vidlake.db.models import Upload
from vidlake.db.session import Database

pytestmark = pytest.mark.slow


def test_complete_upload_without_asset_is_finished_by_the_server(tmp_path: Path) -> None:
    clip = make_av(tmp_path / "clip.mp4", seconds=2)
    server = VidlakeServer(tmp_path / "srv").start()
    try:
        with server.client() as c:
            upload = c.post("/video/v1/uploads", json={"new_asset_settings": {"playback_policy": ["public"]}}
                            ).json()["data"]
    finally:
        server.stop()
    # What a crash after the last fsync'd byte and before finalize leaves behind: a full staging file and
    # the offset at the end, no asset.
    size = clip.stat().st_size
    staging = server.data_dir / "uploads" / f"{upload['id']}.part"
    staging.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(clip, staging)
    db = Database(f"sqlite:///{server.data_dir / 'vidlake.db'}")
    with db.session() as s:
        s.execute(update(Upload).where(Upload.id == upload["id"]).values(offset=size, length=size,
                                                                          created_at=time.time() - 60))
    db.dispose()
    restarted = VidlakeServer(tmp_path / "srv").start()
    try:
        deadline = time.monotonic() + 60
        data: dict[str, object] = {}
        while time.monotonic() < deadline:
            data = httpx.get(f"{restarted.url}/video/v1/uploads/{upload['id']}", auth=restarted.auth).json()["data"]
            if data["status"] == "asset_created":
                break
            time.sleep(0.2)
        assert data["status"] == "asset_created" and data["asset_id"], data
        asset = httpx.get(f"{restarted.url}/video/v1/assets/{data['asset_id']}", auth=restarted.auth).json()["data"]
        assert asset["upload_id"] == upload["id"]
    finally:
        restarted.stop()
