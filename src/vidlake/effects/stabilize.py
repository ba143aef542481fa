"""``stabilize``: two-pass ``vidstab`` (in the shipped ffmpeg). Pass 1 (``vidstabdetect``) measures
the camera motion into a transforms file; pass 2 (``vidstabtransform``) smooths the path and
compensates, zooming just enough (``optzoom=1``) that no black border shows. VOD and edits only:
the first pass needs the whole clip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from vidlake.effects.base import FilterEffect, Params, Stage, StreamInfo
from vidlake.effects.registry import effect


class StabilizeParams(Params):
    """``strength`` 0..1 (how shaky the source is assumed to be; default 0.5), ``smoothing`` seconds
    0.1..5 of camera path averaged (default 1)."""

    strength: float = Field(0.5, ge=0, le=1, description="expected shakiness 0..1; default 0.5")
    smoothing: float = Field(1.0, ge=0.1, le=5, description="seconds of camera path smoothed; default 1")


def _escape(path: Path) -> str:
    text = str(path)
    if any(ch in text for ch in "'\\:,;[]"):
        raise ValueError(f"unusable work path {text!r} for a filter graph")
    return text


@effect("stabilize", StabilizeParams)
class Stabilize(FilterEffect):
    """Two-pass vidstab (see the module docstring)."""

    stage: ClassVar[Stage] = Stage.CLEANUP
    live: ClassVar[bool] = False
    params: StabilizeParams

    def _trf(self, work_dir: Path) -> Path:
        return work_dir / f"vidstab-{id(self):x}.trf"

    def prepare(self, run_pass: Callable[[list[str]], None], info: StreamInfo, work_dir: Path) -> None:
        """Pass 1: ``vidstabdetect`` over the whole source into the transforms file."""
        shakiness = 1 + round(9 * self.params.strength)
        run_pass([f"vidstabdetect=shakiness={shakiness}:accuracy=12:result={_escape(self._trf(work_dir))}"])

    def filters(self, info: StreamInfo, work_dir: Path) -> list[str]:
        """Pass 2: ``vidstabtransform`` with ``smoothing`` in frames."""
        frames = max(1, round(self.params.smoothing * info.fps))
        return [f"vidstabtransform=input={_escape(self._trf(work_dir))}:smoothing={frames}:optzoom=1:"
                "interpol=bicubic"]
