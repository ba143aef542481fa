"""Render a validated timeline to an MP4 file with one ffmpeg process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vidlake.edit.compiler import CompiledEdit, Encoding, compile_edit
from vidlake.edit.validate import ValidatedEdit
from vidlake.ffmpeg import run

DEFAULT_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class RenderResult:
    """The written file and the command that made it (``compiled.filter_graph`` for job details)."""

    out_path: Path
    compiled: CompiledEdit


def render(
    validated: ValidatedEdit,
    out_path: str | Path,
    *,
    preview: bool = False,
    on_progress: Callable[[float], None] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    encoding: Encoding | None = None,
    cancel_check: Callable[[], bool] | None = None,
    on_compiled: Callable[[CompiledEdit], None] | None = None,
) -> RenderResult:
    """Compile ``validated`` (from :func:`vidlake.edit.validate_edit`, sources resolved) once and run
    ffmpeg once.

    ``preview=True`` renders a fast low-resolution draft; ``on_progress(percent)`` gets 0-100;
    ``timeout_s`` is the wall-clock limit in seconds; ``on_compiled(compiled)`` is called before ffmpeg
    starts (the render job stores the filter graph). Caption clips' ``sendcmd`` scripts
    (``compiled.files``) are written beside ``out_path`` before ffmpeg starts and deleted after.
    ffmpeg runs under :func:`vidlake.ffmpeg.run`'s limits (time, memory, process-group kill). Raises
    :class:`vidlake.ffmpeg.FFmpegError` (or ``FFmpegTimeoutError``/``FFmpegCancelledError``) if ffmpeg fails.
    """
    out = Path(out_path)
    compiled = compile_edit(validated, out, preview=preview, encoding=encoding)
    if on_compiled is not None:
        on_compiled(compiled)
    compiled.write_files()  # the sendcmd scripts of caption clips, beside the output
    try:
        run(compiled.argv, timeout_s=timeout_s, on_progress=on_progress, duration_s=compiled.duration_s,
            cancel_check=cancel_check)
    finally:
        compiled.remove_files()
    return RenderResult(out_path=out, compiled=compiled)
