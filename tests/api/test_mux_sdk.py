"""Mux's official Python SDK (mux-python), pointed at Vidlake by changing the host, works unchanged."""

from __future__ import annotations

from collections.abc import Iterator

import mux_python
import pytest
from media import FileServer, make_av
from services import VidlakeServer
from test_assets import wait_asset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    root = tmp_path_factory.mktemp("sdk")
    make_av(root / "clip.mp4", seconds=3)
    server = FileServer(root)
    yield server
    server.close()


def _client(server: VidlakeServer) -> mux_python.ApiClient:
    config = mux_python.Configuration()
    config.host = server.url
    config.username, config.password = server.auth
    return mux_python.ApiClient(config)


def test_assets_with_the_mux_sdk(server: VidlakeServer, files: FileServer) -> None:
    api = mux_python.AssetsApi(_client(server))
    request = mux_python.CreateAssetRequest(
        input=[mux_python.InputSettings(url=f"{files.url}/clip.mp4")],
        playback_policy=[mux_python.PlaybackPolicy.PUBLIC],
        mp4_support="capped-1080p",
        passthrough="sdk",
    )
    created = api.create_asset(request)
    assert created.data.status == "preparing" and created.data.passthrough == "sdk"
    with server.client() as c:
        wait_asset(c, created.data.id)
    asset = api.get_asset(created.data.id).data
    assert asset.status == "ready" and asset.duration == pytest.approx(3, abs=0.2)
    assert asset.playback_ids[0].policy == "public"
    assert {t.type for t in asset.tracks} == {"video", "audio"}
    assert asset.static_renditions.status == "ready"
    assert asset.static_renditions.files[0].name == "capped-1080p.mp4"
    listed = api.list_assets(limit=10, page=1).data
    assert created.data.id in [a.id for a in listed]
    pid = api.create_asset_playback_id(asset.id, mux_python.CreatePlaybackIDRequest(
        policy=mux_python.PlaybackPolicy.SIGNED)).data
    assert api.get_asset_playback_id(asset.id, pid.id).data.policy == "signed"
    api.delete_asset_playback_id(asset.id, pid.id)
    updated = api.update_asset(asset.id, mux_python.UpdateAssetRequest(passthrough="renamed")).data
    assert updated.passthrough == "renamed"
    api.delete_asset(asset.id)
    with pytest.raises(mux_python.exceptions.NotFoundException):
        api.get_asset(asset.id)


def test_signing_keys_with_the_mux_sdk(server: VidlakeServer) -> None:
    api = mux_python.SigningKeysApi(_client(server))
    key = api.create_signing_key().data
    assert key.private_key and key.id
    assert key.id in [k.id for k in api.list_signing_keys().data]
    assert api.get_signing_key(key.id).data.id == key.id
    api.delete_signing_key(key.id)


def test_sdk_sees_mux_shaped_errors(server: VidlakeServer) -> None:
    config = mux_python.Configuration()
    config.host = server.url
    config.username, config.password = "wrong", "credentials-of-nobody"
    with pytest.raises(mux_python.exceptions.UnauthorizedException):
        mux_python.AssetsApi(mux_python.ApiClient(config)).list_assets()
