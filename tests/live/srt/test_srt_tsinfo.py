"""The MPEG-TS inspector against transport streams written by ffmpeg (counts checked with PyAV)."""

from __future__ import annotations

import random
from pathlib import Path

import av
import pytest
from srt_media import FPS, GOP, SECONDS, MakeTs, h264_aac_args

from vidlake.live.srt.tsinfo import TS_PACKET, TsInspector, crc32_mpeg2, iter_adts, parse_h264_sps, parse_pts
from vidlake.live.stats import SessionStats


def inspect(data: bytes, chunks: list[int] | None = None) -> TsInspector:
    ins = TsInspector()
    i = 0
    sizes = iter(chunks or [])
    while i < len(data):
        n = next(sizes, 1316)
        ins.feed(data[i:i + n], now=1000.0)
        i += n
    ins.flush(now=1000.0)
    return ins


def packet_counts(path: Path) -> dict[str, int]:
    """Packets per stream type as PyAV demuxes them (one video packet = one frame)."""
    counts = {"video": 0, "audio": 0}
    with av.open(str(path)) as c:
        for pkt in c.demux():
            if pkt.size and pkt.stream.type in counts:
                counts[pkt.stream.type] += 1
    return counts


def test_h264_aac_stream(sample_ts: Path) -> None:
    data = sample_ts.read_bytes()
    ins = inspect(data)
    s = ins.snapshot()
    counts = packet_counts(sample_ts)
    assert (s.video_codec, s.audio_codec) == ("h264", "aac")
    assert (s.width, s.height) == (320, 180)
    assert s.fps == pytest.approx(FPS)
    assert s.video_codec_string is not None and s.video_codec_string.startswith("avc1.")
    assert s.video_frames == counts["video"] == FPS * SECONDS
    assert s.keyframes == SECONDS * FPS // GOP
    assert s.keyframe_interval_s == pytest.approx(GOP / FPS, abs=0.002)
    assert s.measured_fps == pytest.approx(FPS, rel=0.01)
    # AAC frames of 1024 samples; ffmpeg packs several ADTS frames into one PES
    assert s.audio_frames == counts["audio"]
    assert s.audio_sample_rate == 48000 and s.audio_channels == 1
    assert s.bytes_received == len(data)
    assert 0 < s.media_bytes < len(data)
    expected_bps = s.media_bytes * 8 / SECONDS
    assert s.bitrate_bps == pytest.approx(expected_bps, rel=0.1)
    assert s.last_frame_at == 1000.0
    assert s.last_timestamp_ms is not None and (SECONDS - 0.2) * 1000 < s.last_timestamp_ms < SECONDS * 1000
    assert ins.resyncs == 0 and ins.cc_errors == 0


def _without_time(s: SessionStats) -> tuple[object, ...]:
    return tuple(v for k, v in vars(s).items() if k != "last_frame_at")


def test_any_chunking_gives_the_same_numbers(sample_ts: Path) -> None:
    data = sample_ts.read_bytes()
    rng = random.Random(7)
    chunks = [rng.choice([1, 7, 100, 187, 189, 1316, 5000]) for _ in range(len(data))]
    assert _without_time(inspect(data, chunks).snapshot()) == _without_time(inspect(data).snapshot())


def test_garbage_between_packets_is_skipped(sample_ts: Path) -> None:
    data = sample_ts.read_bytes()
    rng = random.Random(3)
    noisy = bytearray()
    for i in range(0, len(data), TS_PACKET):
        if i % (TS_PACKET * 50) == 0:
            noisy += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))).replace(b"\x47", b"\x00")
        noisy += data[i:i + TS_PACKET]
    ins = inspect(bytes(noisy))
    s = ins.snapshot()
    assert ins.resyncs > 0
    assert s.video_frames == FPS * SECONDS and s.keyframes == SECONDS * FPS // GOP
    assert (s.width, s.height) == (320, 180)


def test_pure_noise_never_raises() -> None:
    rng = random.Random(11)
    ins = TsInspector()
    for _ in range(200):
        junk = bytearray(rng.randbytes(rng.randrange(1, 3000)))
        for j in range(0, len(junk), 188):  # some fake sync bytes, so packets get parsed too
            junk[j] = 0x47
        ins.feed(bytes(junk))
    ins.flush()
    s = ins.snapshot()
    assert s.video_frames == 0 or s.video_codec is not None


def test_keyframes_found_without_random_access_indicator(sample_ts: Path) -> None:
    """Clear every adaptation field's random_access_indicator: IDR NAL units still mark keyframes."""
    data = bytearray(sample_ts.read_bytes())
    cleared = 0
    for i in range(0, len(data), TS_PACKET):
        if data[i + 3] & 0x20 and data[i + 4] > 0 and data[i + 5] & 0x40:
            data[i + 5] &= ~0x40 & 0xFF
            cleared += 1
    assert cleared >= SECONDS * FPS // GOP
    s = inspect(bytes(data)).snapshot()
    assert s.keyframes == SECONDS * FPS // GOP


def test_cropped_size_from_sps(make_ts: MakeTs) -> None:
    s = inspect(make_ts("cropped", h264_aac_args(), seconds=1, size="318x178").read_bytes()).snapshot()
    assert (s.width, s.height) == (318, 178)


def test_hevc_and_opus(make_ts: MakeTs) -> None:
    x265 = ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "keyint=15:min-keyint=15:log-level=error"]
    path = make_ts("hevc_opus", [*x265, "-c:a", "libopus", "-ar", "48000"], seconds=2)
    s = inspect(path.read_bytes()).snapshot()
    counts = packet_counts(path)
    assert (s.video_codec, s.audio_codec) == ("hevc", "opus")
    assert s.video_frames == counts["video"] == 2 * FPS
    assert s.keyframes == 2 * FPS // 15
    assert s.keyframe_interval_s == pytest.approx(0.5, abs=0.002)


def raw_pes_timestamps(data: bytes) -> list[int]:
    """PTS (90 kHz, as written, 33 bits) of every PES start in ``data``."""
    out = []
    for i in range(0, len(data) - TS_PACKET + 1, TS_PACKET):
        pkt = data[i:i + TS_PACKET]
        if not pkt[1] & 0x40 or (pkt[1] & 0x1F) << 8 | pkt[2] < 0x100:
            continue
        start = 5 + pkt[4] if pkt[3] & 0x20 else 4
        pes = pkt[start:]
        if pes[:3] == b"\x00\x00\x01" and pes[7] & 0x80:
            out.append(parse_pts(pes, 9))
    return out


def test_timestamps_unwrap_past_33_bits(make_ts: MakeTs) -> None:
    """Start 1 s before the 33-bit PTS wrap (2**33 / 90 kHz = 95443.72 s; ffmpeg adds a 1.4 s mux
    delay): the raw timestamps jump back to 0 mid-stream, the rates stay right."""
    path = make_ts("wrap", h264_aac_args(), extra=["-output_ts_offset", "95441.3"])
    data = path.read_bytes()
    raw = raw_pes_timestamps(data)
    assert max(raw) > 2**33 - 2 * 90_000 and min(raw) < 2 * 90_000  # the file really wraps
    s = inspect(data).snapshot()
    assert s.video_frames == FPS * SECONDS
    assert s.measured_fps == pytest.approx(FPS, rel=0.01)
    assert s.keyframe_interval_s == pytest.approx(GOP / FPS, abs=0.002)
    assert s.last_timestamp_ms is not None and 0 < s.last_timestamp_ms < SECONDS * 1000


def test_crc32_mpeg2_of_a_section_with_its_crc_is_zero(sample_ts: Path) -> None:
    pkt = sample_ts.read_bytes()[:TS_PACKET]  # ffmpeg starts with the SDT/PAT
    pointer = pkt[4]
    sec = pkt[5 + pointer:]
    total = 3 + (((sec[1] & 0x0F) << 8) | sec[2])
    assert crc32_mpeg2(sec[:total]) == 0
    assert crc32_mpeg2(sec[:total - 1] + bytes([sec[total - 1] ^ 1])) != 0


def test_sps_and_adts_parsers_refuse_junk() -> None:
    with pytest.raises(ValueError):
        parse_h264_sps(b"\x67\x64")
    with pytest.raises(ValueError):
        parse_h264_sps(b"\x68" + bytes(20))  # a PPS, not an SPS
    assert iter_adts(b"\xff\xf1" + bytes(3)) == []
    assert iter_adts(b"not adts at all") == []
