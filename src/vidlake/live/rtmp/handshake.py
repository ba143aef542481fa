"""The RTMP handshake, server and client side, as sans-IO state machines fed bytes.

Wire format: the client sends C0 (1 byte: version, must be 3) and C1 (1536 bytes); the server answers
S0 S1 S2; the client sends C2 (1536 bytes); then chunk streams begin.

Two variants exist and both are served:

* **simple** (the RTMP 1.0 spec): C1 = time(4) zero(4) random(1528); S1 = time zero random;
  S2 = echo of C1. Chosen when C1 bytes 4..7 are zero or no valid digest is found in C1.
* **digest** ("complex", Flash Player / FMS, also what ffmpeg and OBS/librtmp send): C1 bytes 4..7 hold
  the client version and C1 carries a 32-byte HMAC-SHA256 digest keyed with the first 30 bytes of the
  Flash Player key. Where the digest sits depends on the *scheme*:

  - :attr:`DigestScheme.SCHEME_0`: the digest block is C1[8:772]; the digest offset is
    ``sum(C1[8:12]) % 728 + 12`` (Flash Player 9 / ffmpeg / librtmp default);
  - :attr:`DigestScheme.SCHEME_1`: the digest block is C1[772:1536]; the offset is
    ``sum(C1[772:776]) % 728 + 776`` (Flash Player 10+).

  The server answers in the same scheme: S1 carries a digest keyed with the first 36 bytes of the
  FMS key, and S2 = random(1504) + HMAC(HMAC(full FMS key, C1 digest), S2[:1504]).
  The client's C2 is not enforced (real clients differ); :attr:`ServerHandshake.c2_valid` tells
  whether it matched.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import struct
import time
from typing import Final

from vidlake.live.rtmp.errors import HandshakeError

RTMP_VERSION: Final = 3
HANDSHAKE_SIZE: Final = 1536
DIGEST_SIZE: Final = 32

_KEY_TAIL: Final = bytes.fromhex("f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae")
#: Flash Media Server key (68 bytes); its first 36 bytes sign S1.
FMS_KEY: Final = b"Genuine Adobe Flash Media Server 001" + _KEY_TAIL
#: Flash Player key (62 bytes); its first 30 bytes sign C1.
FP_KEY: Final = b"Genuine Adobe Flash Player 001" + _KEY_TAIL
FMS_KEY_PARTIAL: Final = FMS_KEY[:36]
FP_KEY_PARTIAL: Final = FP_KEY[:30]

#: Version announced in S1 bytes 4..7 for the digest handshake (FMS 3.5.1.1).
SERVER_VERSION: Final = bytes((3, 5, 1, 1))
#: Version announced by :class:`ClientHandshake` (Flash Player 9.0.124.2, as ffmpeg).
CLIENT_VERSION: Final = bytes((9, 0, 124, 2))


class DigestScheme(enum.IntEnum):
    """Where the 32-byte digest sits in C1/S1 (see the module docstring)."""

    SCHEME_0 = 0
    SCHEME_1 = 1


def digest_offset(block: bytes | bytearray, scheme: DigestScheme) -> int:
    """Byte offset of the digest inside a 1536-byte C1/S1 for ``scheme``."""
    base = 8 if scheme is DigestScheme.SCHEME_0 else 772
    return sum(block[base : base + 4]) % 728 + base + 4


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def compute_digest(block: bytes, offset: int, key: bytes) -> bytes:
    """HMAC-SHA256 of ``block`` without its 32 digest bytes at ``offset``."""
    return _hmac(key, block[:offset] + block[offset + DIGEST_SIZE :])


def find_digest(block: bytes, key: bytes) -> tuple[DigestScheme, bytes] | None:
    """Look for a valid digest in C1/S1; return (scheme, digest) or ``None``.

    Scheme 1 is tried first like most servers do, then scheme 0.
    """
    if len(block) != HANDSHAKE_SIZE:
        raise HandshakeError(f"handshake block must be {HANDSHAKE_SIZE} bytes, got {len(block)}")
    for scheme in (DigestScheme.SCHEME_1, DigestScheme.SCHEME_0):
        off = digest_offset(block, scheme)
        expected = compute_digest(block, off, key)
        if hmac.compare_digest(expected, block[off : off + DIGEST_SIZE]):
            return scheme, expected
    return None


def imprint_digest(block: bytearray, scheme: DigestScheme, key: bytes) -> bytes:
    """Write a digest into ``block`` (1536 bytes, modified in place) and return it."""
    off = digest_offset(block, scheme)
    digest = compute_digest(bytes(block), off, key)
    block[off : off + DIGEST_SIZE] = digest
    return digest


def _timestamp_ms() -> int:
    return int(time.monotonic() * 1000) & 0xFFFFFFFF


def make_c1(scheme: DigestScheme | None, *, epoch_ms: int = 0) -> tuple[bytes, bytes | None]:
    """Build a client C1: simple when ``scheme`` is ``None``, else with a digest. Returns (C1, digest)."""
    block = bytearray(struct.pack(">I", epoch_ms) + b"\x00\x00\x00\x00" + os.urandom(HANDSHAKE_SIZE - 8))
    if scheme is None:
        return bytes(block), None
    block[4:8] = CLIENT_VERSION
    digest = imprint_digest(block, scheme, FP_KEY_PARTIAL)
    return bytes(block), digest


class HandshakeMode(enum.Enum):
    """Which handshake variant the client used."""

    SIMPLE = "simple"
    DIGEST_SCHEME_0 = "digest-scheme-0"
    DIGEST_SCHEME_1 = "digest-scheme-1"


class ServerHandshake:
    """Server side of the handshake. Feed received bytes; send what :meth:`feed` returns.

    When :attr:`done` is true, :attr:`leftover` holds bytes received after C2 (the first chunks).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._state = "c0c1"
        self.mode: HandshakeMode | None = None
        self.client_time_ms: int = 0
        self.client_version: bytes = b""
        self.c2_valid: bool = False
        self.leftover: bytes = b""
        self._s1: bytes = b""
        self._s1_digest: bytes | None = None

    @property
    def done(self) -> bool:
        """True once C2 was received."""
        return self._state == "done"

    def feed(self, data: bytes) -> bytes:
        """Consume ``data``; return bytes to send to the client (possibly empty)."""
        if self._state == "done":
            raise HandshakeError("handshake already complete")
        self._buf += data
        out = b""
        if self._state == "c0c1":
            if self._buf and self._buf[0] != RTMP_VERSION:
                raise HandshakeError(f"unsupported RTMP version byte {self._buf[0]} (want 3)")
            if len(self._buf) < 1 + HANDSHAKE_SIZE:
                return b""
            c1 = bytes(self._buf[1 : 1 + HANDSHAKE_SIZE])
            del self._buf[: 1 + HANDSHAKE_SIZE]
            out = self._answer(c1)
            self._state = "c2"
        if self._state == "c2" and len(self._buf) >= HANDSHAKE_SIZE:
            c2 = bytes(self._buf[:HANDSHAKE_SIZE])
            self.leftover = bytes(self._buf[HANDSHAKE_SIZE:])
            self._buf.clear()
            self.c2_valid = self._check_c2(c2)
            self._state = "done"
        return out

    def _answer(self, c1: bytes) -> bytes:
        self.client_time_ms = struct.unpack(">I", c1[:4])[0]
        self.client_version = c1[4:8]
        found = find_digest(c1, FP_KEY_PARTIAL) if c1[4:8] != b"\x00\x00\x00\x00" else None
        s1 = bytearray(struct.pack(">I", _timestamp_ms()) + b"\x00\x00\x00\x00" + os.urandom(1528))
        if found is None:
            self.mode = HandshakeMode.SIMPLE
            s2 = c1
        else:
            scheme, c1_digest = found
            self.mode = (
                HandshakeMode.DIGEST_SCHEME_0 if scheme is DigestScheme.SCHEME_0 else HandshakeMode.DIGEST_SCHEME_1
            )
            s1[4:8] = SERVER_VERSION
            self._s1_digest = imprint_digest(s1, scheme, FMS_KEY_PARTIAL)
            s2_body = os.urandom(HANDSHAKE_SIZE - DIGEST_SIZE)
            s2 = s2_body + _hmac(_hmac(FMS_KEY, c1_digest), s2_body)
        self._s1 = bytes(s1)
        return bytes((RTMP_VERSION,)) + self._s1 + s2

    def _check_c2(self, c2: bytes) -> bool:
        if self.mode is HandshakeMode.SIMPLE or self._s1_digest is None:
            return c2[8:] == self._s1[8:]
        sig = _hmac(_hmac(FP_KEY, self._s1_digest), c2[: HANDSHAKE_SIZE - DIGEST_SIZE])
        return hmac.compare_digest(sig, c2[HANDSHAKE_SIZE - DIGEST_SIZE :]) or c2[8:] == self._s1[8:]


class ClientHandshake:
    """Client side (for tests and :mod:`vidlake.live.rtmp.client`).

    Send :meth:`start`'s bytes, feed what the server sends; :meth:`feed` returns C2 once S0S1S2 are in.
    ``server_digest_valid`` tells whether S1/S2 carried valid FMS digests (digest mode only).
    """

    def __init__(self, scheme: DigestScheme | None = DigestScheme.SCHEME_0) -> None:
        self.scheme = scheme
        self._c1, self._c1_digest = make_c1(scheme)
        self._buf = bytearray()
        self.done = False
        self.server_digest_valid: bool | None = None
        self.leftover: bytes = b""

    def start(self) -> bytes:
        """C0 + C1."""
        return bytes((RTMP_VERSION,)) + self._c1

    def feed(self, data: bytes) -> bytes:
        """Consume server bytes; return C2 when S0S1S2 are complete, else ``b""``."""
        self._buf += data
        if self.done or len(self._buf) < 1 + 2 * HANDSHAKE_SIZE:
            return b""
        if self._buf[0] != RTMP_VERSION:
            raise HandshakeError(f"server answered version {self._buf[0]}")
        s1 = bytes(self._buf[1 : 1 + HANDSHAKE_SIZE])
        s2 = bytes(self._buf[1 + HANDSHAKE_SIZE : 1 + 2 * HANDSHAKE_SIZE])
        self.leftover = bytes(self._buf[1 + 2 * HANDSHAKE_SIZE :])
        self._buf.clear()
        self.done = True
        if self.scheme is None or self._c1_digest is None:
            return s1
        found = find_digest(s1, FMS_KEY_PARTIAL)
        s2_ok = False
        if found is not None:
            expected = _hmac(_hmac(FMS_KEY, self._c1_digest), s2[: HANDSHAKE_SIZE - DIGEST_SIZE])
            s2_ok = hmac.compare_digest(expected, s2[HANDSHAKE_SIZE - DIGEST_SIZE :])
        self.server_digest_valid = found is not None and s2_ok
        if found is None:
            return s1
        c2_body = os.urandom(HANDSHAKE_SIZE - DIGEST_SIZE)
        return c2_body + _hmac(_hmac(FP_KEY, found[1]), c2_body)
