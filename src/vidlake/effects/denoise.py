"""``denoise``: ffmpeg's ``hqdn3d`` (fast, spatio-temporal) or ``nlmeans`` (non-local means, slow,
better on fine grain). No Python per frame."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from vidlake.effects.base import FilterEffect, Params, Stage, StreamInfo
from vidlake.effects.registry import effect


class DenoiseParams(Params):
    """``strength`` 0..1 (default 0.5); ``method`` ``hqdn3d`` (default) or ``nlmeans``."""

    strength: float = Field(0.5, ge=0, le=1, description="0 none .. 1 strong; default 0.5")
    method: Literal["hqdn3d", "nlmeans"] = Field("hqdn3d", description="hqdn3d (fast) or nlmeans (slow)")


@effect("denoise", DenoiseParams)
class Denoise(FilterEffect):
    """Noise reduction inside the decoding ffmpeg."""

    stage: ClassVar[Stage] = Stage.CLEANUP
    params: DenoiseParams

    def filters(self, info: StreamInfo, work_dir: Path) -> list[str]:
        """``hqdn3d=<luma_spatial>:<chroma_spatial>:<luma_tmp>:<chroma_tmp>`` or ``nlmeans=s=<sigma>``."""
        s = self.params.strength
        if s <= 0:
            return []
        if self.params.method == "nlmeans":
            return [f"nlmeans=s={1.0 + 9.0 * s:.2f}:p=7:r=9"]
        ls = 8.0 * s
        return [f"hqdn3d={ls:.2f}:{0.75 * ls:.2f}:{1.5 * ls:.2f}:{1.1 * ls:.2f}"]
