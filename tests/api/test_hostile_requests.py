"""Hostile requests from an outside test (issue 11), over real HTTP against a real server: playlist and
WebVTT injection through ``?token=``, 500s from malformed tokens and paths, storage keys in errors,
chunked bodies past the limit, tokens in the access log, and an OpenAPI fuzz run (schemathesis) that
must find no 5xx, on the playback routes with hostile ``token`` values too."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from media import FileServer, make_av
from services import VidlakeServer
from test_assets import wait_asset

pytestmark = pytest.mark.slow

#: Token values that broke playlists or raised 500s before: line breaks that add a variant, a quote that
#: ends a quoted attribute, other line separators, a JWT header of 6,000 nested arrays.
INJECTION = "x\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttp://evil.example/x.m3u8"
HOSTILE_TOKENS = [
    INJECTION,
    "x\r\n#EXT-X-ENDLIST",
    'x",URI="http://evil.example/a.m3u8',
    "x\u2028http://evil.example/y.m3u8",
    "x\x00y",
    base64.urlsafe_b64encode(b"[" * 6000).decode().rstrip("=") + ".e30.sig",
    "a.b.c\n00:00.000 --> 99:00.000\nhttp://evil.example/cue.jpg",
]


@pytest.fixture(scope="module")
def ids(server: VidlakeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A public and a signed asset with audio (an audio rendition and EXT-X-MAP in their playlists)."""
    root = tmp_path_factory.mktemp("hostile")
    make_av(root / "clip.mp4", seconds=3)
    files = FileServer(root)
    with server.client() as c:
        key = c.post("/system/v1/signing-keys").json()["data"]
        made = [c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/clip.mp4"}],
                                                 "playback_policy": [policy]}).json()["data"]
                for policy in ("public", "signed")]
        public, signed = (wait_asset(c, a["id"]) for a in made)
    files.close()
    assert public["status"] == signed["status"] == "ready"
    yield {"public": public["playback_ids"][0]["id"], "signed": signed["playback_ids"][0]["id"], "key": key}


def _token(ids: dict[str, Any], aud: str = "v") -> str:
    private = base64.b64decode(ids["key"]["private_key"])
    return jwt.encode({"sub": ids["signed"], "aud": aud, "exp": int(time.time()) + 600}, private,
                      algorithm="RS256", headers={"kid": ids["key"]["id"]})


def _media_uri(server: VidlakeServer, pid: str, **params: str) -> str:
    master = httpx.get(f"{server.url}/{pid}.m3u8", params=params)
    assert master.status_code == 200, master.text
    return next(line for line in master.text.splitlines() if line and not line.startswith("#"))


@pytest.mark.parametrize("policy", ["public", "signed"])
@pytest.mark.parametrize("token", HOSTILE_TOKENS)
def test_hostile_tokens_are_403_and_reach_no_playlist(server: VidlakeServer, ids: dict[str, Any], policy: str,
                                                      token: str) -> None:
    """Before: a public id pasted the token into its cacheable master playlist (a new variant), a line
    break on an id with an audio rendition / EXT-X-MAP raised PlaylistError (500), the nested header a
    RecursionError (500)."""
    pid = ids[policy]
    media = _media_uri(server, ids["public"]).split("?")[0]  # the same layout for both assets
    rung = media.split("/hls/", 1)[1]
    for path in (f"/{pid}.m3u8", f"/{pid}/hls/{rung}", f"/{pid}/storyboard.vtt", f"/{pid}/thumbnail.jpg"):
        r = httpx.get(f"{server.url}{path}", params={"token": token})
        assert r.status_code == 403, (path, r.status_code, r.text)
        assert r.json()["error"]["messages"][0].startswith("token:")
        assert "evil" not in r.text


def test_well_formed_tokens_are_encoded_and_only_kept_for_signed_ids(server: VidlakeServer,
                                                                      ids: dict[str, Any]) -> None:
    shaped = "e30.e30.c2ln"  # a JWT's shape: ignored on a public id, never repeated into its playlists
    uri = _media_uri(server, ids["public"], token=shaped)
    assert "token" not in uri
    board = httpx.get(f"{server.url}/{ids['public']}/storyboard.vtt", params={"token": shaped})
    assert board.status_code == 200 and "token" not in board.text
    good = _token(ids)
    uri = _media_uri(server, ids["signed"], token=good)
    assert uri.endswith(f"?token={good}")
    media = httpx.get(f"{server.url}/{uri}")
    assert media.status_code == 200 and f"?token={good}" in media.text
    board = httpx.get(f"{server.url}/{ids['signed']}/storyboard.vtt", params={"token": _token(ids, 's')})
    assert board.status_code == 200 and "storyboard.jpg?token=" in board.text


@pytest.mark.parametrize("bad", ["a%5Cb.m3u8", "v0%5C..%5Cmaster.m3u8", "a%00b.ts", "%2E/index.m3u8",
                                 "v0/%2E/index.m3u8", "v0//index.m3u8", "%2E%2E/master.m3u8"])
def test_bad_hls_paths_name_the_problem_not_the_storage_key(server: VidlakeServer, ids: dict[str, Any],
                                                            bad: str) -> None:
    """Before: a backslash, NUL or ``./`` gave a 400 holding the storage key (environment, asset and HLS
    version). (Percent-encoded: the server decodes them into the path.)"""
    r = httpx.get(f"{server.url}/{ids['public']}/hls/{bad}")
    assert r.status_code == 400, (bad, r.status_code, r.text)
    assert "env/" not in r.text and "assets/" not in r.text and "storage key" not in r.text
    assert r.json()["error"]["messages"][0].startswith("path:")


def test_chunked_body_past_the_limit_is_413(server: VidlakeServer) -> None:
    """11 MB sent chunked (no Content-Length): before, FastAPI's body parser turned the limit into a 400
    "There was an error parsing the body"."""

    def body() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(11):
            yield b"x" * 1_000_000
        yield b'"}'

    with server.client() as c:
        r = c.post("/system/v1/access-tokens", content=body(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["error"]["type"] == "payload_too_large"


def test_tokens_are_redacted_from_the_access_log(server: VidlakeServer, ids: dict[str, Any]) -> None:
    secret = _token(ids)
    assert httpx.get(f"{server.url}/{ids['signed']}.m3u8", params={"token": secret}).status_code == 200
    time.sleep(0.5)
    log = server.log()
    assert f"/{ids['signed']}.m3u8?token=REDACTED" in log
    assert secret not in log and secret.split(".")[2] not in log


# -- fuzzing ---------------------------------------------------------------------------------------

#: Examples per operation and generation mode: about 60 operations x 2 modes x this, ~15 ms each.
FUZZ_EXAMPLES = 6
_FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True,
                 phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


def _no_5xx(case: schemathesis.Case, response: Any, failures: list[str]) -> None:
    if response.status_code >= 500:
        failures.append(f"{case.method} {case.formatted_path} query={case.query!r} -> {response.status_code}: "
                        f"{response.text[:200]}")


def test_openapi_fuzz_finds_no_server_errors(server: VidlakeServer, ids: dict[str, Any]) -> None:
    """schemathesis over /openapi.json: valid and invalid requests to every operation, authenticated."""
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    headers = {"Authorization": server.auth_header}
    failures: list[str] = []
    calls = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @_FUZZ
            @given(case=operation.as_strategy(generation_mode=mode))
            def one(case: schemathesis.Case) -> None:
                _no_5xx(case, case.call(base_url=server.url, headers=headers, timeout=30), failures)

            try:
                one()
            except Unsatisfiable:  # no parameter that could be made invalid (e.g. GET /healthz)
                assert mode is schemathesis.GenerationMode.NEGATIVE
            calls += 1
    assert calls == 2 * len(operations)
    assert not failures, "\n".join(failures[:20])


def test_playback_fuzz_with_hostile_tokens(server: VidlakeServer, ids: dict[str, Any]) -> None:
    """Every playback route, on a real public and signed id, with tokens from the hostile list or any
    text: never a 5xx, and no response body carries an injected line."""
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    playback = [op for op in (r.ok() for r in schema.get_all_operations())
                if "playback_id" in op.path and op.path.startswith("/{playback_id}")]
    assert len(playback) >= 8
    tokens = st.sampled_from(HOSTILE_TOKENS) | st.text(min_size=1, max_size=64) | st.just(_token(ids))
    failures: list[str] = []
    for operation in playback:
        _fuzz_playback(operation, ids, tokens, server.url, failures)
    assert not failures, "\n".join(failures[:20])


def _fuzz_playback(operation: Any, ids: dict[str, Any], tokens: st.SearchStrategy[str], base_url: str,
                   failures: list[str]) -> None:
    @settings(max_examples=25, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        pid = data.draw(st.sampled_from([ids["public"], ids["signed"]]))
        token = data.draw(tokens)
        case = data.draw(operation.as_strategy(path_parameters={"playback_id": pid}, query={"token": token}))
        response = case.call(base_url=base_url, timeout=30)
        _no_5xx(case, response, failures)
        if response.status_code == 200 and b"evil.example" in response.content:
            failures.append(f"{case.formatted_path} token={token!r}: injected into the response")

    one()
