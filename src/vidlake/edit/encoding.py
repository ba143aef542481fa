"""What compiling an edit produces (:class:`CompiledEdit`) and the encoder settings it uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Encoding:
    """Encoder settings: x264 ``preset`` and ``crf`` (quality, lower is better), AAC bit rate in bits
    per second, and ``threads`` (``None``: ffmpeg decides)."""

    preset: str = "veryfast"
    crf: int = 20
    audio_bitrate: int = 160_000
    threads: int | None = None


PREVIEW_ENCODING = Encoding(preset="ultrafast", crf=32, audio_bitrate=96_000)


@dataclass(frozen=True)
class CompiledEdit:
    """The command to run (``argv`` without the ffmpeg executable), the filter graph on its own (for
    job details and debugging), and what the output will be: seconds, pixels, frames per second.

    ``filter_graph`` is the whole graph as one string (valid for a single ``-filter_complex``); the
    command passes it as its ``video_graph`` and ``audio_graph`` halves (see :func:`compile_edit`).

    ``files`` are the files the command reads beside its inputs (path -> UTF-8 text: the ``sendcmd``
    scripts of caption clips, which can exceed the 128 KiB a single argument may have). Their paths are
    chosen by the compiler beside the output, never taken from the document; the caller writes them with
    :meth:`write_files` before running ``argv`` and may delete them after with :meth:`remove_files`."""

    argv: list[str]
    filter_graph: str
    video_graph: str
    audio_graph: str
    duration_s: float
    width: int
    height: int
    fps: int
    files: dict[str, str] = field(default_factory=dict)

    def write_files(self) -> None:
        """Write :attr:`files` (next to the output)."""
        for path, text in self.files.items():
            Path(path).write_text(text, encoding="utf-8")

    def remove_files(self) -> None:
        """Delete :attr:`files` (after ffmpeg has run)."""
        for path in self.files:
            Path(path).unlink(missing_ok=True)
