"""LL-HLS parts from the in-process passthrough rung: :class:`Segmenter` with ``part_target_s`` cuts every
segment into parts on frame boundaries, each a transport stream of its own that decodes alone, whose bytes
put together are the segment's."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import av
import pytest

from vidlake.ffmpeg import ffmpeg_exe
from vidlake.live.rtmp import flv
from vidlake.live.segmenter import Segmenter

FPS = 30
SECONDS = 3
PART_S = 0.334


def _flv(path: Path, *, video: bool) -> Path:
    argv = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    if video:
        argv += ["-f", "lavfi", "-i", f"testsrc2=size=320x180:rate={FPS}"]
    argv += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", str(SECONDS)]
    if video:
        argv += ["-c:v", "libx264", "-g", str(FPS), "-pix_fmt", "yuv420p"]
    subprocess.run([*argv, "-c:a", "aac", "-b:a", "64k", "-f", "flv", str(path)], check=True, timeout=60)
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("flv-parts")
    return {"av": _flv(root / "av.flv", video=True), "audio": _flv(root / "audio.flv", video=False)}


@dataclass
class Cut:
    events: list[tuple[str, str, float, bool]] = field(default_factory=list)  # (kind, name, seconds, independent)

    def segments(self) -> list[tuple[str, float, list[tuple[str, float, bool]]]]:
        """(segment, duration, its parts) in order."""
        out, parts = [], []
        for kind, name, duration, independent in self.events:
            if kind == "part":
                parts.append((name, duration, independent))
            else:
                out.append((name, duration, parts))
                parts = []
        assert not parts, "parts after the last segment"
        return out


def _run(source: Path, out: Path) -> Cut:
    cut = Cut()
    seg = Segmenter(out, 1.0, lambda name, d: cut.events.append(("segment", name, d, True)), part_target_s=PART_S,
                    on_part=lambda name, d, ind: cut.events.append(("part", name, d, ind)))
    reader = flv.FlvStreamReader()
    for tag in reader.feed(source.read_bytes()):
        seg.feed(tag)
    seg.close()
    return cut


def _frames(path: Path) -> list[tuple[str, int]]:
    """(stream type, pts in 90 kHz ticks) of every decoded frame, video and audio, sorted."""
    with av.open(str(path)) as container:
        return sorted((f"{frame.__class__.__name__[:5].lower()}", int(frame.pts or 0))
                      for frame in container.decode(*container.streams))


def _frames_of_parts(paths: list[Path]) -> tuple[list[tuple[str, int]], list[int]]:
    """Each part file demuxed on its own, its video packets fed to a decoder that runs on across parts
    (as a player does; a part that does not start with a keyframe needs the pictures before it):
    (stream type, pts) of every frame, sorted, and the packet count of each part."""
    decoders: dict[str, av.CodecContext] = {}
    frames: list[tuple[str, int]] = []
    counts = []
    for path in paths:
        n = 0
        with av.open(str(path)) as container:
            for packet in container.demux():
                if packet.size == 0:
                    continue
                n += 1
                kind = packet.stream.type
                if kind == "audio":  # every AAC frame decodes alone
                    frames += [(kind, int(f.pts or 0)) for f in packet.decode()]
                    continue
                ctx = decoders.setdefault(kind, av.CodecContext.create(packet.stream.codec_context.name, "r"))
                frames += [(kind, int(f.pts or 0)) for f in ctx.decode(packet)]
        counts.append(n)
    for kind, ctx in decoders.items():
        frames += [(kind, int(f.pts or 0)) for f in ctx.decode(None)]
    return sorted(frames), counts


@pytest.mark.parametrize("kind", ["av", "audio"])
def test_parts_make_up_each_segment(sources: dict[str, Path], tmp_path: Path, kind: str) -> None:
    cut = _run(sources[kind], tmp_path)
    segments = cut.segments()
    assert len(segments) >= 2
    for n, (name, duration, parts) in enumerate(segments):
        assert len(parts) >= 2, (name, parts)
        assert all(p[0].startswith(f"parts/{name[:-3]}.") for p in parts)
        # Never above the part target, but the publish's very last part: it runs to the end of its last
        # frame, which may be audio sent past the last picture.
        bounded = parts[:-1] if n == len(segments) - 1 else parts
        assert all(0 < d <= PART_S + 1e-9 for _, d, _ in bounded), parts
        assert sum(d for _, d, _ in parts) == pytest.approx(duration, abs=1e-6)
        assert parts[0][2] is True  # a segment starts with a keyframe
        if kind == "av":  # only the part opening the segment starts with a keyframe (1 s GOP, 1 s segments)
            assert [p[2] for p in parts[1:]] == [False] * (len(parts) - 1)
        data = [(tmp_path / p[0]).read_bytes() for p in parts]
        assert all(len(d) % 188 == 0 and d[0] == 0x47 and d[5] == 0x00 for d in data)  # PAT first
        assert b"".join(data) == (tmp_path / name).read_bytes()  # the segment is its parts, byte for byte
        joined = tmp_path / "joined.ts"
        joined.write_bytes(b"".join(data))
        assert _frames(joined) == _frames(tmp_path / name)
        if kind == "av":  # ffmpeg's probe takes a part of two AAC frames alone (audio-only) for MP2
            first = _frames(tmp_path / parts[0][0])  # an independent part decodes alone
            assert any(k == "video" for k, _ in first)
            frames, counts = _frames_of_parts([tmp_path / p[0] for p in parts])
            assert all(counts), f"a part of {name} demuxes to nothing: {counts}"
            assert frames == _frames(tmp_path / name)  # the parts one by one decode what the segment does


def test_no_parts_without_a_part_target(sources: dict[str, Path], tmp_path: Path) -> None:
    names: list[str] = []
    seg = Segmenter(tmp_path, 1.0, lambda name, d: names.append(name))
    for tag in flv.FlvStreamReader().feed(sources["av"].read_bytes()):
        seg.feed(tag)
    seg.close()
    assert names and not (tmp_path / "parts").exists()
