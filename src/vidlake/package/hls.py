"""HLS playlists (RFC 8216): parse, build, write, rewrite URIs. Shared by VOD and live.

Supported tags: EXTM3U, EXT-X-VERSION, EXT-X-INDEPENDENT-SEGMENTS, EXT-X-TARGETDURATION,
EXT-X-MEDIA-SEQUENCE, EXT-X-PLAYLIST-TYPE, EXT-X-MAP, EXTINF, EXT-X-DISCONTINUITY, EXT-X-ENDLIST,
EXT-X-STREAM-INF, EXT-X-MEDIA, and the low-latency tags of RFC 8216bis: EXT-X-SERVER-CONTROL,
EXT-X-PART-INF, EXT-X-PART (partial segments: before their parent segment's EXTINF, or after the last
segment for the one in progress). Other tags are kept verbatim (header tags in ``extra_tags``, tags before
a segment in that segment's ``extra_tags``) so that a parse/dump round trip loses nothing.
Durations are seconds; bandwidths bits per second.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from vidlake.package import hls_values as values
from vidlake.package.hls_values import PlaylistError

_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def parse_attributes(text: str, keep_quotes: bool = False) -> dict[str, str]:
    """Parse an attribute list (``A=1,B="x,y"``); quoted values are returned without quotes unless
    ``keep_quotes`` (used for attributes kept verbatim, so they are written back as they were)."""
    out: dict[str, str] = {}
    for m in _ATTR.finditer(text):
        value = m.group(2)
        if not keep_quotes and value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        out[m.group(1)] = value
    return out


@dataclass
class Part:
    """A partial segment (``EXT-X-PART``): ``duration`` seconds; ``independent`` when it starts with a
    frame decodable on its own (INDEPENDENT=YES)."""

    uri: str
    duration: float
    independent: bool = False


@dataclass
class Segment:
    """A media segment: ``duration`` seconds; ``init_uri`` is the EXT-X-MAP in effect (fMP4); ``parts``
    the partial segments it is made of (listed before its EXTINF)."""

    uri: str
    duration: float
    title: str = ""
    discontinuity: bool = False
    init_uri: str | None = None
    extra_tags: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)


@dataclass
class ServerControl:
    """``EXT-X-SERVER-CONTROL``: blocking playlist reload, ``part_hold_back`` and ``hold_back`` in
    seconds (None: not written)."""

    can_block_reload: bool = False
    part_hold_back: float | None = None
    hold_back: float | None = None


@dataclass
class MediaPlaylist:
    """A media playlist. ``playlist_type`` is ``"VOD"``, ``"EVENT"`` or ``None`` (live)."""

    segments: list[Segment] = field(default_factory=list)
    version: int = 7
    target_duration: int | None = None
    media_sequence: int = 0
    playlist_type: str | None = None
    independent_segments: bool = False
    endlist: bool = False
    extra_tags: list[str] = field(default_factory=list)
    server_control: ServerControl | None = None
    part_target: float | None = None  #: EXT-X-PART-INF PART-TARGET, seconds
    parts: list[Part] = field(default_factory=list)  #: parts of the segment in progress (after the last one)
    parts_discontinuity: bool = False  #: the segment in progress starts after a discontinuity

    @property
    def duration(self) -> float:
        """Sum of segment durations in seconds."""
        return sum(s.duration for s in self.segments)

    @property
    def next_msn(self) -> int:
        """Media sequence number of the segment after the last listed one (the one in progress)."""
        return self.media_sequence + len(self.segments)

    def has_part(self, msn: int, part: int | None = None) -> bool:
        """True when the playlist holds segment ``msn`` (complete), or its part ``part`` (0-based), or
        anything later: what a blocking reload ``_HLS_msn``/``_HLS_part`` waits for."""
        if msn < self.next_msn:
            return True
        if msn == self.next_msn and part is not None:
            return part < len(self.parts)
        return False

    def finalized(self) -> MediaPlaylist:
        """A VOD copy: ``#EXT-X-PLAYLIST-TYPE:VOD`` and ``#EXT-X-ENDLIST``, without partial segments
        or low-latency tags."""
        return replace(self, playlist_type="VOD", endlist=True, server_control=None, part_target=None, parts=[],
                       parts_discontinuity=False, segments=[replace(s, parts=[]) for s in self.segments])


@dataclass
class Rendition:
    """An ``EXT-X-MEDIA`` entry (alternative audio, subtitles...)."""

    type: str
    group_id: str
    name: str
    uri: str | None = None
    default: bool = False
    autoselect: bool = False
    language: str | None = None
    channels: str | None = None
    instream_id: str | None = None  #: CLOSED-CAPTIONS only: "CC1".."CC4" (CEA-608) or "SERVICE1".. (708)


@dataclass
class Variant:
    """An ``EXT-X-STREAM-INF`` entry: ``bandwidth`` (peak) and ``average_bandwidth`` in bits per
    second, ``resolution`` (width, height) in pixels, ``frame_rate`` in frames per second."""

    uri: str
    bandwidth: int
    average_bandwidth: int | None = None
    codecs: str | None = None
    resolution: tuple[int, int] | None = None
    frame_rate: float | None = None
    audio: str | None = None
    extra_attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class MasterPlaylist:
    """A master (multivariant) playlist."""

    variants: list[Variant] = field(default_factory=list)
    renditions: list[Rendition] = field(default_factory=list)
    version: int = 7
    independent_segments: bool = False
    extra_tags: list[str] = field(default_factory=list)


Playlist = MasterPlaylist | MediaPlaylist


def _lines(text: str) -> list[str]:
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines or lines[0] != "#EXTM3U":
        raise PlaylistError("a playlist must start with #EXTM3U")
    return lines[1:]


def is_master(text: str) -> bool:
    """True when ``text`` holds EXT-X-STREAM-INF (a master playlist)."""
    return "#EXT-X-STREAM-INF" in text


def parse(text: str) -> Playlist:
    """Parse either kind of playlist."""
    return parse_master(text) if is_master(text) else parse_media(text)


def parse_media(text: str) -> MediaPlaylist:
    """Parse a media playlist. Raises :class:`PlaylistError` on malformed input."""
    pl = MediaPlaylist()
    pending_duration: float | None = None
    pending_title = ""
    pending_disc = False
    pending_extra: list[str] = []
    pending_parts: list[Part] = []
    current_map: str | None = None
    for line in _lines(text):
        if not line.startswith("#"):
            if pending_duration is None:
                raise PlaylistError(f"segment URI without #EXTINF: {line!r}")
            pl.segments.append(Segment(line, pending_duration, pending_title, pending_disc, current_map,
                                       pending_extra, pending_parts))
            pending_duration, pending_title, pending_disc, pending_extra, pending_parts = None, "", False, [], []
            continue
        tag, _, value = line.partition(":")
        try:
            if tag == "#EXT-X-VERSION":
                pl.version = int(value)
            elif tag == "#EXT-X-TARGETDURATION":
                pl.target_duration = int(value)
            elif tag == "#EXT-X-MEDIA-SEQUENCE":
                pl.media_sequence = int(value)
            elif tag == "#EXT-X-PLAYLIST-TYPE":
                pl.playlist_type = value.strip().upper()
            elif tag == "#EXT-X-INDEPENDENT-SEGMENTS":
                pl.independent_segments = True
            elif tag == "#EXT-X-ENDLIST":
                pl.endlist = True
            elif tag == "#EXT-X-MAP":
                uri = parse_attributes(value).get("URI")
                if not uri:
                    raise PlaylistError("#EXT-X-MAP without URI")
                current_map = uri
            elif tag == "#EXTINF":
                dur, _, title = value.partition(",")
                pending_duration = float(dur)
                if not math.isfinite(pending_duration) or pending_duration < 0:
                    raise PlaylistError(f"bad #EXTINF duration {dur!r}")
                pending_title = title
            elif tag == "#EXT-X-DISCONTINUITY":
                pending_disc = True
            elif tag == "#EXT-X-PART":
                pending_parts.append(_parse_part(value))
            elif tag == "#EXT-X-PART-INF":
                pl.part_target = _positive(parse_attributes(value).get("PART-TARGET", ""), "PART-TARGET")
            elif tag == "#EXT-X-SERVER-CONTROL":
                a = parse_attributes(value)
                pl.server_control = ServerControl(
                    can_block_reload=a.get("CAN-BLOCK-RELOAD") == "YES",
                    part_hold_back=_positive(a["PART-HOLD-BACK"], "PART-HOLD-BACK") if "PART-HOLD-BACK" in a else None,
                    hold_back=_positive(a["HOLD-BACK"], "HOLD-BACK") if "HOLD-BACK" in a else None)
            elif pl.segments or pending_duration is not None:
                pending_extra.append(line)
            elif line.startswith("#EXT"):
                pl.extra_tags.append(line)
        except ValueError as exc:
            if isinstance(exc, PlaylistError):
                raise
            raise PlaylistError(f"bad value in {line!r}") from exc
    pl.parts, pl.parts_discontinuity = pending_parts, pending_disc and bool(pending_parts)
    return pl


def _positive(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise PlaylistError(f"bad {name} {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise PlaylistError(f"bad {name} {value!r}")
    return number


def _parse_part(value: str) -> Part:
    a = parse_attributes(value)
    if not a.get("URI"):
        raise PlaylistError("#EXT-X-PART without URI")
    return Part(a["URI"], _positive(a.get("DURATION", ""), "part DURATION"), a.get("INDEPENDENT") == "YES")


def parse_master(text: str) -> MasterPlaylist:
    """Parse a master playlist. Raises :class:`PlaylistError` on malformed input."""
    pl = MasterPlaylist()
    pending: dict[str, str] | None = None
    raw: dict[str, str] = {}
    known = {"BANDWIDTH", "AVERAGE-BANDWIDTH", "CODECS", "RESOLUTION", "FRAME-RATE", "AUDIO"}
    for line in _lines(text):
        if not line.startswith("#"):
            if pending is None:
                raise PlaylistError(f"URI without #EXT-X-STREAM-INF: {line!r}")
            try:
                res = None
                if "RESOLUTION" in pending:
                    w, _, h = pending["RESOLUTION"].lower().partition("x")
                    res = (int(w), int(h))
                pl.variants.append(Variant(
                    uri=line,
                    bandwidth=int(pending["BANDWIDTH"]),
                    average_bandwidth=int(pending["AVERAGE-BANDWIDTH"]) if "AVERAGE-BANDWIDTH" in pending else None,
                    codecs=pending.get("CODECS"),
                    resolution=res,
                    frame_rate=float(pending["FRAME-RATE"]) if "FRAME-RATE" in pending else None,
                    audio=pending.get("AUDIO"),
                    extra_attributes={k: v for k, v in raw.items() if k not in known},
                ))
            except (KeyError, ValueError) as exc:
                raise PlaylistError(f"bad #EXT-X-STREAM-INF before {line!r}") from exc
            pending = None
            continue
        tag, _, value = line.partition(":")
        if tag == "#EXT-X-STREAM-INF":
            pending = parse_attributes(value)
            raw = parse_attributes(value, keep_quotes=True)
        elif tag == "#EXT-X-MEDIA":
            a = parse_attributes(value)
            try:
                pl.renditions.append(Rendition(
                    type=a["TYPE"], group_id=a["GROUP-ID"], name=a["NAME"], uri=a.get("URI"),
                    default=a.get("DEFAULT") == "YES", autoselect=a.get("AUTOSELECT") == "YES",
                    language=a.get("LANGUAGE"), channels=a.get("CHANNELS"), instream_id=a.get("INSTREAM-ID"),
                ))
            except KeyError as exc:
                raise PlaylistError(f"#EXT-X-MEDIA lacks {exc}") from exc
        elif tag == "#EXT-X-VERSION":
            pl.version = int(value)
        elif tag == "#EXT-X-INDEPENDENT-SEGMENTS":
            pl.independent_segments = True
        elif line.startswith("#EXT"):
            pl.extra_tags.append(line)
    return pl


def _fmt_duration(seconds: float) -> str:
    return f"{seconds:.6f}".rstrip("0").rstrip(".") if seconds != int(seconds) else f"{seconds:.1f}"


def dumps(pl: Playlist) -> str:
    """Render a playlist as text (``\\n`` line ends, trailing newline). Raises :class:`PlaylistError`
    when a URI, title, tag or attribute would break a line, or a quoted value holds ``"``."""
    return _dump_master(pl) if isinstance(pl, MasterPlaylist) else _dump_media(pl)


def _dump_media(pl: MediaPlaylist) -> str:
    target = pl.target_duration
    if target is None:
        target = max((math.ceil(s.duration - 1e-3) for s in pl.segments), default=1)
    out = ["#EXTM3U", f"#EXT-X-VERSION:{pl.version}", f"#EXT-X-TARGETDURATION:{max(1, target)}",
           f"#EXT-X-MEDIA-SEQUENCE:{pl.media_sequence}"]
    if pl.playlist_type:
        out.append(f"#EXT-X-PLAYLIST-TYPE:{values.enum(pl.playlist_type, 'PLAYLIST-TYPE')}")
    if pl.independent_segments:
        out.append("#EXT-X-INDEPENDENT-SEGMENTS")
    if pl.server_control is not None:
        sc = pl.server_control
        attrs = ["CAN-BLOCK-RELOAD=YES"] if sc.can_block_reload else []
        if sc.part_hold_back is not None:
            attrs.append(f"PART-HOLD-BACK={_fmt_duration(sc.part_hold_back)}")
        if sc.hold_back is not None:
            attrs.append(f"HOLD-BACK={_fmt_duration(sc.hold_back)}")
        out.append("#EXT-X-SERVER-CONTROL:" + ",".join(attrs))
    if pl.part_target is not None:
        out.append(f"#EXT-X-PART-INF:PART-TARGET={_fmt_duration(pl.part_target)}")
    out += [values.line(tag, "tag") for tag in pl.extra_tags]
    current_map: str | None = None
    for seg in pl.segments:
        if seg.discontinuity:
            out.append("#EXT-X-DISCONTINUITY")
        if seg.init_uri and seg.init_uri != current_map:
            out.append(f"#EXT-X-MAP:URI={values.quoted(seg.init_uri, 'EXT-X-MAP URI')}")
            current_map = seg.init_uri
        out += [values.line(tag, "tag") for tag in seg.extra_tags]
        out += [_dump_part(p) for p in seg.parts]
        out.append(f"#EXTINF:{_fmt_duration(seg.duration)},{values.line(seg.title, 'segment title')}")
        out.append(values.line(seg.uri, "segment URI"))
    if pl.parts:
        if pl.parts_discontinuity:
            out.append("#EXT-X-DISCONTINUITY")
        out += [_dump_part(p) for p in pl.parts]
    if pl.endlist:
        out.append("#EXT-X-ENDLIST")
    return "\n".join(out) + "\n"


def _dump_part(part: Part) -> str:
    independent = ",INDEPENDENT=YES" if part.independent else ""
    uri = values.quoted(part.uri, "part URI")
    return f"#EXT-X-PART:DURATION={_fmt_duration(part.duration)},URI={uri}{independent}"


def _dump_master(pl: MasterPlaylist) -> str:
    out = ["#EXTM3U", f"#EXT-X-VERSION:{pl.version}"]
    if pl.independent_segments:
        out.append("#EXT-X-INDEPENDENT-SEGMENTS")
    out += [values.line(tag, "tag") for tag in pl.extra_tags]
    for r in pl.renditions:
        attrs = [f"TYPE={values.enum(r.type, 'TYPE')}", f"GROUP-ID={values.quoted(r.group_id, 'GROUP-ID')}",
                 f"NAME={values.quoted(r.name, 'NAME')}"]
        if r.language:
            attrs.append(f"LANGUAGE={values.quoted(r.language, 'LANGUAGE')}")
        attrs.append(f"DEFAULT={'YES' if r.default else 'NO'}")
        attrs.append(f"AUTOSELECT={'YES' if r.autoselect else 'NO'}")
        if r.channels:
            attrs.append(f"CHANNELS={values.quoted(r.channels, 'CHANNELS')}")
        if r.instream_id:
            attrs.append(f"INSTREAM-ID={values.quoted(r.instream_id, 'INSTREAM-ID')}")
        if r.uri:
            attrs.append(f"URI={values.quoted(r.uri, 'rendition URI')}")
        out.append("#EXT-X-MEDIA:" + ",".join(attrs))
    for v in pl.variants:
        attrs = [f"BANDWIDTH={int(v.bandwidth)}"]
        if v.average_bandwidth is not None:
            attrs.append(f"AVERAGE-BANDWIDTH={int(v.average_bandwidth)}")
        if v.resolution:
            attrs.append(f"RESOLUTION={v.resolution[0]}x{v.resolution[1]}")
        if v.codecs:
            attrs.append(f"CODECS={values.quoted(v.codecs, 'CODECS')}")
        if v.frame_rate:
            attrs.append(f"FRAME-RATE={v.frame_rate:.3f}")
        if v.audio:
            attrs.append(f"AUDIO={values.quoted(v.audio, 'AUDIO')}")
        attrs += [values.attribute(k, val) for k, val in v.extra_attributes.items()]
        out.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
        out.append(values.line(v.uri, "variant URI"))
    return "\n".join(out) + "\n"


def read(path: str | Path) -> Playlist:
    """Parse the playlist file at ``path``."""
    return parse(Path(path).read_text(encoding="utf-8"))


def write(path: str | Path, pl: Playlist) -> None:
    """Write atomically (temporary file in the same folder, then rename) so readers never see a
    half-written playlist."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".m3u8", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(dumps(pl))
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
