"""The HTTP application: ``create_app(settings)``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from vidlake import __version__
from vidlake.analytics.collector import BeaconWriter, CollectorMetrics
from vidlake.api import errors
from vidlake.api.metrics import Metrics
from vidlake.api.middleware import BodyLimitMiddleware, MetricsMiddleware
from vidlake.api.routes import (
    analyses,
    assets,
    collector,
    creations,
    data,
    delivery_usage,
    edits,
    effects,
    health,
    jobs,
    live_streams,
    master_download,
    playback,
    playback_id_lookup,
    playback_restrictions,
    reframes,
    signing_keys,
    system,
    templates,
    tracks,
    unsupported,
    upload_data,
    uploads,
    vocabularies,
    web_inputs,
    webhooks,
)
from vidlake.auth.tokens import ensure_bootstrap
from vidlake.console import (
    analytics_pages,
    asset_pages,
    live_pages,
    pages,
    player,
    system_pages,
    upload_pages,
    webhook_pages,
)
from vidlake.core.settings import Settings
from vidlake.deliver import usage
from vidlake.jobs.registry import load_modules
from vidlake.live.metrics import LiveCollector
from vidlake.runtime import Services
from vidlake.startup import build_services

log = logging.getLogger(__name__)

#: Path prefixes whose bodies are media, limited by their own rules rather than the JSON limit.
UPLOAD_PREFIXES = ("/upload/",)


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    on_shutdown: list[Callable[[], None]] | None = None,
) -> FastAPI:
    """Build the API for ``settings`` (or around existing ``services``).

    ``on_shutdown`` callables run when the server stops (before uvicorn re-raises the signal that
    stopped it), e.g. to stop worker processes so that they release their jobs.
    """
    services = services or build_services(settings or Settings())
    settings = services.settings
    load_modules(settings.job_modules)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if ensure_bootstrap(services.db, settings.bootstrap_pair):
            log.info("created the bootstrap access token")
        yield
        app.state.beacon_writer.close()  # accepted beacon events not written yet
        try:
            usage.COUNTER.flush(services, force=True)  # this process's delivery counts not yet written
        except Exception:
            log.exception("flushing delivery usage failed")
        for callback in on_shutdown or ():
            try:
                callback()
            except Exception:
                log.exception("shutdown step failed")

    app = FastAPI(
        title="Vidlake",
        version=__version__,
        description="A self-hosted video cloud with a Mux-shaped API.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.metrics = Metrics(services)
    app.state.metrics.registry.register(LiveCollector())
    app.state.collector_metrics = CollectorMetrics(app.state.metrics.registry)
    app.state.beacon_writer = BeaconWriter(services.db, app.state.collector_metrics)
    errors.install(app)
    routers = (health, system, signing_keys, webhooks, jobs, assets, uploads, upload_data, live_streams, edits,
               templates, analyses, reframes, tracks, vocabularies, effects, playback_id_lookup,
               playback_restrictions, unsupported, master_download, delivery_usage, collector, data,
               creations, web_inputs)
    for router in (module.router for module in routers):
        app.include_router(router)
    app.include_router(signing_keys.legacy_router)
    app.include_router(pages.router)
    app.include_router(live_pages.router)
    app.include_router(analytics_pages.router)
    app.include_router(system_pages.router)
    app.include_router(webhook_pages.router)
    app.include_router(asset_pages.router)
    app.include_router(upload_pages.router)
    app.include_router(player.router)  # before playback: /player/{id} would match /{playback_id}/{name}
    app.mount(player.STATIC_PREFIX, player.static_files(), name="console-static")
    app.include_router(playback.router)  # last: its /{playback_id}/{name} paths are catch-alls
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_json_body_bytes, exempt=UPLOAD_PREFIXES,
                       exempt_paths=(collector.PATH,))
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app
