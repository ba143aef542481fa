"""``sharpen``: ffmpeg's ``unsharp`` on luma, in the encoding ffmpeg (after every other effect)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator

from vidlake.effects.base import FilterEffect, Params, Stage, StreamInfo
from vidlake.effects.registry import effect


class SharpenParams(Params):
    """``amount`` 0..3 (unsharp's luma amount; default 0.8), ``size`` 3..13 odd pixels (default 5)."""

    amount: float = Field(0.8, ge=0, le=3, description="strength; 0 none; default 0.8")
    size: int = Field(5, ge=3, le=13, description="kernel side in pixels, odd; default 5")

    @field_validator("size")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError("must be an odd number of pixels")
        return value


@effect("sharpen", SharpenParams)
class Sharpen(FilterEffect):
    """Unsharp mask on the luma plane."""

    stage: ClassVar[Stage] = Stage.FINISH
    params: SharpenParams

    def filters(self, info: StreamInfo, work_dir: Path) -> list[str]:
        """``unsharp=luma_msize_x=..:luma_msize_y=..:luma_amount=..``."""
        p = self.params
        if p.amount <= 0:
            return []
        return [f"unsharp=luma_msize_x={p.size}:luma_msize_y={p.size}:luma_amount={p.amount:.3f}"]
