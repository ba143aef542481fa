"""What every command shares: the terminal consoles and loading settings from the environment."""

from __future__ import annotations

import typer
from rich.console import Console

from vidlake.core.logs import configure as configure_logging
from vidlake.core.settings import Settings

#: Results go to stdout, progress and errors to stderr.
console = Console()
err = Console(stderr=True)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment with the command's non-None ``overrides``; exit 2 naming the bad
    field when they are invalid. Also configures logging."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = Settings(**clean)  # type: ignore[arg-type]
    except Exception as exc:
        err.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, settings.log_format)
    return settings
