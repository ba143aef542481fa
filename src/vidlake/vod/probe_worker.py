"""Probe one media file with PyAV; run as ``python -m vidlake.vod.probe_worker PATH [MAX_PIXELS]``.

It runs in a child process (see :func:`vidlake.vod.probe.probe`) so that a crashing or runaway
demuxer/decoder cannot take the caller down; the parent applies the time and memory limits. Only the
``file`` protocol and the demuxers in :data:`vidlake.ffmpeg.inputs.FORMAT_WHITELIST` may be used.
Prints one JSON object on stdout: ``{"ok": true, "result": {...}}`` or
``{"ok": false, "reason": CODE, "message": TEXT}``.
"""

from __future__ import annotations

import json
import os
import sys
from fractions import Fraction
from typing import Any

from vidlake.ffmpeg.inputs import FORMAT_WHITELIST

# AVColorTransferCharacteristic / AVColorPrimaries / AVFieldOrder values (libavutil/pixfmt.h).
_TRC = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear",
        13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084", 18: "arib-std-b67"}
_PRIMARIES = {1: "bt709", 5: "bt470bg", 6: "smpte170m", 9: "bt2020", 11: "smpte431", 12: "smpte432"}
_FIELD_ORDER = {0: "unknown", 1: "progressive", 2: "tt", 3: "bb", 4: "tb", 5: "bt"}
_MAX_DECODE_PACKETS = 400


class Rejected(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _rate(value: Fraction | None) -> float | None:
    if value is None or value <= 0:
        return None
    return round(float(value), 6)


def _truncated(stream: Any, size: int) -> bool:
    """True when the container index points past the end of the file (bytes)."""
    try:
        entries = stream.index_entries
        if not entries:
            return False
        last = entries[len(entries) - 1]
        return bool(last.pos + last.size > size)
    except Exception:  # index not available for this demuxer
        return False


def probe_file(path: str, max_pixels: int) -> dict[str, Any]:
    import av  # imported here: the parent process never loads FFmpeg's demuxers

    size = os.path.getsize(path)
    try:
        container = av.open(
            "file:" + os.path.abspath(path),
            mode="r",
            options={"protocol_whitelist": "file", "format_whitelist": FORMAT_WHITELIST},
            timeout=20.0,
        )
    except av.error.InvalidDataError as exc:
        raise Rejected("not_media", "the file is not a recognised audio or video file") from exc
    except av.error.FFmpegError as exc:
        raise Rejected("unsupported_container", f"the file's container is not accepted ({exc})") from exc

    with container:
        fmt = container.format.name
        videos = [s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
        audios = list(container.streams.audio)
        if not videos and not audios:
            raise Rejected("no_streams", "the file has no video or audio stream")
        duration_s = container.duration / 1_000_000 if container.duration else None
        result: dict[str, Any] = {
            "format_name": fmt,
            "size_bytes": size,
            "duration_s": duration_s,
            "bit_rate": container.bit_rate or None,
            "stream_count": len(container.streams),
            "video": None,
            "audio": None,
        }
        for s in (videos[:1] + audios[:1]):
            if _truncated(s, size):
                raise Rejected("truncated", "the file is truncated: its index points past the end of the file")

        if audios:
            a = audios[0]
            acc = a.codec_context
            result["audio"] = {
                "codec": acc.codec.canonical_name,
                "channels": acc.channels,
                "sample_rate": acc.sample_rate,
                "bit_rate": acc.bit_rate or None,
            }
            if duration_s is None and a.duration and a.time_base:
                result["duration_s"] = float(a.duration * a.time_base)

        if videos:
            v = videos[0]
            cc = v.codec_context
            width, height = cc.width, cc.height
            if width <= 0 or height <= 0:
                raise Rejected("undecodable", "the video stream has no valid dimensions")
            info: dict[str, Any] = {
                "codec": cc.codec.canonical_name,
                "width": width,
                "height": height,
                "sample_aspect_ratio": _rate(v.sample_aspect_ratio) or 1.0,
                "avg_frame_rate": _rate(v.average_rate),
                "r_frame_rate": _rate(v.base_rate),
                "pix_fmt": cc.pix_fmt,
                "bit_depth": None,
                "color_transfer": _TRC.get(cc.color_trc),
                "color_primaries": _PRIMARIES.get(cc.color_primaries),
                "field_order": _FIELD_ORDER.get(cc.field_order, "unknown"),
                "interlaced": cc.field_order in (2, 3, 4, 5),
                "rotation": 0,
            }
            if width * height > max_pixels:
                # Do not decode a frame this big; the parent rejects it on the pixel limit.
                result["video"] = info
                return result
            if duration_s is None and v.duration and v.time_base:
                result["duration_s"] = float(v.duration * v.time_base)
            frame = None
            container.seek(0)
            packets = 0
            try:
                for packet in container.demux(v):
                    packets += 1
                    for f in packet.decode():
                        frame = f
                        break
                    if frame is not None or packets >= _MAX_DECODE_PACKETS:
                        break
            except av.error.FFmpegError as exc:
                raise Rejected("undecodable", f"the video stream cannot be decoded ({exc})") from exc
            if frame is None:
                raise Rejected("undecodable", "no video frame could be decoded")
            info["rotation"] = int(frame.rotation) % 360
            info["interlaced"] = bool(info["interlaced"] or frame.interlaced_frame)
            info["pix_fmt"] = frame.format.name or info["pix_fmt"]
            info["bit_depth"] = max(c.bits for c in frame.format.components)
            if info["color_transfer"] is None:
                info["color_transfer"] = _TRC.get(frame.color_trc)
            result["video"] = info
        return result


def main(argv: list[str]) -> int:
    path = argv[0]
    max_pixels = int(argv[1]) if len(argv) > 1 else 7680 * 4320
    try:
        out: dict[str, Any] = {"ok": True, "result": probe_file(path, max_pixels)}
    except Rejected as exc:
        out = {"ok": False, "reason": exc.reason, "message": exc.message}
    sys.stdout.write(json.dumps(out))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
