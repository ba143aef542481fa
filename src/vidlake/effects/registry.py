"""Effects by ``type``, and the validation of an ``effects`` list with errors that name the field.

Each effect module registers its parameter model and class::

    @effect("sharpen", SharpenParams)
    class Sharpen(FilterEffect): ...

:func:`parse_effects` turns request JSON (a list of ``{"type": ..., ...}``) into parameter models
or raises :class:`EffectsInvalid` listing every problem as ``effects[1].smooth: must be <= 1``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from vidlake.core.errors import InvalidParameters
from vidlake.core.messages import field_message
from vidlake.effects.base import Effect, Params

#: Modules that register effects (imported by :func:`load`).
MODULES: tuple[str, ...] = (
    "vidlake.effects.denoise",
    "vidlake.effects.sharpen",
    "vidlake.effects.lut",
    "vidlake.effects.stabilize",
    "vidlake.effects.auto_color",
    "vidlake.effects.face_blur",
    "vidlake.effects.background",
    "vidlake.effects.beautify",
    "vidlake.effects.sticker",
)
#: Most effects one request may chain.
MAX_EFFECTS = 8

_EFFECTS: dict[str, tuple[type[Params], type[Effect]]] = {}


def effect(name: str, params: type[Params]) -> Callable[[type[Effect]], type[Effect]]:
    """Class decorator registering an effect under ``name`` with its parameter model."""

    def register(cls: type[Effect]) -> type[Effect]:
        cls.name = name
        _EFFECTS[name] = (params, cls)
        return cls

    return register


def load() -> None:
    """Import every module that registers effects."""
    for module in MODULES:
        importlib.import_module(module)


def effect_types() -> list[str]:
    """Every registered effect ``type``, in registration order."""
    load()
    return list(_EFFECTS)


def effect_class(name: str) -> type[Effect]:
    """The class of effect ``name``. Raises ``KeyError``."""
    load()
    return _EFFECTS[name][1]


class EffectsInvalid(InvalidParameters):
    """An ``effects`` list is invalid; ``messages`` holds one ``field: problem`` line per error."""


def _loc(prefix: str, loc: Sequence[int | str]) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def parse_effects(data: Any, *, field: str = "effects", live: bool = False) -> list[Params]:
    """Validate an ``effects`` list; return one parameter model per entry.

    ``field`` prefixes error paths (``timeline.tracks[0].clips[1].effects``); ``live=True`` refuses
    effects that cannot run on a live stream (two-pass stabilisation). Raises :class:`EffectsInvalid`."""
    load()
    if not isinstance(data, list):
        raise EffectsInvalid(f"{field}: must be a list of effects")
    if len(data) > MAX_EFFECTS:
        raise EffectsInvalid(f"{field}: at most {MAX_EFFECTS} effects, got {len(data)}")
    errors: list[str] = []
    out: list[Params] = []
    for i, item in enumerate(data):
        where = f"{field}[{i}]"
        kind = item.get("type") if isinstance(item, dict) else None
        if not isinstance(item, dict):
            errors.append(f"{where}: must be an object with a type")
            continue
        if kind not in _EFFECTS:
            errors.append(f"{where}.type: must be one of {', '.join(_EFFECTS)}")
            continue
        model, cls = _EFFECTS[kind]
        if live and not cls.live:
            errors.append(f"{where}.type: {kind} cannot run on a live stream")
            continue
        try:
            out.append(model.model_validate({k: v for k, v in item.items() if k != "type"}))
        except ValidationError as exc:
            errors.extend(f"{_loc(where, e['loc'])}: {field_message(e)}" for e in exc.errors())
    if errors:
        raise EffectsInvalid(*errors)
    return out


def to_json(params: Sequence[Params]) -> list[dict[str, Any]]:
    """Parameter models back to request JSON (``type`` first, every default filled in)."""
    out: list[dict[str, Any]] = []
    for p in params:
        name = next(n for n, (m, _) in _EFFECTS.items() if isinstance(p, m))
        out.append({"type": name, **p.model_dump(mode="json")})
    return out


def build(params: Sequence[Params]) -> list[Effect]:
    """Instantiate the effects of ``params``, sorted by stage (stable: request order within a stage)."""
    load()
    effects: list[Effect] = []
    for p in params:
        cls = next(c for m, c in _EFFECTS.values() if type(p) is m)
        effects.append(cls(p))
    return sorted(effects, key=lambda e: int(e.stage))
