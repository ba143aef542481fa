"""The analyser contract and the driver that feeds one decode to many analysers.

An :class:`Analyser` sees every frame of one run through :meth:`Analyser.process` and returns a
JSON-ready dict from :meth:`Analyser.result`. :func:`run_analysers` decodes the file once with
:func:`vidlake.analyze.frames.read_frames` and hands each frame to every analyser in turn.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from vidlake.analyze.frames import ALLOWED_FORMATS, Frame, VideoInfo, read_frames


class Analyser(ABC):
    """One analysis over a stream of frames.

    Subclasses set ``name`` (the key of their result in :func:`run_analysers`' output) and implement
    :meth:`process`; :meth:`result` is called once after the last frame. :meth:`begin` is an optional
    hook called before the first frame with the stream description.
    """

    name: ClassVar[str] = "analyser"
    #: Smallest frame short side (pixels) this analyser needs; the run decodes at the largest asked.
    short_side: ClassVar[int] = 160

    def begin(self, info: VideoInfo) -> None:  # noqa: B027 - optional hook
        """Receive the stream description before the first frame (default: ignore it)."""

    @abstractmethod
    def process(self, frame: Frame) -> None:
        """Consume one frame (frames arrive in presentation order)."""

    @abstractmethod
    def result(self) -> dict[str, Any]:
        """Return the analysis as JSON-serialisable data (times in seconds)."""


def run_analysers(
    path: str | os.PathLike[str],
    analysers: Sequence[Analyser],
    *,
    short_side: int | None = None,
    step: int = 1,
    fast: bool = True,
    container_format: str | None = None,
    allowed_formats: frozenset[str] = ALLOWED_FORMATS,
    threads: str = "AUTO",
    workers: int = 0,
) -> dict[str, dict[str, Any]]:
    """Decode ``path`` once and run every analyser over it; return ``{analyser.name: result}``.

    Decoding options are those of :func:`~vidlake.analyze.frames.read_frames`; ``short_side``
    defaults to the largest :attr:`Analyser.short_side` of ``analysers``. The output also has a
    ``"video"`` entry describing the stream (sizes in pixels, ``fps`` in frames per second,
    ``duration`` and ``analysed_until`` in seconds, ``frames`` analysed).
    """
    names = [a.name for a in analysers]
    if len(set(names)) != len(names) or "video" in names:
        raise ValueError(f"analyser names must be unique and not 'video': {names}")
    info_box: list[VideoInfo] = []
    frames = 0
    last_time = 0.0
    started = False
    for frame in read_frames(
        path,
        short_side=short_side or max((a.short_side for a in analysers), default=160),
        step=step,
        fast=fast,
        container_format=container_format,
        allowed_formats=allowed_formats,
        info_out=info_box,
        threads=threads,
        workers=workers,
    ):
        if not started:
            for analyser in analysers:
                analyser.begin(info_box[0])
            started = True
        for analyser in analysers:
            analyser.process(frame)
        frames += 1
        last_time = frame.time
    if not started and info_box:
        for analyser in analysers:
            analyser.begin(info_box[0])
    out: dict[str, dict[str, Any]] = {a.name: a.result() for a in analysers}
    info = info_box[0] if info_box else None
    out["video"] = {
        "width": info.width if info else 0,
        "height": info.height if info else 0,
        "frame_width": info.frame_width if info else 0,
        "frame_height": info.frame_height if info else 0,
        "fps": info.fps if info else 0.0,
        "duration": info.duration if info else 0.0,
        "frames": frames,
        "analysed_until": last_time,
    }
    return out
