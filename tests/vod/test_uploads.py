"""Direct uploads over real HTTP: the Mux SDK, UpChunk-style chunks, tus (tuspy) with a server restart."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mux_python
import pytest
from services import VidlakeServer
from sqlalchemy import update
from tusclient import client as tus_client

from vidlake.db.models import Upload
from vidlake.db.session import Database
from vidlake.ffmpeg import ffmpeg_exe
from vidlake.vod.upload_receiver import MAX_UPLOAD_BYTES
from vidlake.vod.uploads import expire_uploads

TUS = {"Tus-Resumable": "1.0.0"}
TUS_PATCH = {**TUS, "Content-Type": "application/offset+octet-stream"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VidlakeServer]:
    """A server without job workers: uploads are the subject, not asset processing."""
    srv = VidlakeServer(Path(tmp_path_factory.mktemp("uploads-server")), workers=0).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of 320x240 testsrc2 with a tone, H.264/AAC MP4 (about 100-200 KB)."""
    out = tmp_path_factory.mktemp("upload-media") / "clip.mp4"
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000", "-t", "2",
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-c:a", "aac", "-shortest", str(out)],
                   check=True, timeout=120)
    return out


def _create(server: VidlakeServer, **body: Any) -> dict[str, Any]:
    body.setdefault("new_asset_settings", {"playback_policy": ["public"]})
    with server.client() as c:
        r = c.post("/video/v1/uploads", json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def _get(server: VidlakeServer, upload_id: str) -> dict[str, Any]:
    with server.client() as c:
        r = c.get(f"/video/v1/uploads/{upload_id}")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def _stored_source(server: VidlakeServer, upload_id: str) -> bytes:
    found = list((server.data_dir / "storage").glob(f"env/*/uploads/{upload_id}/source"))
    assert len(found) == 1, found
    return found[0].read_bytes()


def _staging(server: VidlakeServer, upload_id: str) -> Path:
    return server.data_dir / "uploads" / f"{upload_id}.part"


def _db(server: VidlakeServer) -> Database:
    return Database(f"sqlite:///{server.data_dir / 'vidlake.db'}")


def _expire_now(server: VidlakeServer, upload_id: str) -> None:
    """Test-only shortcut: move the upload's expiry into the past (timeouts are at least 60 s)."""
    db = _db(server)
    with db.session() as session:
        session.execute(update(Upload).where(Upload.id == upload_id).values(expires_at=0.0))
    db.dispose()


def _assert_asset(server: VidlakeServer, upload: dict[str, Any], size: int) -> dict[str, Any]:
    assert upload["status"] == "asset_created" and upload["asset_id"]
    with server.client() as c:
        r = c.get(f"/video/v1/assets/{upload['asset_id']}")
    assert r.status_code == 200, r.text
    asset: dict[str, Any] = r.json()["data"]
    assert asset["upload_id"] == upload["id"]
    assert asset["ingest_type"] == "on_demand_direct_upload"
    assert asset["status"] in ("preparing", "ready", "errored")
    return asset


# --- the Mux SDK and a single PUT ---------------------------------------------------------------


def test_mux_sdk_create_put_get_list_cancel(server: VidlakeServer, media: Path) -> None:
    config = mux_python.Configuration(host=server.url, username=server.token_id, password=server.token_secret)
    api = mux_python.DirectUploadsApi(mux_python.ApiClient(config))
    request = mux_python.CreateUploadRequest(
        timeout=3600, cors_origin="https://app.example.com",
        new_asset_settings=mux_python.CreateAssetRequest(playback_policy=[mux_python.PlaybackPolicy.PUBLIC],
                                                         mp4_support="standard", passthrough="sdk-test"))
    created = api.create_direct_upload(request).data
    assert created.status == "waiting" and created.timeout == 3600
    assert created.url == f"{server.url}/upload/{created.id}"
    assert created.cors_origin == "https://app.example.com"
    assert created.new_asset_settings.passthrough == "sdk-test"

    data = media.read_bytes()
    r = httpx.put(created.url, content=data, headers={"Content-Type": "video/mp4"})
    assert r.status_code == 200, r.text
    assert r.headers["Tus-Resumable"] == "1.0.0"

    done = api.get_direct_upload(created.id).data
    assert done.status == "asset_created" and done.asset_id
    asset = _assert_asset(server, done.to_dict(), len(data))
    assert asset["passthrough"] == "sdk-test" and asset["mp4_support"] == "standard"
    assert [p["policy"] for p in asset["playback_ids"]] == ["public"]
    assert _stored_source(server, created.id) == data
    assert not _staging(server, created.id).exists()

    listed = api.list_direct_uploads(limit=100, page=1).data
    assert created.id in [u.id for u in listed]

    other = api.create_direct_upload(mux_python.CreateUploadRequest(
        new_asset_settings=mux_python.CreateAssetRequest(playback_policy=[mux_python.PlaybackPolicy.SIGNED]))).data
    cancelled = api.cancel_direct_upload(other.id).data
    assert cancelled.status == "cancelled" and cancelled.asset_id is None
    r = httpx.put(other.url, content=data)
    assert r.status_code == 410 and r.json()["error"]["type"] == "gone"

    # A finished upload refuses more bytes, in every protocol.
    assert httpx.put(created.url, content=data).status_code == 409
    r = httpx.patch(created.url, content=b"x", headers={**TUS_PATCH, "Upload-Offset": str(len(data))})
    assert r.status_code == 409
    with server.client() as c:
        assert c.put(f"/video/v1/uploads/{created.id}/cancel").status_code == 409
        events = [e for e in _events(server) if e[1] in (created.id, other.id)]
    assert ("video.upload.created", created.id) in events
    assert ("video.upload.asset_created", created.id) in events
    assert ("video.upload.cancelled", other.id) in events


def _events(server: VidlakeServer) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from vidlake.db.models import Event

    db = _db(server)
    with db.session() as session:
        rows = [(e.type, e.object_id) for e in session.scalars(select(Event))]
    db.dispose()
    return rows


# --- UpChunk-style Content-Range chunks ------------------------------------------------------------


def test_content_range_chunks_with_a_dropped_chunk(server: VidlakeServer, media: Path) -> None:
    data = media.read_bytes()
    total = len(data)
    cut = [0, total // 3, 2 * total // 3, total]
    upload = _create(server)
    url = upload["url"]

    def put(start: int, end: int, body: bytes | None = None, total_text: str = str(total)) -> httpx.Response:
        return httpx.put(url, content=data[start:end] if body is None else body,
                         headers={"Content-Range": f"bytes {start}-{end - 1}/{total_text}"})

    r = put(cut[0], cut[1], total_text="*")
    assert r.status_code == 308, r.text
    assert r.headers["Range"] == f"bytes=0-{cut[1] - 1}"

    # The second chunk's connection drops half-way: the partial chunk is discarded.
    def dropped() -> Iterator[bytes]:
        yield data[cut[1]: cut[1] + (cut[2] - cut[1]) // 2]
        raise ConnectionResetError("simulated drop")

    with pytest.raises(Exception, match="simulated drop"):
        httpx.put(url, content=dropped(), headers={"Content-Range": f"bytes {cut[1]}-{cut[2] - 1}/{total}",
                                                   "Content-Length": str(cut[2] - cut[1])})
    status = httpx.put(url, content=b"", headers={"Content-Range": f"bytes */{total}"})
    assert status.status_code == 308 and status.headers["Range"] == f"bytes=0-{cut[1] - 1}"

    # Out of order: the third chunk before the second is refused with the offset to resume at.
    r = put(cut[2], cut[3])
    assert r.status_code == 409 and r.headers["Range"] == f"bytes=0-{cut[1] - 1}"
    assert r.json()["error"]["type"] == "conflict"

    r = put(cut[1], cut[2])
    assert r.status_code == 308 and r.headers["Range"] == f"bytes=0-{cut[2] - 1}"
    r = put(cut[2], cut[3])
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] == "asset_created"
    _assert_asset(server, _get(server, upload["id"]), total)
    assert _stored_source(server, upload["id"]) == data


def test_content_range_bad_input(server: VidlakeServer) -> None:
    upload = _create(server)
    url = upload["url"]
    for header in ("bytes abc", "bytes 0-9", "items 0-9/100", "bytes 10-5/100", "bytes -1-5/100"):
        r = httpx.put(url, content=b"x" * 10, headers={"Content-Range": header})
        assert r.status_code == 400, (header, r.text)
        assert r.json()["error"]["type"] == "invalid_parameters"
    # Past the declared total.
    r = httpx.put(url, content=b"x" * 100, headers={"Content-Range": "bytes 0-99/50"})
    assert r.status_code == 416 and r.json()["error"]["type"] == "range_not_satisfiable"
    # A body larger than its Content-Range.
    r = httpx.put(url, content=b"x" * 20, headers={"Content-Range": "bytes 0-9/100"})
    assert r.status_code == 400 and "Content-Range" in r.json()["error"]["messages"][0]
    # Larger than the maximum upload size.
    big = MAX_UPLOAD_BYTES + 10
    r = httpx.put(url, content=b"x" * 10, headers={"Content-Range": f"bytes 0-9/{big}"})
    assert r.status_code == 413
    # The total cannot change once declared.
    assert httpx.put(url, content=b"a" * 10, headers={"Content-Range": "bytes 0-9/100"}).status_code == 308
    r = httpx.put(url, content=b"b" * 10, headers={"Content-Range": "bytes 10-19/200"})
    assert r.status_code == 409 and r.headers["Range"] == "bytes=0-9"
    assert _get(server, upload["id"])["status"] == "waiting"
    # An empty single PUT is refused.
    r = httpx.put(_create(server)["url"], content=b"")
    assert r.status_code == 400


# --- tus 1.0.0 -------------------------------------------------------------------------------------


def test_tus_discovery_cors_and_versions(server: VidlakeServer) -> None:
    upload = _create(server, cors_origin="https://app.example.com")
    url = upload["url"]
    r = httpx.options(url, headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "PATCH"})
    assert r.status_code == 204
    assert r.headers["Tus-Version"] == "1.0.0" and r.headers["Tus-Resumable"] == "1.0.0"
    assert set(r.headers["Tus-Extension"].split(",")) == {"creation", "termination", "checksum", "expiration"}
    assert int(r.headers["Tus-Max-Size"]) == MAX_UPLOAD_BYTES
    assert set(r.headers["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "md5", "sha256"}
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "PATCH" in r.headers["Access-Control-Allow-Methods"]
    assert "upload-offset" in r.headers["Access-Control-Allow-Headers"].lower()
    # Another origin gets no CORS grant.
    r = httpx.options(url, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"})
    assert r.status_code == 204 and "Access-Control-Allow-Origin" not in r.headers
    # Simple responses carry the grant too.
    r = httpx.put(url, content=b"x" * 4, headers={"Origin": "https://app.example.com", "Content-Range": "bytes 0-3/*"})
    assert r.status_code == 308 and r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Range" in r.headers["Access-Control-Expose-Headers"]
    # Unsupported tus version: 412 with the versions we speak (OPTIONS is exempt, as tus says).
    r = httpx.head(url, headers={"Tus-Resumable": "0.2.2"})
    assert r.status_code == 412 and r.headers["Tus-Version"] == "1.0.0"
    r = httpx.patch(url, content=b"x", headers={**TUS_PATCH, "Tus-Resumable": "2.0.0", "Upload-Offset": "4"})
    assert r.status_code == 412 and r.json()["error"]["type"] == "precondition_failed"
    assert httpx.options(url, headers={"Tus-Resumable": "0.2.2"}).status_code == 204
    # Unknown upload ids are 404 on every method, with no token needed or accepted as a substitute.
    missing = f"{server.url}/upload/doesnotexist0000000000000000000"
    assert httpx.options(missing).status_code == 404
    assert httpx.head(missing, headers=TUS).status_code == 404
    assert httpx.put(missing, content=b"x").status_code == 404
    assert httpx.patch(missing, content=b"x", headers={**TUS_PATCH, "Upload-Offset": "0"}).status_code == 404
    assert httpx.post(missing + "/tus", headers={**TUS, "Upload-Length": "5"}).status_code == 404
    with server.client() as c:
        r = c.get("/video/v1/uploads/doesnotexist0000000000000000000")
        assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"


def _tus_create(url: str, length: int, metadata: str | None = None) -> httpx.Response:
    headers = {**TUS, "Upload-Length": str(length)}
    if metadata:
        headers["Upload-Metadata"] = metadata
    return httpx.post(url + "/tus", headers=headers)


def test_tus_raw_protocol(server: VidlakeServer, media: Path) -> None:
    data = media.read_bytes()
    upload = _create(server)
    url = upload["url"]
    # PATCH before the length is declared.
    r = httpx.patch(url, content=b"abc", headers={**TUS_PATCH, "Upload-Offset": "0"})
    assert r.status_code == 400 and "Upload-Length" in r.json()["error"]["messages"][0]
    # Creation.
    assert _tus_create(url, 0).status_code == 400
    assert httpx.post(url + "/tus", headers=TUS).status_code == 400
    assert _tus_create(url, len(data), "filename bad base64!").status_code == 400
    meta = "filename " + base64.b64encode(b"clip.mp4").decode()
    r = _tus_create(url, len(data), meta)
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == f"/upload/{upload['id']}"
    assert r.headers["Upload-Expires"].endswith(" GMT")
    head = httpx.head(url, headers=TUS)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "0" and head.headers["Upload-Length"] == str(len(data))
    assert head.headers["Cache-Control"] == "no-store" and head.headers["Upload-Metadata"] == meta
    # Wrong content type, wrong offset, checksum mismatch (the chunk is discarded).
    piece = data[:1000]
    r = httpx.patch(url, content=piece, headers={**TUS, "Upload-Offset": "0", "Content-Type": "video/mp4"})
    assert r.status_code == 415
    r = httpx.patch(url, content=piece, headers={**TUS_PATCH, "Upload-Offset": "5"})
    assert r.status_code == 409 and r.headers["Upload-Offset"] == "0"
    wrong = "sha1 " + base64.b64encode(hashlib.sha1(b"something else").digest()).decode()
    r = httpx.patch(url, content=piece, headers={**TUS_PATCH, "Upload-Offset": "0", "Upload-Checksum": wrong})
    assert r.status_code == 460 and r.json()["error"]["type"] == "checksum_mismatch"
    assert httpx.head(url, headers=TUS).headers["Upload-Offset"] == "0"
    r = httpx.patch(url, content=piece, headers={**TUS_PATCH, "Upload-Offset": "0", "Upload-Checksum": "crc32 AAAA"})
    assert r.status_code == 400
    good = "md5 " + base64.b64encode(hashlib.md5(piece).digest()).decode()
    r = httpx.patch(url, content=piece, headers={**TUS_PATCH, "Upload-Offset": "0", "Upload-Checksum": good})
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "1000"
    # More than the declared length.
    r = httpx.patch(url, content=data[1000:] + b"extra", headers={**TUS_PATCH, "Upload-Offset": "1000"})
    assert r.status_code == 413
    # The length cannot change once bytes are in.
    assert _tus_create(url, len(data) + 1).status_code == 409
    # X-HTTP-Method-Override PATCH finishes it.
    r = httpx.post(url, content=data[1000:], headers={**TUS_PATCH, "Upload-Offset": "1000",
                                                       "X-HTTP-Method-Override": "PATCH"})
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data))
    done = _get(server, upload["id"])
    _assert_asset(server, done, len(data))
    assert _stored_source(server, upload["id"]) == data
    head = httpx.head(url, headers=TUS)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(len(data))
    assert httpx.delete(url, headers=TUS).status_code == 409


def test_tus_dropped_patch_keeps_received_bytes(server: VidlakeServer, media: Path) -> None:
    data = media.read_bytes()
    upload = _create(server)
    url = upload["url"]
    assert _tus_create(url, len(data)).status_code == 201
    half = len(data) // 2

    def dropped() -> Iterator[bytes]:
        for i in range(0, half, 8192):
            yield data[i: min(i + 8192, half)]
        raise ConnectionResetError("simulated drop")

    with pytest.raises(Exception, match="simulated drop"):
        httpx.patch(url, content=dropped(), headers={**TUS_PATCH, "Upload-Offset": "0",
                                                     "Content-Length": str(len(data))})
    # Resume as a tus client does: HEAD for the offset, PATCH the rest (a 409 means the server committed
    # the dropped request's bytes between our HEAD and PATCH: ask again).
    for _ in range(20):
        offset = int(httpx.head(url, headers=TUS).headers["Upload-Offset"])
        assert 0 <= offset <= half
        r = httpx.patch(url, content=data[offset:], headers={**TUS_PATCH, "Upload-Offset": str(offset)})
        if r.status_code != 409:
            break
    assert r.status_code == 204, r.text
    _assert_asset(server, _get(server, upload["id"]), len(data))
    assert _stored_source(server, upload["id"]) == data


def test_concurrent_patches_do_not_interleave(server: VidlakeServer) -> None:
    size = 3 * 1024 * 1024  # several write buffers, so unserialised writers would interleave in the file
    bodies = {"a": b"a" * size, "b": b"b" * size}
    upload = _create(server)
    url = upload["url"]
    assert _tus_create(url, size).status_code == 201
    results: dict[str, int] = {}
    messages: dict[str, str] = {}

    def slow(body: bytes) -> Iterator[bytes]:
        for i in range(0, len(body), 64 * 1024):
            time.sleep(0.004)  # spread each body over time so the two requests overlap
            yield body[i: i + 64 * 1024]

    def patch(name: str) -> None:
        r = httpx.patch(url, content=slow(bodies[name]), timeout=60,
                        headers={**TUS_PATCH, "Upload-Offset": "0", "Content-Length": str(size)})
        results[name] = r.status_code
        messages[name] = r.text

    threads = [threading.Thread(target=patch, args=(name,)) for name in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Either the later request lost the offset check (409), or it took over from the one holding the lock,
    # whose body read then ended as a dropped connection's does (400; tus keeps the bytes received so far,
    # and the later request then found the offset moved: 409). Either way no two bodies mix.
    codes = sorted(results.values())
    assert codes in ([204, 409], [204, 400], [400, 409]), results
    taken_over = [name for name, code in results.items() if code == 400]
    assert all("a newer request for this upload took over" in messages[n] for n in taken_over), messages
    if 204 in codes:
        winner = next(name for name, code in results.items() if code == 204)
    else:  # resume the kept bytes' body from the server's offset, as a tus client does
        winner = taken_over[0]
        offset = int(httpx.head(url, headers=TUS).headers["Upload-Offset"])
        r = httpx.patch(url, content=bodies[winner][offset:], timeout=60,
                        headers={**TUS_PATCH, "Upload-Offset": str(offset)})
        assert r.status_code == 204, r.text
    assert _get(server, upload["id"])["status"] == "asset_created"
    assert _stored_source(server, upload["id"]) == bodies[winner]


def test_tuspy_resumes_across_a_server_restart(tmp_path: Path, media: Path) -> None:
    data = media.read_bytes()
    chunk = 16 * 1024
    assert len(data) > 3 * chunk
    srv = VidlakeServer(tmp_path / "restart", workers=0).start()
    try:
        upload = _create(srv)
        client = tus_client.TusClient(upload["url"] + "/tus")
        first = client.uploader(file_path=str(media), chunk_size=chunk, metadata={"filename": "clip.mp4"},
                                upload_checksum=True)
        first.upload_chunk()
        first.upload_chunk()
        assert first.offset == 2 * chunk
        location = first.url
        assert location == upload["url"]
        srv.stop()
        srv.start()
        assert _get(srv, upload["id"])["status"] == "waiting"
        resumed = client.uploader(file_path=str(media), url=location, chunk_size=chunk, upload_checksum=True)
        assert resumed.offset == 2 * chunk
        resumed.upload()
        assert resumed.offset == len(data)
        done = _get(srv, upload["id"])
        _assert_asset(srv, done, len(data))
        assert _stored_source(srv, upload["id"]) == data
        assert not _staging(srv, upload["id"]).exists()
    finally:
        srv.stop()


def test_tus_termination(server: VidlakeServer) -> None:
    upload = _create(server)
    url = upload["url"]
    assert _tus_create(url, 100).status_code == 201
    assert httpx.patch(url, content=b"x" * 10, headers={**TUS_PATCH, "Upload-Offset": "0"}).status_code == 204
    assert _staging(server, upload["id"]).exists()
    r = httpx.delete(url, headers=TUS)
    assert r.status_code == 204 and r.headers["Tus-Resumable"] == "1.0.0"
    assert not _staging(server, upload["id"]).exists()
    assert httpx.head(url, headers=TUS).status_code == 410
    assert httpx.patch(url, content=b"x", headers={**TUS_PATCH, "Upload-Offset": "10"}).status_code == 410
    assert httpx.delete(url, headers=TUS).status_code == 204
    assert _get(server, upload["id"])["status"] == "cancelled"
    with server.client() as c:
        assert c.put(f"/video/v1/uploads/{upload['id']}/cancel").json()["data"]["status"] == "cancelled"


def test_lost_staging_file_restarts_at_zero(server: VidlakeServer) -> None:
    upload = _create(server)
    url = upload["url"]
    assert _tus_create(url, 20).status_code == 201
    assert httpx.patch(url, content=b"x" * 10, headers={**TUS_PATCH, "Upload-Offset": "0"}).status_code == 204
    _staging(server, upload["id"]).unlink()
    r = httpx.patch(url, content=b"y" * 10, headers={**TUS_PATCH, "Upload-Offset": "10"})
    assert r.status_code == 409 and r.headers["Upload-Offset"] == "0"
    assert httpx.head(url, headers=TUS).headers["Upload-Offset"] == "0"
    assert httpx.patch(url, content=b"z" * 20, headers={**TUS_PATCH, "Upload-Offset": "0"}).status_code == 204
    assert _stored_source(server, upload["id"]) == b"z" * 20


def test_expiry_lazily_and_by_sweep(server: VidlakeServer) -> None:
    lazy = _create(server, timeout=60)
    assert lazy["timeout"] == 60
    assert _tus_create(lazy["url"], 100).status_code == 201
    assert httpx.patch(lazy["url"], content=b"x" * 10, headers={**TUS_PATCH, "Upload-Offset": "0"}).status_code == 204
    _expire_now(server, lazy["id"])
    assert httpx.head(lazy["url"], headers=TUS).status_code == 410  # HEAD answers carry no body
    assert _get(server, lazy["id"])["status"] == "timed_out"
    assert not _staging(server, lazy["id"]).exists()
    r = httpx.put(lazy["url"], content=b"x")
    assert r.status_code == 410 and r.json()["error"]["type"] == "gone"

    swept = _create(server, timeout=60)
    assert httpx.put(swept["url"], content=b"y" * 8, headers={"Content-Range": "bytes 0-7/*"}).status_code == 308
    assert _staging(server, swept["id"]).exists()
    _expire_now(server, swept["id"])
    db = _db(server)
    try:
        assert expire_uploads(db, server.data_dir) >= 1
        assert expire_uploads(db, server.data_dir) == 0
    finally:
        db.dispose()
    assert not _staging(server, swept["id"]).exists()
    assert _get(server, swept["id"])["status"] == "timed_out"


# --- the control API's validation and isolation ----------------------------------------------------


@pytest.mark.parametrize(("body", "needle"), [
    ({"new_asset_settings": {"playback_policy": ["public"], "colour": "red"}}, "new_asset_settings.colour"),
    ({"new_asset_settings": {"playback_policy": ["private"]}}, "playback_policy"),
    ({"new_asset_settings": {"max_resolution_tier": "720p"}}, "max_resolution_tier"),
    ({"new_asset_settings": {"mp4_support": "bogus"}}, "mp4_support"),
    ({"new_asset_settings": {"passthrough": "p" * 256}}, "passthrough"),
    ({"new_asset_settings": {"playback_policy": ["public"] * 6}}, "playback_policy"),
    ({"new_asset_settings": {"input": [{"url": "https://example.com/a.mp4"}]}}, "input"),
    ({"new_asset_settings": {"normalize_audio": "yes"}}, "normalize_audio"),
    ({"new_asset_settings": "public"}, "new_asset_settings"),
    ({"timeout": 30}, "timeout"),
    ({"timeout": 604801}, "timeout"),
    ({"timeout": "3600"}, "timeout"),
    ({"test": "yes"}, "test"),
    ({"cors_origin": "not an origin"}, "cors_origin"),
    ({"cors_origin": "https://example.com/path"}, "cors_origin"),
    ({"unknown": 1}, "unknown"),
])
def test_create_rejects_bad_input(server: VidlakeServer, body: dict[str, Any], needle: str) -> None:
    with server.client() as c:
        r = c.post("/video/v1/uploads", json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_parameters"
    assert any(needle in m for m in error["messages"]), error


def test_defaults_pagination_and_isolation(server: VidlakeServer) -> None:
    with server.client() as c:
        r = c.post("/video/v1/uploads", json={"new_asset_settings": {"playback_policy": "public"}})
        assert r.status_code == 201
        made = r.json()["data"]
        assert made["timeout"] == 3600 and made["test"] is False and made["status"] == "waiting"
        assert made["new_asset_settings"] == {"playback_policy": ["public"]}
        assert "asset_id" not in made and "cors_origin" not in made
        ids = [c.post("/video/v1/uploads", json={}).json()["data"]["id"] for _ in range(3)]
        page1 = c.get("/video/v1/uploads", params={"limit": 2, "page": 1}).json()["data"]
        page2 = c.get("/video/v1/uploads", params={"limit": 2, "page": 2}).json()["data"]
        assert [u["id"] for u in page1] == [ids[2], ids[1]]
        assert page2[0]["id"] == ids[0]
        assert c.get("/video/v1/uploads", params={"limit": 0}).status_code == 400
        other = c.post("/system/v1/environments", json={"name": "uploads other"}).json()["data"]
    b_auth = (other["access_token"]["id"], other["access_token"]["secret"])
    with httpx.Client(base_url=server.url, auth=b_auth) as b:
        assert b.get(f"/video/v1/uploads/{made['id']}").status_code == 404
        assert b.put(f"/video/v1/uploads/{made['id']}/cancel").status_code == 404
        assert made["id"] not in [u["id"] for u in b.get("/video/v1/uploads").json()["data"]]
    assert httpx.get(f"{server.url}/video/v1/uploads").status_code == 401
    assert _get(server, made["id"])["status"] == "waiting"


def test_test_flag_reaches_the_asset(server: VidlakeServer) -> None:
    upload = _create(server, test=True, new_asset_settings={"playback_policies": ["signed"],
                                                            "static_renditions": [{"resolution": "highest"}]})
    assert upload["test"] is True
    r = httpx.put(upload["url"], content=b"\x00" * 4096)
    assert r.status_code == 200
    asset = _assert_asset(server, _get(server, upload["id"]), 4096)
    assert asset["test"] is True
    assert [p["policy"] for p in asset["playback_ids"]] == ["signed"]
