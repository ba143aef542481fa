"""The ``vidlake`` command line: ``app`` (the Typer app and entry point), ``server_commands``
(operator commands), ``user_commands`` (HTTP commands), ``client`` (the HTTP client they use),
``supervisor`` (``serve``'s local worker processes) and ``doctor`` (dependency checks)."""

from __future__ import annotations


def main() -> None:
    """The entry point under its old name ``vidlake.cli:main``, for console scripts installed before
    the command line became this package (the one in pyproject is ``vidlake.cli.app:main``)."""
    from vidlake.cli.app import main as run

    run()
