"""The error contract in process: storage errors never show their keys, bodies past the limit are 413
however they are sent, secrets never reach a log line."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from vidlake.api import errors
from vidlake.api.middleware import BodyLimitMiddleware
from vidlake.core.errors import Forbidden, InvalidParameters, ObjectNotFound, StorageError, StorageFull
from vidlake.core.logs import RedactSecrets, redact
from vidlake.deliver.signing import check_token, token_query
from vidlake.storage.base import validate_key

KEY = "env/e1/assets/a1/hls/v3/master.m3u8"


class Body(BaseModel):
    name: str


def _app() -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.get("/raise/{kind}")
    def fail(kind: str) -> None:
        if kind == "key":
            validate_key(KEY.replace("/hls/", "/./"))
        raise {"down": StorageError, "full": StorageFull, "missing": ObjectNotFound}[kind](f"failed on {KEY!r}")

    @app.post("/json")
    def echo(body: Body) -> dict[str, str]:
        return {"name": body.name}

    app.add_middleware(BodyLimitMiddleware, limit=1024)
    return app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(_app(), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize(("kind", "status"), [("key", 400), ("down", 503), ("full", 507), ("missing", 404)])
def test_storage_errors_do_not_show_keys(client: TestClient, kind: str, status: int) -> None:
    r = client.get(f"/raise/{kind}")
    assert r.status_code == status
    assert "e1" not in r.text and "assets" not in r.text and "master" not in r.text
    assert r.json()["error"]["messages"] and r.json()["error"]["messages"][0]


def test_invalid_keys_are_still_invalid_parameters() -> None:
    with pytest.raises(InvalidParameters):
        validate_key("a\\b")


def test_chunked_body_past_the_limit_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(8):
            yield b"x" * 512
        yield b'"}'

    r = client.post("/json", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["error"] == {"type": "payload_too_large", "messages": ["body: larger than 1024 bytes"]}
    assert client.post("/json", json={"name": "ok"}).json() == {"name": "ok"}


def test_tokens_are_redacted_from_log_records() -> None:
    assert redact('"GET /p1.m3u8?token=eyJ.a.b HTTP/1.1" 200') == '"GET /p1.m3u8?token=REDACTED HTTP/1.1" 200'
    assert redact("/p?x=1&thumbnail_token=abc&y=2") == "/p?x=1&thumbnail_token=REDACTED&y=2"
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/p1/hls/v0/index.m3u8?token=secret.jwt.value", "1.1", 200),
                               None)
    assert RedactSecrets().filter(record)
    assert "secret" not in record.getMessage() and "token=REDACTED" in record.getMessage()


@pytest.mark.parametrize("token", [
    base64.urlsafe_b64encode(b"[" * 6000).decode().rstrip("=") + ".e30.sig",  # RecursionError in json before
    "a\nb.c.d", "W10.e30.", "e30", "e30.e30.a=b", "x" * 9000,
])
def test_malformed_tokens_are_forbidden_never_an_error(token: str) -> None:
    with pytest.raises(Forbidden, match=r"^token: "):
        check_token(token)


def test_tokens_are_encoded_for_uris() -> None:
    assert check_token("e30.e30.c2ln") == "e30.e30.c2ln" and check_token("") is None
    assert token_query("a\nb\"c") == "token=a%0Ab%22c" and token_query(None) == ""
