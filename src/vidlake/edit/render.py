"""Render a timeline document to an MP4 file with one ffmpeg process."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidlake.edit._runner import run_ffmpeg
from vidlake.edit.compiler import CompiledEdit, Encoding, compile_edit
from vidlake.edit.timeline import Edit
from vidlake.edit.validate import Limits, Resolver, validate_edit

DEFAULT_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class RenderResult:
    """The written file and the command that made it (``compiled.filter_graph`` for job details)."""

    out_path: Path
    compiled: CompiledEdit


def render(
    timeline: Mapping[str, Any] | Edit,
    resolver: Resolver,
    out_path: str | Path,
    *,
    preview: bool = False,
    on_progress: Callable[[float], None] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    limits: Limits | None = None,
    encoding: Encoding | None = None,
    cancel_check: Callable[[], bool] | None = None,
) -> RenderResult:
    """Validate ``timeline`` (an :class:`Edit` or its JSON as a dict), compile it and run ffmpeg once.

    ``resolver(src)`` maps each source to a :class:`SourceInfo`; ``preview=True`` renders a fast
    low-resolution draft; ``on_progress(percent)`` gets 0-100; ``timeout_s`` is the wall-clock limit in
    seconds. Raises :class:`EditValidationError` before starting ffmpeg if the document is invalid, and
    :class:`vidlake.ffmpeg.FFmpegError` (or ``FFmpegTimeoutError``) if ffmpeg fails.
    """
    validated = validate_edit(timeline, resolver, limits)
    out = Path(out_path)
    compiled = compile_edit(validated, out, preview=preview, encoding=encoding)
    compiled.write_files()
    run_ffmpeg(compiled.argv, duration_s=compiled.duration_s, timeout_s=timeout_s, on_progress=on_progress,
               cancel_check=cancel_check)
    return RenderResult(out_path=out, compiled=compiled)
