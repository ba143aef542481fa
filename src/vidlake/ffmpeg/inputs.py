"""Hardened input options for media that came from users.

Uploaded files (and pulled URLs, edit sources) are untrusted: ffmpeg must read exactly one local file
with one demuxer that was chosen from the probe result (or, for still images, the file's signature),
never a demuxer that opens other files or URLs (``concat``, ``hls``, ``image2`` sequences, ``tee``,
``lavfi``, ``subfile``...). :func:`demuxer_for` maps a probed format
name onto a pinned demuxer from :data:`DEMUXER_ALLOWLIST`; :class:`MediaInput` renders the ``-i``
arguments with ``-protocol_whitelist`` and ``-format_whitelist`` as a second fence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

#: Demuxers accepted for uploads: real single-file media containers.
#: Keys are the names ffmpeg uses for ``-f``; every comma-separated alias the demuxer reports in
#: its ``name`` (e.g. ``mov,mp4,m4a,3gp,3g2,mj2``) maps back to the key via :func:`demuxer_for`.
DEMUXER_ALLOWLIST: tuple[str, ...] = (
    "mov",
    "matroska",
    "mpegts",
    "mpeg",
    "flv",
    "avi",
    "asf",
    "mxf",
    "wav",
    "w64",
    "aiff",
    "mp3",
    "aac",
    "ogg",
    "flac",
    "ac3",
    "eac3",
)

#: Aliases of the allowed demuxers as they appear in ``AVInputFormat.name`` (for
#: ``-format_whitelist``/PyAV's ``format_whitelist``): av_match_list compares the full names.
FORMAT_WHITELIST: str = ",".join(
    [
        "mov,mp4,m4a,3gp,3g2,mj2",
        "matroska,webm",
        "mpegts",
        "mpeg",
        "flv",
        "avi",
        "asf",
        "mxf",
        "wav",
        "w64",
        "aiff",
        "mp3",
        "aac",
        "ogg",
        "flac",
        "ac3",
        "eac3",
    ]
)

#: Demuxers that must never read an upload: they follow references to other files or URLs or
#: synthesise input. Used by tests and as documentation; the allow-list is what is enforced.
FORBIDDEN_DEMUXERS: frozenset[str] = frozenset(
    {"concat", "ffconcat", "hls", "applehttp", "dash", "subfile", "image2", "image2pipe", "tee",
     "lavfi", "sdp", "rtp", "rtsp", "data", "tty", "ffmetadata"}
)


#: Single-image demuxers for still pictures (edit image clips): each reads one picture from one file,
#: chosen from the file's signature by :func:`demuxer_for_file`, never ``image2`` (which expands patterns).
IMAGE_DEMUXERS: dict[bytes, str] = {b"\x89PNG\r\n\x1a\n": "png_pipe", b"\xff\xd8\xff": "jpeg_pipe"}
_WEBP = "webp_pipe"

#: Demuxers for files named by their extension, when no probe result is at hand (Vidlake's own
#: intermediate files, test fixtures): still only allow-listed demuxers.
_BY_SUFFIX: dict[str, str] = {".mp4": "mov", ".mov": "mov", ".m4a": "mov", ".m4v": "mov", ".3gp": "mov",
                              ".mkv": "matroska", ".webm": "matroska", ".ts": "mpegts", ".m2ts": "mpegts",
                              ".flv": "flv", ".avi": "avi", ".wav": "wav", ".mp3": "mp3", ".aac": "aac",
                              ".ogg": "ogg", ".opus": "ogg", ".flac": "flac"}


#: Options for opening a local file in process with PyAV (analysis helpers): the same fences as
#: :meth:`MediaInput.args` for a file whose demuxer is not pinned: ``file`` as the only protocol, and only
#: the allow-listed demuxers (plus ``hls`` for Vidlake's own playlists, whose segments they cover).
PYAV_OPTIONS: dict[str, str] = {"protocol_whitelist": "file", "format_whitelist": FORMAT_WHITELIST + ",hls"}

#: Capture devices of inputs Vidlake starts itself (a web input's virtual display and sound server).
CAPTURE_DEVICES = ("x11grab", "pulse")

#: Demuxers a stream on stdin (``pipe:0``) may be read with: they read that one stream and open nothing else.
PIPE_DEMUXERS: tuple[str, ...] = ("flv", "mpegts")


class UnsupportedContainerError(ValueError):
    """The probed container format is not on the upload allow-list."""


def demuxer_for(format_name: str) -> str:
    """Return the pinned ``-f`` demuxer for a probed format name.

    ``format_name`` is the demuxer name as PyAV/ffprobe report it, e.g. ``"mov,mp4,m4a,3gp,3g2,mj2"``
    or ``"matroska,webm"``. Raises :class:`UnsupportedContainerError` when no alias is allowed or any
    alias is forbidden.
    """
    aliases = [a.strip() for a in format_name.split(",") if a.strip()]
    if not aliases or any(a in FORBIDDEN_DEMUXERS for a in aliases):
        raise UnsupportedContainerError(f"container format {format_name!r} is not accepted")
    for alias in aliases:
        if alias in DEMUXER_ALLOWLIST:
            return alias
    raise UnsupportedContainerError(f"container format {format_name!r} is not accepted")


def demuxer_for_file(path: str | Path) -> str:
    """A pinned demuxer for a local file without a probe result: an image demuxer from the file's
    signature (PNG, JPEG, WebP), else an allow-listed demuxer from its extension. Raises
    :class:`UnsupportedContainerError` otherwise."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            head = fh.read(16)
    except OSError:
        head = b""
    for magic, name in IMAGE_DEMUXERS.items():
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _WEBP
    demuxer = _BY_SUFFIX.get(p.suffix.lower())
    if demuxer is None:
        raise UnsupportedContainerError(f"no accepted demuxer for a {p.suffix or 'nameless'!r} file")
    return demuxer


def _is_image(demuxer: str) -> bool:
    return demuxer in IMAGE_DEMUXERS.values() or demuxer == _WEBP


@dataclass(frozen=True)
class MediaInput:
    """One ``-i`` input for ffmpeg with its input-side options.

    ``path``: local file. ``demuxer``: pinned ``-f`` value. ``seek_s``: input seek in seconds
    (``-ss`` before ``-i``, fast and keyframe-accurate with exact decode). ``duration_s``: read at most
    this many seconds (``-t``). ``trusted``: our own outputs (HLS playlists written by Vidlake) may use
    the ``hls`` demuxer; uploads never. ``skip_nonkey``: decode keyframes only (``-skip_frame nokey``).
    ``absolute_seek``: ``seek_s`` is a timestamp in the file's own timeline (``-seek_timestamp 1``)
    instead of an offset from its start time. ``streams``: read only the ``"video"`` or ``"audio"``
    streams (``-an``/``-vn``: one file feeding two far-apart parts of a graph opens as two inputs).
    ``framerate``: frames per second a still image is read at (image demuxers only). ``pipe``: read
    stdin (``pipe:0``) instead of ``path``, with one of :data:`PIPE_DEMUXERS` (a live publish).
    ``options``: more input options before ``-f`` (e.g. ``-fflags +genpts``).
    """

    path: Path
    demuxer: str
    seek_s: float | None = None
    duration_s: float | None = None
    trusted: bool = False
    skip_nonkey: bool = False
    absolute_seek: bool = False
    streams: Literal["video", "audio"] | None = None
    framerate: int | None = None
    pipe: bool = False
    options: tuple[str, ...] = ()

    @classmethod
    def stdin(cls, demuxer: str, *options: str) -> MediaInput:
        """A live stream on stdin read with ``demuxer`` (one of :data:`PIPE_DEMUXERS`)."""
        if demuxer not in PIPE_DEMUXERS:
            raise UnsupportedContainerError(f"demuxer {demuxer!r} is not accepted on stdin")
        return cls(path=Path("-"), demuxer=demuxer, pipe=True, options=tuple(options))

    @classmethod
    def capture(cls, device: str, target: str, *options: str) -> MediaInput:
        """A capture device Vidlake started itself (one of :data:`CAPTURE_DEVICES`): ``x11grab`` of a
        display (``":99"``) or ``pulse`` of a source (``"sink.monitor"``); ``options`` go before ``-f``."""
        if device not in CAPTURE_DEVICES:
            raise UnsupportedContainerError(f"capture device {device!r} is not accepted")
        return cls(path=Path(target), demuxer=device, pipe=True, options=tuple(options))

    @classmethod
    def untrusted(cls, path: str | Path, format_name: str) -> MediaInput:
        """An uploaded file, pinned to the demuxer matching the probe's ``format_name``."""
        return cls(path=Path(path), demuxer=demuxer_for(format_name))

    @classmethod
    def trusted_output(cls, path: str | Path) -> MediaInput:
        """A file Vidlake wrote itself: an HLS media/master playlist (``.m3u8``) or an MP4/M4A."""
        p = Path(path)
        demuxer = "hls" if p.suffix.lower() == ".m3u8" else "mov"
        return cls(path=p, demuxer=demuxer, trusted=True)

    @classmethod
    def local_file(cls, path: str | Path, demuxer: str | None = None) -> MediaInput:
        """A local file of untrusted content: ``demuxer`` from its probe (``"hls"`` means Vidlake's own
        HLS output), else :func:`demuxer_for_file`."""
        if demuxer == "hls":
            return cls.trusted_output(path)
        return cls(path=Path(path), demuxer=demuxer or demuxer_for_file(path))

    def with_window(self, seek_s: float | None = None, duration_s: float | None = None) -> MediaInput:
        """A copy that seeks to ``seek_s`` seconds and reads ``duration_s`` seconds."""
        return replace(self, seek_s=seek_s, duration_s=duration_s)

    def args(self) -> list[str]:
        """The ffmpeg arguments for this input, ending with ``-i PATH`` (``-i pipe:0`` for stdin)."""
        if self.pipe and self.demuxer in CAPTURE_DEVICES:
            return [*self.options, "-f", self.demuxer, "-i", str(self.path)]
        if self.pipe:
            if self.demuxer not in PIPE_DEMUXERS:
                raise UnsupportedContainerError(f"demuxer {self.demuxer!r} is not accepted on stdin")
            return [*self.options, "-f", self.demuxer, "-i", "pipe:0"]
        image = _is_image(self.demuxer)
        if not self.trusted and not image:
            demuxer_for(self.demuxer)  # re-check: a hand-built MediaInput must obey the allow-list
        elif self.trusted and self.demuxer not in ("hls", *DEMUXER_ALLOWLIST):
            raise UnsupportedContainerError(f"demuxer {self.demuxer!r} is not accepted")
        out: list[str] = []
        if self.demuxer == "hls":
            # Our own playlists: local files only, init/segments with our own extensions.
            out += ["-protocol_whitelist", "file", "-allowed_extensions", "m3u8,m4s,mp4,m4a,ts,aac"]
        else:
            out += ["-protocol_whitelist", "file", "-format_whitelist", self.demuxer if image else FORMAT_WHITELIST]
        if self.framerate is not None:
            if not image:
                raise UnsupportedContainerError("framerate applies to still images only")
            out += ["-framerate", str(self.framerate)]
        if self.streams is not None:
            out.append("-an" if self.streams == "video" else "-vn")
        if self.skip_nonkey:
            out += ["-skip_frame", "nokey"]
        if self.seek_s is not None and (self.seek_s > 0 or self.absolute_seek):
            if self.absolute_seek:
                out += ["-seek_timestamp", "1"]
            out += ["-ss", f"{self.seek_s:.3f}"]
        if self.duration_s is not None:
            out += ["-t", f"{self.duration_s:.3f}"]
        out += self.options
        # The ``file:`` prefix stops a name like ``http:x`` or ``a|b`` being read as a protocol.
        out += ["-f", self.demuxer, "-i", "file:" + str(self.path.resolve())]
        return out
