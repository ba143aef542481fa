from __future__ import annotations

from pathlib import Path

import pytest

from vidlake.package import hls, hls_uris

MEDIA = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:5
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init_0.mp4"
#EXTINF:2.000000,
seg_00005.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00Z
#EXTINF:1.5,title
seg_00006.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="init_1.mp4"
#EXTINF:2,
seg_00007.m4s?x=1
"""

MASTER = (
    "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English, main",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,'
    'CHANNELS="2",URI="audio/index.m3u8"\n'
    '#EXT-X-STREAM-INF:BANDWIDTH=5500000,AVERAGE-BANDWIDTH=5000000,RESOLUTION=1920x1080,'
    'CODECS="avc1.640028,mp4a.40.2",FRAME-RATE=29.970,AUDIO="aud",HDCP-LEVEL=NONE\n'
    """1080p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,AUDIO="aud"
360p/index.m3u8
"""
)


def test_parse_media() -> None:
    pl = hls.parse(MEDIA)
    assert isinstance(pl, hls.MediaPlaylist)
    assert (pl.version, pl.target_duration, pl.media_sequence, pl.playlist_type) == (7, 2, 5, "EVENT")
    assert pl.independent_segments and not pl.endlist
    assert [s.uri for s in pl.segments] == ["seg_00005.m4s", "seg_00006.m4s", "seg_00007.m4s?x=1"]
    assert [s.duration for s in pl.segments] == [2.0, 1.5, 2.0] and pl.duration == 5.5
    assert [s.init_uri for s in pl.segments] == ["init_0.mp4", "init_0.mp4", "init_1.mp4"]
    assert [s.discontinuity for s in pl.segments] == [False, False, True]
    assert pl.segments[1].title == "title"
    assert pl.segments[1].extra_tags == ["#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00Z"]


def test_media_round_trip() -> None:
    pl = hls.parse_media(MEDIA)
    again = hls.parse_media(hls.dumps(pl))
    assert again == pl


def test_finalized_is_vod() -> None:
    text = hls.dumps(hls.parse_media(MEDIA).finalized())
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.endswith("#EXT-X-ENDLIST\n")
    assert "EVENT" not in text


def test_parse_master_with_quoted_commas() -> None:
    pl = hls.parse(MASTER)
    assert isinstance(pl, hls.MasterPlaylist)
    assert pl.renditions[0].name == "English, main" and pl.renditions[0].language == "en"
    assert pl.renditions[0].default and pl.renditions[0].channels == "2"
    top = pl.variants[0]
    assert (top.bandwidth, top.average_bandwidth, top.resolution) == (5_500_000, 5_000_000, (1920, 1080))
    assert top.codecs == "avc1.640028,mp4a.40.2" and top.frame_rate == pytest.approx(29.97)
    assert top.audio == "aud" and top.extra_attributes == {"HDCP-LEVEL": "NONE"}
    assert pl.variants[1].average_bandwidth is None
    assert hls.parse_master(hls.dumps(pl)) == pl


def test_rewrite_uris_for_tokens() -> None:
    add = hls_uris.append_query("token=abc")
    media = hls_uris.rewrite_uris(hls.parse_media(MEDIA), add)
    text = hls.dumps(media)
    assert 'URI="init_0.mp4?token=abc"' in text and "seg_00005.m4s?token=abc" in text
    assert "seg_00007.m4s?x=1&token=abc" in text
    master = hls.dumps(hls_uris.rewrite_uris(hls.parse_master(MASTER), add))
    assert "1080p/index.m3u8?token=abc" in master and 'URI="audio/index.m3u8?token=abc"' in master


@pytest.mark.parametrize(
    "text",
    ["", "not a playlist", "#EXTM3U\nseg.ts\n", "#EXTM3U\n#EXTINF:abc,\nseg.ts\n", "#EXTM3U\n#EXTINF:-1,\nx\n",
     "#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=1x1\na.m3u8\n", "#EXTM3U\n#EXT-X-MAP:BYTERANGE=1\n"],
)
def test_malformed(text: str) -> None:
    with pytest.raises(hls.PlaylistError):
        hls.parse(text)


def test_quotes_refused_on_write() -> None:
    pl = hls.MasterPlaylist(renditions=[hls.Rendition("AUDIO", 'a"b', "x")])
    with pytest.raises(hls.PlaylistError):
        hls.dumps(pl)


def test_write_is_atomic_and_readable(tmp_path: Path) -> None:
    target = tmp_path / "index.m3u8"
    hls.write(target, hls.parse_media(MEDIA))
    assert hls.read(target) == hls.parse_media(MEDIA)
    assert [p.name for p in tmp_path.iterdir()] == ["index.m3u8"]


def test_target_duration_computed_when_missing() -> None:
    pl = hls.MediaPlaylist(segments=[hls.Segment("a.ts", 2.002), hls.Segment("b.ts", 6.0)])
    assert "#EXT-X-TARGETDURATION:6" in hls.dumps(pl)


@pytest.mark.parametrize("bad", ["x\nhttp://evil/x.m3u8", "x\r#EXT-X-ENDLIST", "x\u2028y", "x\x85y", "x\x00y"])
def test_writer_refuses_line_breaks_in_every_uri(bad: str) -> None:
    """Whatever a caller passes (a query value pasted into a URI), the writer never emits an extra line:
    plain URIs (segments, variants) as well as quoted ones (EXT-X-MAP, parts, renditions)."""
    inject = hls_uris.append_query(f"token={bad}")
    for text in (MEDIA, MASTER):
        with pytest.raises(hls.PlaylistError, match="line breaks"):
            hls.dumps(hls_uris.rewrite_uris(hls.parse(text), inject))
    live = hls.MediaPlaylist(segments=[hls.Segment("s.m4s", 1.0, parts=[hls.Part("p.m4s", 0.5)])])
    with pytest.raises(hls.PlaylistError):
        hls.dumps(hls_uris.rewrite_uris(live, inject))
    plain = hls.MediaPlaylist(segments=[hls.Segment("s.ts", 1.0)])  # no quoted URI at all (MPEG-TS)
    with pytest.raises(hls.PlaylistError, match="segment URI"):
        hls.dumps(hls_uris.rewrite_uris(plain, inject))
    variants = hls.MasterPlaylist(variants=[hls.Variant("v0/index.m3u8", 1000)])
    with pytest.raises(hls.PlaylistError, match="variant URI"):
        hls.dumps(hls_uris.rewrite_uris(variants, inject))
    with pytest.raises(hls.PlaylistError):
        hls.dumps(hls.MediaPlaylist(segments=[hls.Segment("s.ts", 1.0, title=bad)]))
    with pytest.raises(hls.PlaylistError):
        hls.dumps(hls.MediaPlaylist(extra_tags=[f"#EXT-X-START:TIME-OFFSET=0{bad}"]))


def test_writer_refuses_quotes_in_quoted_attributes() -> None:
    master = hls.parse_master(MASTER)
    master.renditions[0].name = 'x",URI="http://evil/a.m3u8'
    with pytest.raises(hls.PlaylistError, match="quotes"):
        hls.dumps(master)
    master = hls.parse_master(MASTER)
    master.variants[0].extra_attributes["SUBTITLES"] = '"a"b"'
    with pytest.raises(hls.PlaylistError, match="quotes"):
        hls.dumps(master)
    master = hls.parse_master(MASTER)
    master.variants[0].extra_attributes["X"] = "1,URI=y"
    with pytest.raises(hls.PlaylistError, match="commas"):
        hls.dumps(master)
    media = hls_uris.rewrite_uris(hls.parse_media(MEDIA), hls_uris.append_query('a="b'))
    with pytest.raises(hls.PlaylistError, match="quotes"):  # EXT-X-MAP's URI is quoted
        hls.dumps(media)
