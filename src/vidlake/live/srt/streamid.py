"""The SRT stream id of a publisher: which stream key it publishes to (pure code, no sockets).

Two forms are accepted (``srt://host:port?streamid=...``):

* a plain key: ``KEY`` (printable ASCII without spaces, ``,``, ``#`` or ``=``);
* SRT's access-control syntax: ``#!::r=KEY,m=publish`` (comma separated ``name=value`` pairs; ``r``
  is the resource = stream key, ``m`` the mode, ``u``/``s``/``h`` user, session and host are kept as
  extra fields, ``t`` must be ``stream`` when given). A missing ``m`` is taken as ``publish`` (this
  server only ingests); ``m=request`` / ``m=bidirectional`` are refused as a bad mode.

Anything else (empty, too long, non-ASCII, nested ``#!:{...}`` syntax, duplicate or unknown-format
pairs) raises :class:`BadStreamId`, whose ``reject_code`` is the SRT reject reason to send.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from vidlake.live.srt.abi import MAX_STREAMID, SRT_REJX_BAD_MODE, SRT_REJX_BAD_REQUEST

MAX_KEY_LENGTH: Final = 256
_KEY_RE: Final = re.compile(r"[!-~]+")  # printable ASCII, no space
_KEY_FORBIDDEN: Final = frozenset(",#=")
_ACCESS_PREFIX: Final = "#!::"


class BadStreamId(ValueError):
    """The stream id cannot be used; ``reject_code`` is the SRT reject reason (``SRT_REJX_*``)."""

    def __init__(self, message: str, reject_code: int = SRT_REJX_BAD_REQUEST) -> None:
        super().__init__(message)
        self.reject_code = reject_code


@dataclass(frozen=True)
class StreamId:
    """A parsed stream id: the stream ``key``, the ``mode`` and other access-control fields."""

    key: str
    mode: str = "publish"
    extra: dict[str, str] = field(default_factory=dict)

    def query(self) -> str:
        """The extra fields as ``name=value&...`` (for :attr:`PublishInfo.query`)."""
        return "&".join(f"{k}={v}" for k, v in sorted(self.extra.items()))


def _check_key(key: str) -> str:
    if not key:
        raise BadStreamId("empty stream key")
    if len(key) > MAX_KEY_LENGTH:
        raise BadStreamId("stream key too long")
    if not _KEY_RE.fullmatch(key) or _KEY_FORBIDDEN & set(key):
        raise BadStreamId("stream key has characters outside printable ASCII or , # =")
    return key


def parse_stream_id(raw: str) -> StreamId:
    """Parse a stream id (see the module docstring); raises :class:`BadStreamId`."""
    if not raw:
        raise BadStreamId("empty stream id")
    if len(raw.encode("utf-8", "replace")) > MAX_STREAMID:
        raise BadStreamId("stream id longer than 512 bytes")
    if not raw.startswith("#!"):
        return StreamId(_check_key(raw))
    if not raw.startswith(_ACCESS_PREFIX):
        raise BadStreamId("unsupported stream id syntax (use #!::r=KEY,m=publish)")
    fields: dict[str, str] = {}
    for item in raw[len(_ACCESS_PREFIX):].split(","):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name or name in fields:
            raise BadStreamId(f"malformed stream id field {item[:40]!r}")
        fields[name] = value
    mode = fields.pop("m", "publish") or "publish"
    if mode != "publish":
        raise BadStreamId(f"mode {mode[:20]!r} refused: this server only accepts publishing", SRT_REJX_BAD_MODE)
    kind = fields.pop("t", "stream")
    if kind != "stream":
        raise BadStreamId(f"type {kind[:20]!r} refused: only t=stream", SRT_REJX_BAD_MODE)
    key = _check_key(fields.pop("r", ""))
    extra = {k: v for k, v in fields.items() if k in ("u", "s", "h")}
    return StreamId(key, mode, extra)
