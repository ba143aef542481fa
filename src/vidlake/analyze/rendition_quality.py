"""Full-reference quality of renditions: VMAF, SSIM and PSNR against the source.

One ffmpeg pass per rendition runs ``libvmaf`` (the static ffmpeg has the ``vmaf_v0.6.1`` model built
in: the filter's default ``model=version=vmaf_v0.6.1`` needs no model file) with the extra
``psnr`` and ``float_ssim`` features, so VMAF, SSIM (luma) and PSNR (Y, Cb, Cr) come from one
comparison and one JSON log. The rendition is scaled (bicubic) up to the reference size; the
reference is the source at its own size, capped at ``max_height`` lines (both are scaled to the cap
when the source is larger, which keeps 4K sources affordable and matches VMAF's 1080p viewing
model). Both streams start at time zero (``setpts=PTS-STARTPTS``); frames are paired by timestamp.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av

from vidlake.analyze.audio_quality import filter_path, media_input
from vidlake.ffmpeg import PYAV_OPTIONS, FFmpegCommand, MediaInput, run

#: Mean VMAF below this is flagged ``low_vmaf`` (0-100 scale; ~70 is "fair" on a 1080p TV).
LOW_VMAF = 60.0


@dataclass(frozen=True)
class RenditionScore:
    """Scores of one rendition against the source. ``vmaf``: mean VMAF (0-100), ``vmaf_min``,
    ``vmaf_harmonic_mean``; ``ssim``: mean luma SSIM (0-1); ``psnr_y``/``psnr_cb``/``psnr_cr``: mean
    PSNR (dB, libvmaf caps identical 8-bit frames at 60 dB); ``frames``: compared frame pairs;
    ``width``/``height``: compared size (pixels)."""

    vmaf: float
    vmaf_min: float
    vmaf_harmonic_mean: float
    ssim: float
    psnr_y: float
    psnr_cb: float
    psnr_cr: float
    frames: int
    width: int
    height: int


def _video_size(path: Path) -> tuple[int, int]:
    with av.open(str(path), mode="r", options=PYAV_OPTIONS) as container:
        if not container.streams.video:
            raise ValueError(f"{path} has no video stream")
        ctx = container.streams.video[0].codec_context
        return int(ctx.width), int(ctx.height)


def _rendition_input(path: Path) -> MediaInput:
    if path.suffix.lower() in (".m3u8", ".mp4", ".m4v"):
        return MediaInput.trusted_output(path)
    return media_input(path)


def compare(
    rendition: Path,
    source: Path,
    work_dir: Path,
    *,
    max_height: int = 1080,
    subsample: int = 1,
    threads: int = 2,
    timeout_s: float = 3600.0,
) -> RenditionScore:
    """VMAF/SSIM/PSNR of ``rendition`` against ``source``.

    ``max_height``: largest compared height in pixels; ``subsample``: score one frame in
    ``subsample`` (libvmaf ``n_subsample``; 1 scores every frame); ``threads``: libvmaf threads;
    ``timeout_s``: wall-clock limit in seconds. Scratch files go to ``work_dir``.
    """
    width, height = _video_size(source)
    if height > max_height:
        width, height = round(width * max_height / height / 2) * 2, max_height
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / f"vmaf_{rendition.stem}.json"
    cmd = FFmpegCommand(loglevel="error", threads=threads)
    cmd.add_input(_rendition_input(rendition))
    cmd.add_input(media_input(source))
    cmd.filter_complex = (
        f"[0:v:0]scale={width}:{height}:flags=bicubic,setsar=1,setpts=PTS-STARTPTS,format=yuv420p[d];"
        f"[1:v:0]scale={width}:{height}:flags=bicubic,setsar=1,setpts=PTS-STARTPTS,format=yuv420p[r];"
        f"[d][r]libvmaf=feature=name=psnr|name=float_ssim:log_fmt=json:log_path={filter_path(log)}"
        f":n_threads={threads}:n_subsample={subsample}:shortest=1[v]"
    )
    cmd.add_output("-", ["-map", "[v]", "-f", "null"])
    try:
        run(cmd, timeout_s=timeout_s)
        data = json.loads(log.read_text(encoding="utf-8"))
    finally:
        log.unlink(missing_ok=True)
    pooled: dict[str, dict[str, float]] = data["pooled_metrics"]
    return RenditionScore(
        vmaf=pooled["vmaf"]["mean"],
        vmaf_min=pooled["vmaf"]["min"],
        vmaf_harmonic_mean=pooled["vmaf"]["harmonic_mean"],
        ssim=pooled["float_ssim"]["mean"],
        psnr_y=pooled["psnr_y"]["mean"],
        psnr_cb=pooled["psnr_cb"]["mean"],
        psnr_cr=pooled["psnr_cr"]["mean"],
        frames=len(data.get("frames", [])),
        width=width,
        height=height,
    )


def rendition_report(source: Path, renditions: dict[str, Path], work_dir: Path) -> dict[str, Any]:
    """The JSON report of the ``"rendition_quality"`` analysis:
    ``{"renditions": {name: scores}, "flags": ["low_vmaf:<name>", ...]}``."""
    scores: dict[str, Any] = {}
    flags: list[str] = []
    for name, path in sorted(renditions.items()):
        score = compare(Path(path), source, work_dir)
        scores[name] = {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(score).items()}
        if score.vmaf < LOW_VMAF:
            flags.append(f"low_vmaf:{name}")
    return {"renditions": scores, "flags": flags}
