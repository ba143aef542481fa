"""Short, field-first messages for pydantic validation errors (``must be <= 1``, ``is required``...),
shared by every request validator that reports ``field: problem`` lines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def field_message(err: Mapping[str, Any]) -> str:
    """The message of one pydantic error dict (``ValidationError.errors()`` item), without its field."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    bounds = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"), "less_than_equal": ("<=", "le"),
              "less_than": ("<", "lt")}
    if kind in bounds:
        op, key = bounds[kind]
        return f"must be {op} {_fmt(ctx[key])}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}"
    if kind == "union_tag_invalid":
        return f"type must be one of {ctx.get('expected_tags', '')}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return str(err["msg"])
