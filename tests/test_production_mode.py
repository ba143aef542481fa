"""Production mode end to end: PostgreSQL, S3 (moto over HTTP) and a Celery worker on "another machine"
(its own data dir), behind the same API. Upload → ready → HLS, images and MP4 served from S3."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from media import make_av
from services import BIN, SUPPORT, VidlakeServer, fresh_pg_database

from vidlake.cli.client import VidlakeClient
from vidlake.db.migrate import upgrade
from vidlake.package import hls

pytestmark = pytest.mark.slow


@pytest.fixture
def production(tmp_path: Path, postgres_url: str, redis_url: str, s3_endpoint: str) -> Iterator[VidlakeServer]:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    db_url = fresh_pg_database(postgres_url, "prod" + tmp_path.name)
    upgrade(db_url)
    shared = {
        "VIDLAKE_DATABASE_URL": db_url,
        "VIDLAKE_STORAGE_URL": f"s3://media-{tmp_path.name.lower().replace('_', '-')[-30:]}/vidlake"
                               f"?endpoint={s3_endpoint}&region=us-east-1&create_bucket=true",
        "VIDLAKE_EXECUTOR": "celery",
        "VIDLAKE_BROKER_URL": redis_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    api = VidlakeServer(tmp_path / "api-machine", env=shared, workers=0).start()
    worker_env = {**api.env, "VIDLAKE_DATA_DIR": str(tmp_path / "worker-machine"),
                  "PYTHONPATH": os.pathsep.join([str(SUPPORT), os.environ.get("PYTHONPATH", "")])}
    log = (tmp_path / "worker.log").open("ab")
    worker = subprocess.Popen([str(BIN / "vidlake"), "worker", "--executor", "celery", "--concurrency", "1"],
                              env=worker_env, stdout=log, stderr=log, start_new_session=True)
    try:
        yield api
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        api.stop()


def test_upload_to_playback_on_postgres_s3_and_celery(production: VidlakeServer, tmp_path: Path) -> None:
    clip = make_av(tmp_path / "clip.mp4", seconds=4)
    client = VidlakeClient(production.url, f"{production.token_id}:{production.token_secret}")
    upload = client.upload_file(clip, {"playback_policy": ["public"], "mp4_support": "capped-1080p"})
    asset_id = client.wait_upload_asset(upload["id"])
    asset: dict[str, Any] = client.wait_asset(asset_id, timeout_s=240)
    assert asset["status"] == "ready", asset
    assert asset["static_renditions"]["status"] == "ready"
    # Nothing of the asset is on the API machine's disk: it is all in S3.
    assert not list((production.data_dir / "storage").glob("**/*.m4s"))
    pid = asset["playback_ids"][0]["id"]
    master = hls.parse(httpx.get(f"{production.url}/{pid}.m3u8").text)
    assert isinstance(master, hls.MasterPlaylist) and master.variants
    media_url = f"{production.url}/{master.variants[0].uri}"
    media = hls.parse(httpx.get(media_url).text)
    assert isinstance(media, hls.MediaPlaylist) and media.endlist
    base = media_url.rsplit("/", 1)[0]
    init = httpx.get(f"{base}/{media.segments[0].init_uri}").content
    first = httpx.get(f"{base}/{media.segments[0].uri}").content
    (tmp_path / "seg.mp4").write_bytes(init + first)
    with av.open(str(tmp_path / "seg.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) > 0
    thumb = httpx.get(f"{production.url}/{pid}/thumbnail.jpg", params={"time": 1}, timeout=60)
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    part = httpx.get(f"{production.url}/{pid}/capped-1080p.mp4", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["content-range"].startswith("bytes 100-199/")
    full = httpx.get(f"{production.url}/{pid}/capped-1080p.mp4")
    assert full.status_code == 200 and full.content[100:200] == part.content
    vtt = httpx.get(f"{production.url}/{pid}/storyboard.vtt")
    assert vtt.status_code == 200 and "#xywh=" in vtt.text
    with production.client() as c:
        assert c.delete(f"/video/v1/assets/{asset_id}").status_code == 204
    time.sleep(0.5)
    assert httpx.get(f"{production.url}/{pid}.m3u8").status_code == 404
