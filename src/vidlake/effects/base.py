"""The effect contract.

An effect is one small class on one of two shapes:

* :class:`FilterEffect` renders itself as ffmpeg filters (``filters``), run inside the decoding or the
  encoding ffmpeg: no Python per frame. ``prepare`` is an optional first pass over the source (the
  stabiliser's motion analysis).
* :class:`FrameEffect` changes numpy frames (``apply``): full-resolution RGB uint8 in, the same out,
  with what it needs about the picture (face landmarks, face boxes, person mask) computed once per
  frame at low resolution by the shared :class:`~vidlake.effects.perception.Perception` and handed
  over in a :class:`~vidlake.effects.perception.Scene`.

Effects run in :class:`Stage` order (stable within a stage, so the caller's order is kept among
effects of one stage): clean-up filters on the decoded picture, colour correction and portrait effects
on frames, then grading filters before the encoder.
"""

from __future__ import annotations

import enum
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from vidlake.effects.perception import Scene

Frame = npt.NDArray[np.uint8]


class Stage(enum.IntEnum):
    """Where an effect runs: ``CLEANUP`` (filters after decode: stabilise, denoise), ``COLOUR`` and
    ``PORTRAIT`` (frame effects), ``FINISH`` (filters before encode: LUT, sharpen)."""

    CLEANUP = 0
    COLOUR = 1
    PORTRAIT = 2
    FINISH = 3


class Params(BaseModel):
    """Base of every effect's parameters: unknown fields are errors; ``type`` names the effect."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class StreamInfo:
    """The picture the effects see: ``width`` x ``height`` pixels at ``fps`` frames per second;
    ``duration_s`` seconds (0.0 when unknown, e.g. live)."""

    width: int
    height: int
    fps: float
    duration_s: float = 0.0


#: Loads an effect's ``src`` (``asset:<id>`` or an https URL) as a local file path.
SourceLoader = Callable[[str], Path]


class Effect:
    """One configured effect. ``name`` is its ``type`` in requests; ``stage`` orders it; ``live``:
    usable on live streams (a two-pass effect is not)."""

    name: ClassVar[str] = "effect"
    stage: ClassVar[Stage] = Stage.PORTRAIT
    live: ClassVar[bool] = True

    def __init__(self, params: Params) -> None:
        self.params = params


class FilterEffect(Effect):
    """An effect done by ffmpeg filters."""

    stage: ClassVar[Stage] = Stage.CLEANUP

    def prepare(self, run_pass: Callable[[list[str]], None], info: StreamInfo, work_dir: Path) -> None:
        """Optional first pass: ``run_pass(filters)`` decodes the whole source through ``filters``
        (output discarded). Default: nothing."""

    @abstractmethod
    def filters(self, info: StreamInfo, work_dir: Path) -> list[str]:
        """The ffmpeg filters (``name=opt=value:...``) of this effect, applied in order."""


class FrameEffect(Effect):
    """An effect done on numpy frames. ``needs`` names the shared perception it reads:
    ``"mesh"`` (face-mesh landmarks), ``"faces"`` (tracked face boxes), ``"person"`` (person mask)."""

    needs: ClassVar[frozenset[str]] = frozenset()

    def begin(self, info: StreamInfo, load: SourceLoader | None) -> None:
        """Called once before the first frame (load ``src`` files here). Default: nothing."""

    def close(self) -> None:
        """Called once after the last frame (stop decoders, free buffers). Default: nothing."""

    @abstractmethod
    def apply(self, frame: Frame, scene: Scene) -> Frame:
        """Return the processed frame (``frame`` may be modified in place and returned)."""
