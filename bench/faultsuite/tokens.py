"""Scenario 8a, mutated playback tokens: a valid RS256 token for a signed asset, mutated ``count`` times
(a base64url character changed in the header, the claims or the signature; claims rewritten and re-signed
with another key; ``alg: none``; audience, subject, expiry, kid changed; truncations, doubled parts, junk),
each sent to the master playlist route over HTTP. Nothing but the valid token may be accepted (200);
every other answer must be 403, never a 5xx."""

from __future__ import annotations

import base64
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from media import FileServer, make_av
from services import VidlakeServer

from faultsuite.report import Row

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _other_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def mutate(token: str, claims: dict[str, Any], kid: str, private: bytes, other: bytes, rng: random.Random) -> str:
    """One mutated token (never the valid one: a mutation that reproduces it is redrawn by the caller)."""
    header_b64, claims_b64, signature = token.split(".")
    kind = rng.randrange(9)
    if kind <= 2:  # a changed character in one part
        parts = [header_b64, claims_b64, signature]
        part = parts[kind]
        i = rng.randrange(len(part))
        parts[kind] = part[:i] + rng.choice(B64URL.replace(part[i], "")) + part[i + 1:]
        return ".".join(parts)
    if kind == 3:  # the claims changed, signed by a key the server never saw
        forged = {**claims, "exp": claims["exp"] + rng.randrange(1, 10**6)}
        return jwt.encode(forged, other, algorithm="RS256", headers={"kid": kid})
    if kind == 4:  # alg none
        forged_header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
        return f"{forged_header}.{claims_b64}."
    if kind == 5:  # the right key, the wrong claims
        field, value = rng.choice([("aud", rng.choice(["t", "g", "s", "", "V"])), ("sub", "x" * rng.randrange(1, 40)),
                                   ("exp", int(time.time()) - rng.randrange(1, 10**6)), ("kid", "nope")])
        changed = {**claims, field: value}
        return jwt.encode(changed, private, algorithm="RS256", headers={"kid": kid if field != "kid" else "nope"})
    if kind == 6:  # truncated
        return token[: rng.randrange(len(token))]
    if kind == 7:  # a part doubled or dropped
        parts = [header_b64, claims_b64, signature]
        i = rng.randrange(3)
        return ".".join(parts[:i] + parts[i + 1:]) if rng.random() < 0.5 else ".".join([*parts, parts[i]])
    return "".join(rng.choice(B64URL + ".=%") for _ in range(rng.randrange(1, 600)))  # junk


def mutated_tokens(root: Path, *, count: int = 10_000, seed: int = 8) -> list[Row]:
    """Send ``count`` mutated tokens; the Row counts the refused ones."""
    rng = random.Random(seed)
    media = root / "media"
    media.mkdir(parents=True, exist_ok=True)
    make_av(media / "clip.mp4", seconds=2, size="320x180")
    files = FileServer(media)
    server = VidlakeServer(root / "server", workers=1, env={"VIDLAKE_LOG_LEVEL": "WARNING"}).start()
    try:
        with server.client() as c:
            key = c.post("/system/v1/signing-keys").json()["data"]
            asset = c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/clip.mp4"}],
                                                     "playback_policy": ["signed"]}).json()["data"]
            deadline = time.monotonic() + 180
            while asset["status"] != "ready" and time.monotonic() < deadline:
                time.sleep(0.3)
                asset = c.get(f"/video/v1/assets/{asset['id']}").json()["data"]
        pid = asset["playback_ids"][0]["id"]
        private, other = base64.b64decode(key["private_key"]), _other_key()
        claims = {"sub": pid, "aud": "v", "exp": int(time.time()) + 3600, "kid": key["id"]}
        valid = jwt.encode(claims, private, algorithm="RS256", headers={"kid": key["id"]})
        statuses: Counter[int] = Counter()
        accepted: list[str] = []
        started = time.monotonic()
        with httpx.Client(base_url=server.url, timeout=30) as viewer:
            assert viewer.get(f"/{pid}.m3u8", params={"token": valid}).status_code == 200, "the valid token failed"
            sent = 0
            while sent < count:
                token = mutate(valid, claims, key["id"], private, other, rng)
                if token == valid:
                    continue
                sent += 1
                status = viewer.get(f"/{pid}.m3u8", params={"token": token}).status_code
                statuses[status] += 1
                if status == 200:
                    accepted.append(token[:80])
        wall = time.monotonic() - started
        lost = [f"accepted: {t}" for t in accepted]
        lost += [f"{n} answers {s}" for s, n in statuses.items() if s >= 500]
        held = statuses[403] + sum(n for s, n in statuses.items() if 400 <= s < 500 and s != 403)
        return [Row("mutated playback tokens", count, held, lost,
                    {"403": str(statuses[403]), "requests/s": f"{count / wall:.0f}"})]
    finally:
        server.stop()
        files.close()
