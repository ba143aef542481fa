"""Auto-reframe: a 9:16 (or 1:1, any ratio) version of a video whose crop window follows faces.

The window's path is planned by :func:`vidlake.analyze.crop_plan.plan_crop` from faces
(:class:`~vidlake.analyze.faces.FaceDetector`), salient motion
(:class:`~vidlake.analyze.motion_saliency.MotionSaliency`) and scene cuts.

Rendering (:func:`render_plan`): ONE ffmpeg process, ``sendcmd`` driving ``crop``'s ``x``/``y``
expressions with one linear piece per kept keyframe (collinear keyframes are merged), so the window
moves smoothly between keyframes at the video's own frame rate; H.264 MP4 output, audio re-encoded to
AAC when present.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from vidlake.analyze.base import run_analysers
from vidlake.analyze.crop_plan import CropPlan, plan_crop
from vidlake.analyze.faces import FaceDetector
from vidlake.analyze.motion_saliency import MotionSaliency
from vidlake.ffmpeg import PYAV_OPTIONS, FFmpegCommand, MediaInput, run


@dataclass
class ReframeResult:
    """A rendered reframe: ``path`` (MP4), output ``width``/``height`` (pixels), ``aspect`` asked,
    ``plan`` followed, ``face_fraction`` of plan keyframes that followed a face (0..1)."""

    path: Path
    width: int
    height: int
    aspect: str
    plan: CropPlan
    face_fraction: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {"path": str(self.path), "width": self.width, "height": self.height, "aspect": self.aspect,
                "face_fraction": round(self.face_fraction, 3), "plan": self.plan.to_dict()}


def _probe(path: str) -> tuple[int, int, float, str]:
    with av.open(path, options=PYAV_OPTIONS) as container:
        stream = container.streams.video[0]
        duration = float(container.duration) / 1_000_000 if container.duration else 0.0
        if not duration and stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        return stream.codec_context.width, stream.codec_context.height, duration, container.format.name


def _has_audio(path: str) -> bool:
    with av.open(path, options=PYAV_OPTIONS) as container:
        return bool(container.streams.audio)


def render_plan(
    path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    plan: CropPlan,
    *,
    format_name: str = "mov",
    duration: float | None = None,
    out_size: tuple[int, int] | None = None,
    crf: int = 20,
    preset: str = "veryfast",
    timeout_s: float = 3600.0,
    cancel_check: Callable[[], bool] | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> None:
    """Render ``plan`` with one ffmpeg process (sendcmd + crop, optional scale to ``out_size`` pixels)."""
    with tempfile.TemporaryDirectory(prefix="vidlake-reframe-") as tmp:
        script = Path(tmp) / "crop.cmd"
        script.write_text(plan.sendcmd_script())
        fixed = plan.ys[0] if plan.axis == "x" else plan.xs[0]
        other = "y" if plan.axis == "x" else "x"
        if "'" in str(script):
            raise ValueError(f"unusable temporary path {script}")
        chain = (f"[0:v:0]sendcmd=f='{script}',"
                 f"crop=w={plan.crop_width}:h={plan.crop_height}:{plan.axis}=0:{other}={int(fixed)}:exact=1")
        if out_size:
            chain += f",scale={out_size[0]}:{out_size[1]}:flags=lanczos"
        chain += ",setsar=1,format=yuv420p[v]"
        cmd = FFmpegCommand(filter_complex=chain)
        cmd.add_input(MediaInput.untrusted(Path(path), format_name))
        options = ["-map", "[v]", "-c:v", "libx264", "-preset", preset, "-crf", str(crf),
                   "-movflags", "+faststart"]
        if _has_audio(os.fspath(path)):
            options += ["-map", "0:a:0", "-c:a", "aac", "-b:a", "128k"]
        cmd.add_output(Path(out_path), options)
        run(cmd, timeout_s=timeout_s, duration_s=duration, cancel_check=cancel_check, on_progress=on_progress)


def reframe(
    path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    aspect: str = "9:16",
    faces_result: dict[str, Any] | None = None,
    *,
    motion_result: dict[str, Any] | None = None,
    scenes_result: dict[str, Any] | None = None,
    out_size: tuple[int, int] | None = None,
    crf: int = 20,
    preset: str = "veryfast",
    timeout_s: float = 3600.0,
    cancel_check: Callable[[], bool] | None = None,
    on_progress: Callable[[float], None] | None = None,
    **plan_options: Any,
) -> ReframeResult:
    """Make an ``aspect`` (e.g. ``"9:16"``, ``"1:1"``) MP4 of ``path`` that follows faces.

    Without ``faces_result`` the file is analysed first (faces and motion in one decode). With it,
    motion is only used if ``motion_result`` is given. ``scenes_result`` (a ``scenes`` analysis) lets
    the window jump at cuts. ``out_size``: scale the crop to (width, height) pixels (even numbers);
    default keeps the crop's own size. ``plan_options`` go to :func:`plan_crop`.
    """
    text = os.fspath(path)
    width, height, duration, format_name = _probe(text)
    if faces_result is None:
        out = run_analysers(text, [FaceDetector(), MotionSaliency()])
        faces_result, motion_result = out["faces"], out["motion"]
        duration = duration or float(out["video"]["analysed_until"])
    cuts = [float(s["start"]) for s in (scenes_result or {}).get("scenes", [])[1:]]
    plan = plan_crop(width, height, duration, aspect, faces_result=faces_result, motion_result=motion_result,
                     cuts=cuts, **plan_options)
    render_plan(text, out_path, plan, format_name=format_name, duration=duration, out_size=out_size, crf=crf,
                preset=preset, timeout_s=timeout_s, cancel_check=cancel_check, on_progress=on_progress)
    w, h = out_size if out_size else (plan.crop_width, plan.crop_height)
    face_fraction = plan.sources.count("face") / max(1, len(plan.sources))
    return ReframeResult(Path(out_path), w, h, aspect, plan, face_fraction)
