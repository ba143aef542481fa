"""A pipeline job that ends dead leaves its asset in a final, truthful state (issue 21, defect b)."""

from __future__ import annotations

import time

from vidlake.auth.tokens import create_environment
from vidlake.core.settings import Settings
from vidlake.db.models import Asset, Job
from vidlake.jobs import maintenance, queue
from vidlake.jobs.registry import load_modules
from vidlake.startup import build_services
from vidlake.vod import assets as svc


def _asset_whose_worker_dies(settings: Settings, *, hls_complete: bool) -> str:
    """A ``ready`` asset made playable early (``hls_complete`` as given) whose ``vod.process`` job loses its
    only worker (lease expired, no attempt left); returns the asset id after one maintenance pass."""
    load_modules()
    services = build_services(settings)
    try:
        with services.db.session() as session:
            env = create_environment(session, "final-failure")
            asset = svc.create_asset(session, env.id, {"playback_policy": ["public"]}, source_key="x/source")
            asset.status, asset.hls_prefix, asset.hls_complete = "ready", "x/hls/v1", hls_complete
            job_id = queue.enqueue(session, svc.PROCESS_KIND, {"asset_id": asset.id}, environment_id=env.id,
                                   max_attempts=1)
            asset.job_id, asset_id = job_id, asset.id
        claimed = queue.claim(services.db, "a-worker-that-dies", [svc.PROCESS_KIND], lease_s=0.05, job_id=job_id)
        assert claimed is not None
        time.sleep(0.1)
        maintenance.tick(services)
        with services.db.session() as session:
            job = session.get(Job, job_id)
            assert job is not None and job.state == "dead"
        return asset_id
    finally:
        services.close()


def test_dead_transcode_of_an_early_playable_asset_ends_errored(settings: Settings) -> None:
    asset_id = _asset_whose_worker_dies(settings, hls_complete=False)
    services = build_services(settings)
    try:
        with services.db.session() as session:
            asset = session.get(Asset, asset_id)
            assert asset is not None and asset.status == "errored"
            assert asset.errors["type"] == "processing_failed"
            assert "before every rendition was complete" in asset.errors["messages"][0]
            assert "lease expired" in asset.errors["messages"][0]
            assert svc.asset_public(session, asset)["progress"] == {"state": "errored", "progress": -1}
    finally:
        services.close()


def test_dead_job_after_the_ladder_completed_keeps_the_asset_ready(settings: Settings) -> None:
    asset_id = _asset_whose_worker_dies(settings, hls_complete=True)
    services = build_services(settings)
    try:
        with services.db.session() as session:
            asset = session.get(Asset, asset_id)
            assert asset is not None and asset.status == "ready" and not asset.errors
    finally:
        services.close()
