"""User commands: ``upload``, ``render``, ``analyze``. They talk to a server over HTTP through
:class:`vidlake.cli.client.VidlakeClient` (``analyze`` of a local file runs here, without a server).
``user create`` makes a console user in this machine's database directly."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vidlake.cli.terminal import console, err


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

    from vidlake.cli.client import ApiError, VidlakeClient

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

    from vidlake.cli.client import ApiError, VidlakeClient
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
    from vidlake.cli.client import ApiError, VidlakeClient

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


def user_create(
    email: Annotated[str, typer.Argument(help="The user's email address (their sign-in name)")],
    permission: Annotated[str, typer.Option(help="full or read_only")] = "full",
    environment: Annotated[str | None, typer.Option(help="Environment id (default: the first one)")] = None,
    password: Annotated[str | None, typer.Option(
        help="Password (else VIDLAKE_USER_PASSWORD, else asked twice without echo)")] = None,
) -> None:
    """Create a console user (email + password, stored as an argon2id hash) on this machine's database."""
    import os

    from vidlake.auth import tokens, users
    from vidlake.cli.terminal import load_settings
    from vidlake.core.errors import VidlakeError
    from vidlake.db.migrate import upgrade
    from vidlake.db.session import Database

    secret = password or os.environ.get("VIDLAKE_USER_PASSWORD") or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True)
    settings = load_settings()
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            env_id = environment or tokens.default_environment(session).id
            user = users.create_user(session, env_id, email, secret, permission)
            user_id, user_email = user.id, user.email
    except VidlakeError as exc:
        err.print(f"[red]error:[/red] {'; '.join(exc.messages)}")
        raise typer.Exit(1) from exc
    console.print(f"user {user_email} ({permission}) id {user_id} in environment {env_id}")
    console.print(f"sign in at {settings.public_url}/console")
