"""The per-stream live pipeline: the ffmpeg command that turns an FLV byte stream on stdin into a live
HLS ladder, and the latency modes.

Each publish ("run") writes one HLS output per rung under ``run{n}/v{i}/``: rung 0 is the source itself
(no re-encoding, segments cut on the publisher's keyframes), the others are transcoded with x264
(``-tune zerolatency``, keyframes forced on segment boundaries, the publisher's CEA-608 captions carried
over with ``-a53cc``), audio copied into every rung. For RTMP
(FLV) input rung 0 is muxed in-process (:mod:`vidlake.live.segmenter`) and one ffmpeg per run writes the
transcoded rungs only (none when there are none: ``build_argv(..., passthrough=False)``); other input
(``input_format="mpegts"``) goes through ffmpeg for every rung, rung 0 as ``-c copy``. The playlists
viewers get are written by :mod:`vidlake.live.ingest` (sliding window, discontinuities between runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vidlake.ffmpeg import FFmpegCommand, MediaInput, ffmpeg_exe

#: Segment length per latency mode, in seconds.
SEGMENT_SECONDS = {"standard": 6.0, "reduced": 2.0, "low": 1.0}

#: LL-HLS part target per latency mode, in seconds (modes not listed have no partial segments). Parts are
#: cut on frame boundaries and never longer than this; only the in-process (RTMP) passthrough rung has them.
PART_SECONDS = {"low": 0.334}

#: How many part targets behind the live edge LL-HLS players stay (EXT-X-SERVER-CONTROL PART-HOLD-BACK;
#: RFC 8216bis asks for at least 2, 3 is its recommendation).
PART_HOLD_BACK_PARTS = 3

#: What the pipeline ffmpeg can read on stdin: ``flv`` (RTMP ingest) or ``mpegts`` (SRT ingest).
INPUT_FORMATS = ("flv", "mpegts")

#: How much of the stream the live playlist lists, in seconds (older segments stay for the recording).
LIVE_WINDOW_SECONDS = 30.0


@dataclass(frozen=True)
class Rung:
    """A transcoded rung: at most ``height`` pixels high, ``video_bitrate`` bits per second."""

    height: int
    video_bitrate: int


#: Default transcoded rungs below the passthrough rung (a rung is capped at the source height).
DEFAULT_RUNGS: tuple[Rung, ...] = (Rung(360, 800_000),)


@dataclass(frozen=True)
class LivePlan:
    """What one run of the pipeline produces. ``segment_s`` in seconds."""

    latency_mode: str
    segment_s: float
    rungs: tuple[Rung, ...]
    part_s: float | None = None  #: LL-HLS part target of the passthrough rung, seconds (None: no parts)

    @property
    def variant_count(self) -> int:
        """Passthrough rung plus transcoded rungs."""
        return 1 + len(self.rungs)

    @property
    def window_segments(self) -> int:
        """Segments listed in the live playlist (the sliding window)."""
        return max(3, round(LIVE_WINDOW_SECONDS / self.segment_s))


def plan(latency_mode: str, rungs: tuple[Rung, ...] = DEFAULT_RUNGS) -> LivePlan:
    """The plan for a latency mode (``standard``, ``reduced`` or ``low``)."""
    if latency_mode not in SEGMENT_SECONDS:
        raise ValueError(f"unknown latency mode {latency_mode!r}")
    return LivePlan(latency_mode=latency_mode, segment_s=SEGMENT_SECONDS[latency_mode], rungs=rungs,
                    part_s=PART_SECONDS.get(latency_mode))


def variant_dir(run: int, index: int) -> str:
    """Relative directory of rung ``index`` of run ``run`` (``run0/v0``)."""
    return f"run{run}/v{index}"


def _hls_options(segment_s: float, out_dir: Path, rel: str) -> list[str]:
    return [
        "-f", "hls",
        "-hls_time", f"{segment_s:g}",
        "-hls_list_size", "20",
        "-hls_flags", "independent_segments+temp_file",
        "-hls_segment_type", "mpegts",
        "-hls_segment_filename", str(out_dir / rel / "%05d.ts"),
    ]


def build_command(live_plan: LivePlan, out_dir: Path, run: int, *, preset: str = "veryfast",
                  threads: int | None = None, thumbnail: bool = False, input_format: str = "flv",
                  passthrough: bool = True) -> FFmpegCommand:
    """The command of :func:`build_argv` (without the executable)."""
    if input_format not in INPUT_FORMATS:
        raise ValueError(f"unknown input format {input_format!r}")
    if not passthrough and not live_plan.rungs:
        raise ValueError("no rung for ffmpeg to write")
    seg = live_plan.segment_s
    for i in range(0 if passthrough else 1, live_plan.variant_count):
        (out_dir / variant_dir(run, i)).mkdir(parents=True, exist_ok=True)
    cmd = FFmpegCommand(loglevel="warning")
    cmd.add_input(MediaInput.stdin(input_format, "-fflags", "+genpts"))
    if passthrough:
        cmd.add_output(out_dir / variant_dir(run, 0) / "index.m3u8",
                       ["-map", "0:v:0?", "-map", "0:a:0?", "-c", "copy",
                        *_hls_options(seg, out_dir, variant_dir(run, 0))])
    for i, rung in enumerate(live_plan.rungs, start=1):
        options = ["-map", "0:v:0?", "-map", "0:a:0?",
                   "-vf", f"scale=-2:'min({rung.height},ih)':flags=bilinear,format=yuv420p",
                   "-c:v", "libx264", "-preset", preset, "-tune", "zerolatency", "-profile:v", "main",
                   "-b:v", str(rung.video_bitrate), "-maxrate", str(rung.video_bitrate),
                   "-bufsize", str(rung.video_bitrate * 2), "-sc_threshold", "0",
                   "-force_key_frames", f"expr:gte(t,n_forced*{seg:g})", "-a53cc", "1", "-c:a", "copy"]
        if threads:
            options += ["-threads", str(threads)]
        cmd.add_output(out_dir / variant_dir(run, i) / "index.m3u8",
                       options + _hls_options(seg, out_dir, variant_dir(run, i)))
    if thumbnail:
        cmd.add_output(out_dir / "thumbnail.jpg",
                       ["-map", "0:v:0?", "-vf", f"fps=1/{seg:g},scale=-2:'min(360,ih)'", "-c:v", "mjpeg",
                        "-q:v", "5", "-f", "image2", "-update", "1", "-atomic_writing", "1"])
    return cmd


def build_argv(live_plan: LivePlan, out_dir: Path, run: int, *, preset: str = "veryfast",
               threads: int | None = None, ffmpeg: str | None = None, thumbnail: bool = False,
               input_format: str = "flv", passthrough: bool = True) -> list[str]:
    """ffmpeg argv: ``input_format`` (``flv`` or ``mpegts``) on stdin → ``out_dir/run{run}/v{i}/index.m3u8``
    (+ ``thumbnail.jpg`` every segment when ``thumbnail``: this decodes every frame, so live sessions use
    :func:`thumbnail_argv` on a segment every few seconds instead). Directories are created here.

    ``passthrough=False`` leaves rung 0 out (it is written in-process by
    :class:`~vidlake.live.segmenter.Segmenter`) and writes the transcoded rungs only; there must be some."""
    cmd = build_command(live_plan, out_dir, run, preset=preset, threads=threads, thumbnail=thumbnail,
                        input_format=input_format, passthrough=passthrough)
    return [ffmpeg or ffmpeg_exe(), *cmd.argv()]


def simulcast_argv(url: str, *, ffmpeg: str | None = None, input_format: str = "flv") -> list[str]:
    """ffmpeg argv restreaming ``input_format`` (``flv`` or ``mpegts``) on stdin to ``url`` (RTMP/RTMPS)
    without re-encoding."""
    if input_format not in INPUT_FORMATS:
        raise ValueError(f"unknown input format {input_format!r}")
    cmd = FFmpegCommand(loglevel="warning", overwrite=False)
    cmd.add_input(MediaInput.stdin(input_format))
    cmd.add_output(url, ["-map", "0", "-c", "copy", "-f", "flv"])
    return [ffmpeg or ffmpeg_exe(), *cmd.argv()]


def thumbnail_argv(segment: Path, dest: Path, *, ffmpeg: str | None = None) -> list[str]:
    """ffmpeg argv: the first keyframe of ``segment`` (an MPEG-TS segment written by the pipeline) → ``dest``
    (JPEG, at most 360 pixels high). Only keyframes are decoded."""
    cmd = FFmpegCommand()
    cmd.add_input(MediaInput(segment, "mpegts", trusted=True, skip_nonkey=True))
    cmd.add_output(dest, ["-map", "0:v:0", "-frames:v", "1", "-vf", "scale=-2:'min(360,ih)'", "-q:v", "5",
                          "-f", "image2", "-update", "1"])
    return [ffmpeg or ffmpeg_exe(), *cmd.argv()]
