"""Templates: a timeline document with ``{{placeholder}}`` merge fields.

Substitution walks the JSON values (never the keys):

* a string that is exactly one placeholder (``"{{duration}}"``, spaces allowed inside the braces) is
  replaced by the merge value itself, keeping its JSON type (number, bool, object, list...);
* placeholders inside a longer string are replaced by the value's text (numbers as written,
  objects/lists as JSON).

Every placeholder without a value is reported at once in a :class:`TemplateError`.

A template file (examples/templates/*.json) is ``{"name", "description", "placeholders": {name:
description}, "defaults": {name: value}, "example": {name: value}, "edit": {...}}``; only ``edit``
is required. :func:`apply_template` merges ``defaults`` under the caller's values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}")


class TemplateError(ValueError):
    """Placeholders without a merge value (``missing`` maps each name to the paths that use it)."""

    def __init__(self, missing: dict[str, list[str]]) -> None:
        self.missing = missing
        lines = [f"{name} (used at {', '.join(paths)})" for name, paths in sorted(missing.items())]
        super().__init__("missing merge values: " + "; ".join(lines))


def _walk(node: Any, path: str, values: Mapping[str, Any], missing: dict[str, list[str]]) -> Any:
    if isinstance(node, dict):
        return {k: _walk(v, f"{path}.{k}" if path else str(k), values, missing) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, f"{path}[{i}]", values, missing) for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node
    whole = PLACEHOLDER.fullmatch(node.strip())
    if whole:
        name = whole.group(1)
        if name not in values:
            missing.setdefault(name, []).append(path)
            return node
        return values[name]

    def text(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            missing.setdefault(name, []).append(path)
            return match.group(0)
        value = values[name]
        if isinstance(value, str):
            return value
        if isinstance(value, bool) or value is None:
            return json.dumps(value)
        if isinstance(value, int | float):
            return f"{value:g}" if isinstance(value, float) else str(value)
        return json.dumps(value)

    return PLACEHOLDER.sub(text, node)


def substitute(document: Any, values: Mapping[str, Any]) -> Any:
    """Return a copy of ``document`` (parsed JSON) with every ``{{name}}`` filled from ``values``.

    Raises :class:`TemplateError` naming every placeholder that has no value.
    """
    missing: dict[str, list[str]] = {}
    result = _walk(document, "", values, missing)
    if missing:
        raise TemplateError(missing)
    return result


def placeholders(document: Any) -> set[str]:
    """The names of all placeholders used in ``document``'s values."""
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for v in node.values():
                visit(v)
        elif isinstance(node, list):
            for v in node:
                visit(v)
        elif isinstance(node, str):
            found.update(m.group(1) for m in PLACEHOLDER.finditer(node))

    visit(document)
    return found


def apply_template(template: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Fill a template file's ``edit`` with ``values`` over its ``defaults``; returns the edit JSON."""
    if "edit" not in template:
        raise ValueError("a template needs an 'edit' object")
    merged = {**template.get("defaults", {}), **values}
    result = substitute(template["edit"], merged)
    assert isinstance(result, dict)
    return result
