"""The ``vidlake`` command (the console script and ``python -m vidlake``): one Typer app with the
operator commands of ``server_commands`` and the user commands of ``user_commands``."""

from __future__ import annotations

import typer

from vidlake.cli import server_commands, user_commands

app = typer.Typer(help="Vidlake: a self-hosted video cloud.", no_args_is_help=True, add_completion=False)
token_app = typer.Typer(help="Access tokens (operates on the database directly).", no_args_is_help=True)
app.add_typer(token_app, name="token")
user_app = typer.Typer(help="Console users (operates on the database directly).", no_args_is_help=True)
app.add_typer(user_app, name="user")

app.command()(server_commands.migrate)
app.command()(server_commands.serve)
app.command()(server_commands.worker)
token_app.command("create")(server_commands.token_create)
token_app.command("list")(server_commands.token_list)
token_app.command("revoke")(server_commands.token_revoke)
app.command()(user_commands.upload)
user_app.command("create")(user_commands.user_create)
app.command()(user_commands.render)
app.command()(user_commands.analyze)
app.command()(server_commands.doctor)
app.command("speech-model")(server_commands.speech_model)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="vidlake")


if __name__ == "__main__":
    main()
