"""Mux's official Node SDK (``@mux/mux-node``) against a real Vidlake server: only the base URL changes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from media import FileServer, make_av
from mux_node import NodeError, available, run_node
from services import VidlakeServer
from test_assets import wait_asset
from webhook_receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not available(), reason="npm ci has not installed @mux/mux-node")]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver([])
    yield r
    r.close()


@pytest.fixture(scope="module")
def ready(server: VidlakeServer, receiver: Receiver,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A webhook endpoint, then a ready asset with a public and a signed playback id, made by the SDK."""
    root = tmp_path_factory.mktemp("node")
    make_av(root / "clip.mp4", seconds=3)
    files = FileServer(root)
    with server.client() as c:
        hook = c.post("/system/v1/webhooks", json={"url": receiver.url}).json()["data"]
    asset = node(server, """
        return await mux.video.assets.create({ inputs: [{ url: input.url }], playback_policies: ['public', 'signed'],
                                               passthrough: 'node' });
    """, url=f"{files.url}/clip.mp4")
    with server.client() as c:
        asset = wait_asset(c, asset["id"])
    files.close()
    yield {"asset": asset, "secret": hook["secret"], "files": root}


def node(server: VidlakeServer, script: str, **values: Any) -> Any:
    """``run_node`` against ``server`` with its bootstrap token."""
    return run_node(script, server.url, server.auth, **values)


def _pid(asset: dict[str, Any], policy: str) -> str:
    return str(next(p["id"] for p in asset["playback_ids"] if p["policy"] == policy))


def test_webhook_unwrapped_by_the_sdk(server: VidlakeServer, receiver: Receiver, ready: dict[str, Any]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(b'"video.asset.ready"' in body for _, body in receiver.calls):
        time.sleep(0.1)
    headers, body = next((h, b) for h, b in receiver.calls if b'"video.asset.ready"' in b)
    event = node(server, "return await mux.webhooks.unwrap(input.body, input.headers);",
                 body=body.decode(), headers=headers, webhookSecret=ready["secret"])
    assert event["type"] == "video.asset.ready" and event["object"] == {"type": "asset", "id": ready["asset"]["id"]}
    assert event["data"]["id"] == ready["asset"]["id"] and event["data"]["status"] == "ready"
    assert event["environment"]["id"] and event["attempts"] == [] and event["created_at"].endswith("Z")
    # A tampered body or another secret is refused by the SDK's own check.
    tampered = body.replace(b'"ready"', b'"errored"', 1)
    for values in ({"body": tampered.decode(), "webhookSecret": ready["secret"]},
                   {"body": body.decode(), "webhookSecret": "another-secret"}):
        with pytest.raises(AssertionError, match="signature"):
            node(server, "return await mux.webhooks.unwrap(input.body, input.headers);", headers=headers, **values)
    assert json.loads(body)["data"] == event["data"]


def test_signed_playback_url_from_the_sdk_jwt_helper(server: VidlakeServer, ready: dict[str, Any]) -> None:
    pid = _pid(ready["asset"], "signed")
    with server.client() as c:
        key = c.post("/system/v1/signing-keys").json()["data"]
    tokens = node(server, """
        const opts = { keyId: input.keyId, keySecret: input.keySecret, expiration: '1h' };
        return { video: await mux.jwt.signPlaybackId(input.pid, { ...opts, type: 'video' }),
                 thumbnail: await mux.jwt.signPlaybackId(input.pid, { ...opts, type: 'thumbnail' }) };
    """, pid=pid, keyId=key["id"], keySecret=key["private_key"])
    assert httpx.get(f"{server.url}/{pid}.m3u8", params={"token": tokens["video"]}).status_code == 200
    assert httpx.get(f"{server.url}/{pid}/thumbnail.jpg", params={"token": tokens["thumbnail"]}).status_code == 200
    assert httpx.get(f"{server.url}/{pid}.m3u8", params={"token": tokens["thumbnail"]}).status_code == 403
    assert httpx.get(f"{server.url}/{pid}.m3u8").status_code == 403


def test_asset_reads_with_the_sdk(server: VidlakeServer, ready: dict[str, Any]) -> None:
    asset = ready["asset"]
    out = node(server, """
        const info = await mux.video.assets.retrieveInputInfo(input.id);
        const owner = await mux.video.playbackIds.retrieve(input.pid);
        const asset = await mux.video.assets.retrieve(input.id);
        return { info, owner, passthrough: asset.passthrough };
    """, id=asset["id"], pid=_pid(asset, "public"))
    assert out["passthrough"] == "node"
    assert {t["type"] for t in out["info"][0]["file"]["tracks"]} == {"video", "audio"}
    assert out["owner"]["object"] == {"type": "asset", "id": asset["id"]}


def test_spaces_and_drm_answer_not_supported_to_the_sdk(server: VidlakeServer) -> None:
    for script in ("return await mux.video.drmConfigurations.list();",
                   "return await mux.video.drmConfigurations.retrieve('d1');"):
        with pytest.raises(NodeError, match="not supported") as caught:
            node(server, script)
        assert caught.value.status == 400


def test_static_renditions_with_the_sdk(server: VidlakeServer, ready: dict[str, Any]) -> None:
    asset = ready["asset"]
    created = node(server, """
        return await mux.video.assets.createStaticRendition(input.id, { resolution: 'audio-only' });
    """, id=asset["id"])
    assert created["status"] == "preparing" and created["name"] == "audio.m4a"
    deadline = time.monotonic() + 120
    status = "preparing"
    while status == "preparing" and time.monotonic() < deadline:
        time.sleep(0.2)
        files = node(server, "return (await mux.video.assets.retrieve(input.id)).static_renditions.files;",
                     id=asset["id"])
        status = next(f["status"] for f in files if f["id"] == created["id"])
    assert status == "ready"
    assert httpx.get(f"{server.url}/{_pid(asset, 'public')}/audio.m4a").status_code == 200
    node(server, "await mux.video.assets.deleteStaticRendition(input.id, input.rid);", id=asset["id"],
         rid=created["id"])
    assert httpx.get(f"{server.url}/{_pid(asset, 'public')}/audio.m4a").status_code == 404


def test_playback_restriction_with_the_sdk(server: VidlakeServer, ready: dict[str, Any]) -> None:
    pid = _pid(ready["asset"], "signed")
    with server.client() as c:
        key = c.post("/system/v1/signing-keys").json()["data"]
    out = node(server, """
        const r = await mux.video.playbackRestrictions.create({
            referrer: { allowed_domains: ['player.example'], allow_no_referrer: false },
            user_agent: { allow_no_user_agent: true, allow_high_risk_user_agent: true } });
        const token = await mux.jwt.signPlaybackId(input.pid, { keyId: input.keyId, keySecret: input.keySecret,
            type: 'video', params: { playback_restriction_id: r.id } });
        const listed = (await mux.video.playbackRestrictions.list()).data.map((x) => x.id);
        return { id: r.id, token, listed };
    """, pid=pid, keyId=key["id"], keySecret=key["private_key"])
    assert out["id"] in out["listed"]
    url = f"{server.url}/{pid}.m3u8"
    for referer, expected in (("https://player.example/", 200), ("https://other.example/", 403)):
        assert httpx.get(url, params={"token": out["token"]}, headers={"Referer": referer}).status_code == expected
    assert httpx.get(url, params={"token": out["token"]}).status_code == 403
    node(server, "await mux.video.playbackRestrictions.updateReferrer(input.id, "
                 "{ allowed_domains: ['*'], allow_no_referrer: true });", id=out["id"])
    assert httpx.get(url, params={"token": out["token"]}).status_code == 200
    node(server, "await mux.video.playbackRestrictions.delete(input.id);", id=out["id"])
    assert httpx.get(url, params={"token": out["token"]}).status_code == 403


def test_live_stream_update_with_the_sdk(server: VidlakeServer) -> None:
    out = node(server, """
        const s = await mux.video.liveStreams.create({ playback_policies: ['public'],
                                                      new_asset_settings: { playback_policies: ['public'] } });
        const updated = await mux.video.liveStreams.update(s.id, { latency_mode: 'reduced', reconnect_window: 20,
                                                                   max_continuous_duration: 7200 });
        const statics = await mux.video.liveStreams.updateNewAssetSettingsStaticRenditions(s.id,
            { static_renditions: [{ resolution: 'highest' }] });
        await mux.video.liveStreams.deleteNewAssetSettingsStaticRenditions(s.id);
        const cc = await mux.video.liveStreams.updateEmbeddedSubtitles(s.id,
            { embedded_subtitles: [{ name: 'English CC', language_code: 'en', language_channel: 'cc1' }] });
        const after = await mux.video.liveStreams.retrieve(s.id);
        return { updated, statics: statics.new_asset_settings.static_renditions, after, cc: cc.embedded_subtitles };
    """)
    assert out["cc"] == [{"name": "English CC", "language_code": "en", "language_channel": "cc1", "passthrough": None}]
    assert out["after"]["embedded_subtitles"] == out["cc"]
    assert out["updated"]["latency_mode"] == "reduced" and out["updated"]["reconnect_window"] == 20
    assert out["updated"]["max_continuous_duration"] == 7200
    assert out["statics"] == [{"resolution": "highest"}]
    assert "static_renditions" not in out["after"]["new_asset_settings"]


def test_master_access_with_the_sdk(server: VidlakeServer, ready: dict[str, Any]) -> None:
    asset_id = ready["asset"]["id"]
    first = node(server, "return await mux.video.assets.updateMasterAccess(input.id, "
                         "{ master_access: 'temporary' });", id=asset_id)
    assert first["master"]["status"] == "preparing"
    deadline = time.monotonic() + 120
    master = first["master"]
    while master["status"] == "preparing" and time.monotonic() < deadline:
        time.sleep(0.2)
        master = node(server, "return (await mux.video.assets.retrieve(input.id)).master;", id=asset_id)
    assert master["status"] == "ready" and httpx.get(master["url"]).status_code == 200
    gone = node(server, "return await mux.video.assets.updateMasterAccess(input.id, { master_access: 'none' });",
                id=asset_id)
    assert gone["master_access"] == "none" and "master" not in gone
    assert httpx.get(master["url"]).status_code == 404
