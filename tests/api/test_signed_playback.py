"""Signed playback: signing keys API and every accept/reject case of the JWT check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from media import FileServer, make_av
from services import VidlakeServer
from test_assets import wait_asset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def signed(server: VidlakeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("signed")
    make_av(root / "clip.mp4", seconds=3)
    files = FileServer(root)
    with server.client() as c:
        key = c.post("/system/v1/signing-keys").json()["data"]
        asset = c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/clip.mp4"}],
                                                 "playback_policy": ["signed"]}).json()["data"]
        asset = wait_asset(c, asset["id"])
        other_key = c.post("/system/v1/signing-keys").json()["data"]
        assert c.delete(f"/system/v1/signing-keys/{other_key['id']}").status_code == 204
    files.close()
    yield {"key": key, "asset": asset, "pid": asset["playback_ids"][0]["id"], "deleted_key": other_key}


def _token(key: dict[str, Any], claims: dict[str, Any], **header: Any) -> str:
    private = base64.b64decode(key["private_key"])
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": key["id"], **header})


def test_signing_keys_api(server: VidlakeServer, signed: dict[str, Any]) -> None:
    with server.client() as c:
        listed = c.get("/system/v1/signing-keys").json()["data"]
        assert signed["key"]["id"] in [k["id"] for k in listed]
        assert all("private_key" not in k for k in listed)
        assert "private_key" not in c.get(f"/system/v1/signing-keys/{signed['key']['id']}").json()["data"]
        assert c.get(f"/system/v1/signing-keys/{signed['deleted_key']['id']}").status_code == 404


def test_valid_token_plays_and_is_carried_to_segments(server: VidlakeServer, signed: dict[str, Any]) -> None:
    pid, key = signed["pid"], signed["key"]
    token = _token(key, {"sub": pid, "aud": "v", "exp": int(time.time()) + 600})
    master = httpx.get(f"{server.url}/{pid}.m3u8", params={"token": token})
    assert master.status_code == 200 and "private" in master.headers["cache-control"]
    uri = next(line for line in master.text.splitlines() if line and not line.startswith("#"))
    assert uri.endswith(f"?token={token}")
    media = httpx.get(f"{server.url}/{uri}")
    assert media.status_code == 200
    seg = next(line for line in media.text.splitlines() if line and not line.startswith("#"))
    assert seg.endswith(f"?token={token}")
    base = f"{server.url}/{uri.split('?')[0].rsplit('/', 1)[0]}"
    assert httpx.get(f"{base}/{seg}").status_code == 200
    assert httpx.get(f"{base}/{seg.split('?')[0]}").status_code == 403  # the segment itself is protected
    thumb = _token(key, {"sub": pid, "aud": "t", "exp": int(time.time()) + 600})
    assert httpx.get(f"{server.url}/{pid}/thumbnail.jpg", params={"token": thumb}).status_code == 200
    board = _token(key, {"sub": pid, "aud": "s", "exp": int(time.time()) + 600})
    assert httpx.get(f"{server.url}/{pid}/storyboard.vtt", params={"token": board}).status_code == 200


def _forged(kind: str, signed: dict[str, Any]) -> str | None:
    pid, key = signed["pid"], signed["key"]
    exp = int(time.time()) + 600
    good = {"sub": pid, "aud": "v", "exp": exp}
    if kind == "missing":
        return None
    if kind == "alg_none":
        head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT","kid":"%s"}' % key["id"].encode()).rstrip(b"=")
        body = base64.urlsafe_b64encode(json.dumps(good).encode()).rstrip(b"=")
        return f"{head.decode()}.{body.decode()}."
    if kind == "hs256_public_key":
        from cryptography.hazmat.primitives import serialization

        private = serialization.load_pem_private_key(base64.b64decode(key["private_key"]), password=None)
        public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
        def b64(raw: bytes) -> str:
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        head_b64 = b64(json.dumps({"alg": "HS256", "kid": key["id"]}).encode())
        signing_input = f"{head_b64}.{b64(json.dumps(good).encode())}"
        mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(mac)}"
    if kind == "expired":
        return _token(key, {**good, "exp": int(time.time()) - 60})
    if kind == "wrong_sub":
        return _token(key, {**good, "sub": "someoneelse"})
    if kind == "wrong_aud":
        return _token(key, {**good, "aud": "t"})
    if kind == "no_exp":
        return _token(key, {"sub": pid, "aud": "v"})
    if kind == "unknown_kid":
        return _token(key, good, kid="nosuchkey")
    if kind == "deleted_kid":
        return _token(key, good, kid=signed["deleted_key"]["id"])
    if kind == "other_key":
        other = jwt.encode(good, _fresh_private_pem(), algorithm="RS256", headers={"kid": key["id"]})
        return other
    if kind == "garbage":
        return "not-a-jwt"
    raise AssertionError(kind)


def _fresh_private_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.mark.parametrize("kind", ["missing", "alg_none", "hs256_public_key", "expired", "wrong_sub", "wrong_aud",
                                  "no_exp", "unknown_kid", "deleted_kid", "other_key", "garbage"])
def test_bad_tokens_are_403(server: VidlakeServer, signed: dict[str, Any], kind: str) -> None:
    token = _forged(kind, signed)
    params = {"token": token} if token is not None else {}
    r = httpx.get(f"{server.url}/{signed['pid']}.m3u8", params=params)
    assert r.status_code == 403, (kind, r.text)
    assert r.json()["error"]["type"] == "forbidden" and r.json()["error"]["messages"][0].startswith("token")


def _token_without_header_kid(key: dict[str, Any], claims: dict[str, Any]) -> str:
    return jwt.encode(claims, base64.b64decode(key["private_key"]), algorithm="RS256")


def test_kid_in_the_claims_is_accepted_like_mux_node_sends_it(server: VidlakeServer, signed: dict[str, Any]) -> None:
    pid, key = signed["pid"], signed["key"]
    exp = int(time.time()) + 600
    token = _token_without_header_kid(key, {"sub": pid, "aud": "v", "exp": exp, "kid": key["id"]})
    assert httpx.get(f"{server.url}/{pid}.m3u8", params={"token": token}).status_code == 200
    # The same checks either way: a deleted key, a wrong audience, or two different kids are refused.
    for claims in ({"sub": pid, "aud": "v", "exp": exp, "kid": signed["deleted_key"]["id"]},
                   {"sub": pid, "aud": "t", "exp": exp, "kid": key["id"]},
                   {"sub": pid, "aud": "v", "exp": int(time.time()) - 60, "kid": key["id"]}):
        refused = httpx.get(f"{server.url}/{pid}.m3u8", params={"token": _token_without_header_kid(key, claims)})
        assert refused.status_code == 403, claims
    conflicting = _token(key, {"sub": pid, "aud": "v", "exp": exp, "kid": signed["deleted_key"]["id"]})
    refused = httpx.get(f"{server.url}/{pid}.m3u8", params={"token": conflicting})
    assert refused.status_code == 403 and "differ" in refused.text
