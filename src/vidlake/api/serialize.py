"""Small conversions for API output."""

from __future__ import annotations


def ts(value: float | None) -> str:
    """Mux-style timestamps: Unix seconds as a string."""
    return str(int(value)) if value is not None else ""


def ts_opt(value: float | None) -> str | None:
    """``ts`` that keeps None."""
    return None if value is None else str(int(value))
