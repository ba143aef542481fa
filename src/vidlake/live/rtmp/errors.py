"""Errors raised by the RTMP ingest code.

::

    RtmpError (Exception)
    ├── RtmpProtocolError (+ ValueError)   the peer broke the RTMP/AMF0/FLV rules or our limits
    │   └── HandshakeError                 bad C0/C1/C2 (wrong version byte, ...)
    └── PublishRefused                     a publish was refused (unknown key, key already live, ...)

Protocol errors are always raised for malformed input, never ``IndexError``/``struct.error``: the
connection code catches :class:`RtmpProtocolError` and closes the connection.
"""

from __future__ import annotations


class RtmpError(Exception):
    """Base class of every RTMP ingest error."""


class RtmpProtocolError(RtmpError, ValueError):
    """The peer broke the protocol or one of our limits; the connection must be closed."""


class HandshakeError(RtmpProtocolError):
    """The RTMP handshake (C0/C1/C2) is invalid."""


class PublishRefused(RtmpError):
    """A publish request was refused; ``code`` is the NetStream status code sent to the client."""

    def __init__(self, message: str, code: str = "NetStream.Publish.BadName") -> None:
        super().__init__(message)
        self.code = code
