"""``lut``: a 3D colour lookup table in Adobe/Resolve ``.cube`` text, applied by ffmpeg's ``lut3d``
(trilinear) in the encoding ffmpeg.

The table is parsed and checked when the request arrives (a broken ``.cube`` is a 400 naming
``effects[i].cube``), blended with the identity table by ``intensity`` and written as a clean
``.cube`` file for ffmpeg, so ffmpeg never parses user text.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field, field_validator

from vidlake.effects.base import FilterEffect, Params, Stage, StreamInfo
from vidlake.effects.registry import effect

#: Largest accepted ``LUT_3D_SIZE`` (points per axis) and text size (characters).
MAX_CUBE_SIZE = 65
MAX_CUBE_CHARS = 12_000_000


class CubeError(ValueError):
    """The text is not a valid 3D ``.cube`` table."""


def parse_cube(text: str) -> npt.NDArray[np.float32]:
    """Parse ``.cube`` text into an ``(n, n, n, 3)`` float32 table indexed ``[b, g, r]`` (red varies
    fastest in the file), values scaled to 0..1 by ``DOMAIN_MIN``/``DOMAIN_MAX``."""
    size = 0
    lo, hi = np.zeros(3, np.float32), np.ones(3, np.float32)
    rows: list[list[float]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head = line.split()[0].upper()
        if head == "TITLE":
            continue
        if head == "LUT_1D_SIZE":
            raise CubeError(f"line {number}: 1D tables are not supported; use a 3D .cube")
        parts = line.split()
        try:
            if head == "LUT_3D_SIZE":
                size = int(parts[1])
                if not 2 <= size <= MAX_CUBE_SIZE:
                    raise CubeError(f"line {number}: LUT_3D_SIZE must be 2..{MAX_CUBE_SIZE}")
                continue
            if head in ("DOMAIN_MIN", "DOMAIN_MAX"):
                vals = np.array([float(v) for v in parts[1:4]], np.float32)
                if vals.shape != (3,):
                    raise CubeError(f"line {number}: {head} needs three numbers")
                if head == "DOMAIN_MIN":
                    lo = vals
                else:
                    hi = vals
                continue
            if len(parts) != 3:
                raise CubeError(f"line {number}: expected three numbers")
            rows.append([float(v) for v in parts])
        except (ValueError, IndexError) as exc:
            if isinstance(exc, CubeError):
                raise
            raise CubeError(f"line {number}: not a number") from None
    if not size:
        raise CubeError("no LUT_3D_SIZE line")
    if len(rows) != size**3:
        raise CubeError(f"LUT_3D_SIZE {size} needs {size**3} entries, found {len(rows)}")
    if np.any(hi <= lo):
        raise CubeError("DOMAIN_MAX must be above DOMAIN_MIN")
    table = np.asarray(rows, np.float32)
    if not np.all(np.isfinite(table)):
        raise CubeError("entries must be finite numbers")
    table = (table - lo) / (hi - lo)
    return table.reshape(size, size, size, 3)


def write_cube(table: npt.NDArray[np.float32], path: Path) -> None:
    """Write an ``(n, n, n, 3)`` ``[b, g, r]`` table as ``.cube`` text (domain 0..1)."""
    n = table.shape[0]
    flat = np.clip(table.reshape(-1, 3), 0.0, 1.0)
    body = "\n".join(f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in flat.tolist())
    path.write_text(f"LUT_3D_SIZE {n}\n{body}\n")


def identity(n: int) -> npt.NDArray[np.float32]:
    """The identity table of ``n`` points per axis, ``[b, g, r]`` indexed."""
    axis = np.linspace(0.0, 1.0, n, dtype=np.float32)
    b, g, r = np.meshgrid(axis, axis, axis, indexing="ij")
    return np.stack([r, g, b], axis=-1)


class LutParams(Params):
    """``cube``: the ``.cube`` file's text (3D, ``LUT_3D_SIZE`` up to 65); ``intensity`` 0..1 blend
    with the original colours (default 1)."""

    cube: str = Field(..., min_length=1, max_length=MAX_CUBE_CHARS, description=".cube text")
    intensity: float = Field(1.0, ge=0, le=1, description="0 original .. 1 full LUT; default 1")

    @field_validator("cube")
    @classmethod
    def _valid(cls, value: str) -> str:
        try:
            parse_cube(value)
        except CubeError as exc:
            raise ValueError(f"not a valid .cube: {exc}") from None
        return value


@effect("lut", LutParams)
class Lut(FilterEffect):
    """A 3D LUT through ``lut3d``."""

    stage: ClassVar[Stage] = Stage.FINISH
    params: LutParams

    def filters(self, info: StreamInfo, work_dir: Path) -> list[str]:
        """``lut3d=file=<clean cube>:interp=trilinear``."""
        if self.params.intensity <= 0:
            return []
        table = parse_cube(self.params.cube)
        mixed = identity(table.shape[0]) * (1.0 - self.params.intensity) + table * self.params.intensity
        path = work_dir / f"lut-{id(self):x}.cube"
        write_cube(mixed, path)
        text = str(path)
        if any(ch in text for ch in "'\\:,;[]"):
            raise ValueError(f"unusable work path {text!r} for a filter graph")
        return [f"lut3d=file={text}:interp=trilinear"]
