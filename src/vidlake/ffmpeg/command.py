"""A typed ffmpeg command line.

:class:`FFmpegCommand` collects global options, inputs (:class:`~vidlake.ffmpeg.inputs.MediaInput`),
an optional ``-filter_complex`` graph and outputs, and renders the argv *without* the executable
(the runner adds it, and the ``-progress`` options). Every ffmpeg invocation in Vidlake is built here,
so the hardening options cannot be forgotten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vidlake.ffmpeg.inputs import MediaInput


@dataclass
class Output:
    """One output file: ``options`` come before ``target`` (``-map``, codecs, ``-f`` ...)."""

    target: str
    options: list[str] = field(default_factory=list)


@dataclass
class FFmpegCommand:
    """An ffmpeg invocation under construction.

    ``threads``: bounded worker threads for decoders/filters/encoders (``-threads``, and
    ``-filter_complex_threads``); ``None`` leaves ffmpeg's default (one per core).
    ``loglevel``: ffmpeg's ``-v`` level; ``error`` keeps stderr to what the error tail needs.
    ``extra_filter_graphs``: more ``-filter_complex`` graphs after ``filter_complex``; each runs in its
    own thread of the one process (the edit compiler keeps video and audio apart this way).
    ``overwrite``: ``-y`` (replace existing output files; meaningless for a URL output).
    """

    inputs: list[MediaInput] = field(default_factory=list)
    filter_complex: str | None = None
    outputs: list[Output] = field(default_factory=list)
    threads: int | None = None
    loglevel: str = "error"
    extra_global: list[str] = field(default_factory=list)
    extra_filter_graphs: list[str] = field(default_factory=list)
    overwrite: bool = True

    def add_input(self, media: MediaInput) -> int:
        """Append an input; returns its index for ``-map`` (``0``, ``1``...)."""
        self.inputs.append(media)
        return len(self.inputs) - 1

    def add_output(self, target: str | Path, options: Sequence[str]) -> Output:
        """Append an output file (or ``-`` / ``pipe:1``) with its options."""
        out = Output(str(target), list(options))
        self.outputs.append(out)
        return out

    def argv(self) -> list[str]:
        """The full argument list after the executable name."""
        if not self.outputs:
            raise ValueError("an ffmpeg command needs at least one output")
        args: list[str] = ["-nostdin", "-hide_banner", *(["-y"] if self.overwrite else []), "-v", self.loglevel]
        if self.threads is not None:
            if self.threads < 1:
                raise ValueError("threads must be >= 1")
            args += ["-filter_complex_threads", str(self.threads)]
        args += self.extra_global
        for media in self.inputs:
            if self.threads is not None:
                args += ["-threads", str(self.threads)]  # decoder threads for this input
            args += media.args()
        for graph in [self.filter_complex or "", *self.extra_filter_graphs]:
            if graph:
                args += ["-filter_complex", graph]
        for out in self.outputs:
            args += out.options
            if self.threads is not None and "-threads" not in out.options:
                args += ["-threads", str(self.threads)]
            args.append(out.target)
        return args
