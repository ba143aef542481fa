"""What the live session hands the effects worker (:mod:`vidlake.effects.live_worker`): its
configuration file and its command line. Light on purpose: the ingest imports it, not the models."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LiveEffectsConfig:
    """What one live run's worker needs. ``effects``: the validated list (JSON); ``sources``: ``src``
    (``asset:<id>``) → local file, resolved by the session; ``keyframe_s``: seconds between forced
    keyframes (the segment length); ``max_lag_s``: seconds behind real time before the effects are
    dropped; ``crf`` / ``maxrate_bps`` (bits per second) / ``preset``: the x264 encode of the top rung;
    ``work_dir``: where effects may write files (a LUT); ``ladder_log``: the ladder ffmpeg's stderr;
    ``ladder_memory_bytes``: its address-space limit (bytes); ``input_format``: ``flv`` (RTMP) or
    ``mpegts`` (SRT) on stdin."""

    effects: list[dict[str, Any]]
    status_path: str
    work_dir: str
    ladder_log: str
    keyframe_s: float = 6.0
    max_lag_s: float = 3.0
    sources: dict[str, str] = field(default_factory=dict)
    preset: str = "veryfast"
    crf: int = 21
    maxrate_bps: int = 6_000_000
    threads: int | None = None
    ladder_memory_bytes: int | None = None
    input_format: str = "flv"

    def write(self, path: Path) -> None:
        """Save as JSON at ``path``."""
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> LiveEffectsConfig:
        """Load from the JSON at ``path``."""
        return cls(**json.loads(path.read_text()))


def worker_argv(config_path: Path, ladder_argv: Sequence[str]) -> list[str]:
    """The argv that starts this worker for ``config_path`` in front of ``ladder_argv``."""
    return [sys.executable, "-m", "vidlake.effects.live_worker", str(config_path), "--", *ladder_argv]
