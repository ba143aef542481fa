"""Handshake: simple and digest variants (schemes 0 and 1), crafted C1s, malformed input."""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

import pytest

from vidlake.live.rtmp.errors import HandshakeError
from vidlake.live.rtmp.handshake import (
    ClientHandshake,
    DigestScheme,
    HandshakeMode,
    ServerHandshake,
    make_c1,
)

# Keys written out here independently of the module under test.
FP_30 = b"Genuine Adobe Flash Player 001"
FMS_36 = b"Genuine Adobe Flash Media Server 001"
TAIL = bytes.fromhex("f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae")


def _offset(block: bytes, base: int) -> int:
    return sum(block[base : base + 4]) % 728 + base + 4


def _digest(block: bytes, off: int, key: bytes) -> bytes:
    return hmac.new(key, block[:off] + block[off + 32 :], hashlib.sha256).digest()


def _crafted_c1(base: int) -> tuple[bytes, bytes]:
    """A Flash-style C1 with its digest placed by hand at the scheme whose block starts at ``base``."""
    c1 = bytearray(struct.pack(">I", 1234) + bytes((10, 0, 32, 18)) + os.urandom(1528))
    off = _offset(bytes(c1), base)
    digest = _digest(bytes(c1), off, FP_30)
    c1[off : off + 32] = digest
    return bytes(c1), digest


def test_simple_handshake_echoes_c1() -> None:
    c1 = struct.pack(">I", 99) + b"\x00" * 4 + os.urandom(1528)
    hs = ServerHandshake()
    out = hs.feed(b"\x03" + c1)
    assert len(out) == 1 + 1536 * 2
    assert out[0] == 3
    s1, s2 = out[1:1537], out[1537:]
    assert s1[4:8] == b"\x00\x00\x00\x00"
    assert s2 == c1
    assert hs.mode is HandshakeMode.SIMPLE
    assert not hs.done
    hs.feed(s1)  # C2 = echo of S1
    assert hs.done and hs.c2_valid
    assert hs.leftover == b""


@pytest.mark.parametrize(("base", "mode"), [(8, HandshakeMode.DIGEST_SCHEME_0), (772, HandshakeMode.DIGEST_SCHEME_1)])
def test_digest_handshake_answers_in_the_same_scheme(base: int, mode: HandshakeMode) -> None:
    c1, c1_digest = _crafted_c1(base)
    hs = ServerHandshake()
    out = hs.feed(b"\x03" + c1)
    assert hs.mode is mode
    s1, s2 = out[1:1537], out[1537:3073]
    assert s1[4:8] != b"\x00\x00\x00\x00"
    off = _offset(s1, base)
    assert s1[off : off + 32] == _digest(s1, off, FMS_36)
    s2_key = hmac.new(FMS_36 + TAIL, c1_digest, hashlib.sha256).digest()
    assert s2[1504:] == hmac.new(s2_key, s2[:1504], hashlib.sha256).digest()
    # A Flash-style C2 signed over S1's digest validates.
    c2_body = os.urandom(1504)
    c2_key = hmac.new(FP_30 + TAIL, s1[off : off + 32], hashlib.sha256).digest()
    hs.feed(c2_body + hmac.new(c2_key, c2_body, hashlib.sha256).digest() + b"chunks")
    assert hs.done and hs.c2_valid
    assert hs.leftover == b"chunks"


def test_version_without_valid_digest_falls_back_to_simple() -> None:
    c1 = bytearray(os.urandom(1536))
    c1[4:8] = bytes((9, 0, 124, 2))
    hs = ServerHandshake()
    out = hs.feed(b"\x03" + bytes(c1))
    assert hs.mode is HandshakeMode.SIMPLE
    assert out[1537:] == bytes(c1)


def test_c2_mismatch_is_tolerated_but_reported() -> None:
    c1, _ = _crafted_c1(8)
    hs = ServerHandshake()
    hs.feed(b"\x03" + c1)
    hs.feed(os.urandom(1536))
    assert hs.done and not hs.c2_valid


def test_fed_one_byte_at_a_time() -> None:
    client = ClientHandshake(DigestScheme.SCHEME_1)
    server = ServerHandshake()
    out = b""
    for b in client.start():
        out += server.feed(bytes((b,)))
    assert len(out) == 3073
    c2 = client.feed(out)
    assert client.server_digest_valid is True
    for i, b in enumerate(c2):
        server.feed(bytes((b,)))
        assert server.done == (i == len(c2) - 1)
    assert server.c2_valid


@pytest.mark.parametrize("scheme", [None, DigestScheme.SCHEME_0, DigestScheme.SCHEME_1])
def test_client_and_server_agree(scheme: DigestScheme | None) -> None:
    client = ClientHandshake(scheme)
    server = ServerHandshake()
    c2 = client.feed(server.feed(client.start()))
    server.feed(c2)
    assert server.done and server.c2_valid
    expected = {
        None: HandshakeMode.SIMPLE,
        DigestScheme.SCHEME_0: HandshakeMode.DIGEST_SCHEME_0,
        DigestScheme.SCHEME_1: HandshakeMode.DIGEST_SCHEME_1,
    }[scheme]
    assert server.mode is expected


def test_make_c1_places_digest_where_the_scheme_says() -> None:
    c1, digest = make_c1(DigestScheme.SCHEME_1)
    assert digest is not None
    off = _offset(c1, 772)
    assert c1[off : off + 32] == digest == _digest(c1, off, FP_30)


@pytest.mark.parametrize("first", [0, 6, 0x47, 0xFF])
def test_wrong_version_byte_is_refused(first: int) -> None:
    with pytest.raises(HandshakeError):
        ServerHandshake().feed(bytes((first,)) + os.urandom(10))


def test_feed_after_done_is_an_error() -> None:
    hs = ServerHandshake()
    hs.feed(b"\x03" + bytes(1536) + bytes(1536))
    assert hs.done
    with pytest.raises(HandshakeError):
        hs.feed(b"x")
