"""Mux's official Python SDK (mux-python), pointed at Vidlake by changing the host, works unchanged."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import mux_python
import pytest
from media import FileServer, make_av
from mux_python.api.spaces_api import SpacesApi  # in the SDK, not exported at its top level
from mux_python.models.create_space_request import CreateSpaceRequest
from services import VidlakeServer
from test_assets import wait_asset

from vidlake.db.models import Asset
from vidlake.db.session import Database

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    root = tmp_path_factory.mktemp("sdk")
    make_av(root / "clip.mp4", seconds=3)
    (root / "en.srt").write_text("1\n00:00:00,500 --> 00:00:02,000\nHello from the SDK\n")
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
    info = api.get_asset_input_info(asset.id).data
    assert info[0].settings.url == f"{files.url}/clip.mp4" and info[0].file.container_format
    by_type = {t.type: t for t in info[0].file.tracks}
    assert (by_type["video"].width, by_type["video"].height) == (640, 360) and by_type["video"].encoding == "h264"
    assert by_type["audio"].channels >= 1 and by_type["audio"].sample_rate > 0
    owner = mux_python.PlaybackIDApi(_client(server)).get_asset_or_livestream_id(asset.playback_ids[0].id).data
    assert (owner.object.type, owner.object.id, owner.policy) == ("asset", asset.id, "public")
    api.delete_asset(asset.id)
    with pytest.raises(mux_python.exceptions.NotFoundException):
        mux_python.PlaybackIDApi(_client(server)).get_asset_or_livestream_id(asset.playback_ids[0].id)
    with pytest.raises(mux_python.exceptions.NotFoundException):
        api.get_asset(asset.id)


def _wait_static(api: mux_python.AssetsApi, asset_id: str, name: str) -> Any:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        files = {f.name: f for f in api.get_asset(asset_id).data.static_renditions.files or []}
        if name in files and files[name].status != "preparing":
            return files[name]
        time.sleep(0.2)
    raise AssertionError(f"{name} of {asset_id} stayed preparing")


def test_static_renditions_after_creation_with_the_mux_sdk(server: VidlakeServer, files: FileServer) -> None:
    api = mux_python.AssetsApi(_client(server))
    asset = api.create_asset(mux_python.CreateAssetRequest(
        input=[mux_python.InputSettings(url=f"{files.url}/clip.mp4")],
        playback_policy=[mux_python.PlaybackPolicy.PUBLIC])).data
    with server.client() as c:
        wait_asset(c, asset.id)
    pid = api.get_asset(asset.id).data.playback_ids[0].id
    assert api.get_asset(asset.id).data.static_renditions.status == "disabled"
    made = {}
    for resolution in ("highest", "audio-only", "360p", "1080p"):
        created = api.create_asset_static_rendition(
            asset.id, mux_python.CreateStaticRenditionRequest(resolution=resolution, passthrough=resolution)).data
        assert created.status == "preparing" and created.id
        made[resolution] = created
    highest = _wait_static(api, asset.id, "highest.mp4")
    assert highest.status == "ready" and (highest.width, highest.height) == (640, 360)
    assert _wait_static(api, asset.id, "audio.m4a").status == "ready"
    assert _wait_static(api, asset.id, "360p.mp4").status == "ready"
    assert _wait_static(api, asset.id, "1080p.mp4").status == "skipped"  # above the 360p input, as Mux skips
    mp4 = httpx.get(f"{server.url}/{pid}/360p.mp4")
    assert mp4.status_code == 200 and mp4.content[4:8] == b"ftyp"
    with pytest.raises(mux_python.exceptions.ApiException) as caught:
        api.create_asset_static_rendition(asset.id, mux_python.CreateStaticRenditionRequest(resolution="highest"))
    assert caught.value.status == 409
    api.delete_asset_static_rendition(asset.id, made["360p"].id)
    assert httpx.get(f"{server.url}/{pid}/360p.mp4").status_code == 404
    assert "360p.mp4" not in [f.name for f in api.get_asset(asset.id).data.static_renditions.files]
    # Legacy mp4-support: capped-1080p.mp4 is made; "none" removes the legacy files (not named resolutions).
    api.update_asset_mp4_support(asset.id, mux_python.UpdateAssetMP4SupportRequest(mp4_support="capped-1080p"))
    assert _wait_static(api, asset.id, "capped-1080p.mp4").status == "ready"
    assert api.get_asset(asset.id).data.mp4_support == "capped-1080p"
    api.update_asset_mp4_support(asset.id, mux_python.UpdateAssetMP4SupportRequest(mp4_support="none"))
    names = [f.name for f in api.get_asset(asset.id).data.static_renditions.files]
    assert not {"capped-1080p.mp4", "highest.mp4", "audio.m4a"} & set(names) and "1080p.mp4" in names
    assert httpx.get(f"{server.url}/{pid}/capped-1080p.mp4").status_code == 404


def _wait_track(api: mux_python.AssetsApi, asset_id: str, track_id: str) -> mux_python.Track:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        track = next(t for t in api.get_asset(asset_id).data.tracks if t.id == track_id)
        if track.status != "preparing":
            return track
        time.sleep(0.3)
    raise AssertionError(f"track {track_id} still preparing")


def test_text_tracks_and_generated_subtitles_with_the_mux_sdk(server: VidlakeServer, files: FileServer) -> None:
    api = mux_python.AssetsApi(_client(server))
    created = api.create_asset(mux_python.CreateAssetRequest(
        input=[mux_python.InputSettings(url=f"{files.url}/clip.mp4")],
        playback_policy=[mux_python.PlaybackPolicy.PUBLIC])).data
    with server.client() as c:
        wait_asset(c, created.id)
    track = api.create_asset_track(created.id, mux_python.CreateTrackRequest(
        url=f"{files.url}/en.srt", type="text", text_type="subtitles", language_code="en", name="English",
        closed_captions=True, passthrough="from-sdk")).data
    assert (track.type, track.text_source, track.status) == ("text", "uploaded", "preparing")
    assert _wait_track(api, created.id, track.id).status == "ready"
    audio = next(t for t in api.get_asset(created.id).data.tracks if t.type == "audio")
    generated = api.generate_asset_track_subtitles(created.id, audio.id, mux_python.GenerateTrackSubtitlesRequest(
        generated_subtitles=[mux_python.AssetGeneratedSubtitleSettings(language_code="en", name="English (auto)")]
    )).data
    assert generated[0].text_source == "generated_vod" and generated[0].name == "English (auto)"
    assert _wait_track(api, created.id, generated[0].id).status == "ready"  # a sine tone: no words, still ready
    api.delete_asset_track(created.id, track.id)
    assert track.id not in [t.id for t in api.get_asset(created.id).data.tracks]
    vocab_api = mux_python.TranscriptionVocabulariesApi(_client(server))
    vocab = vocab_api.create_transcription_vocabulary(mux_python.CreateTranscriptionVocabularyRequest(
        name="brands", phrases=["Vidlake", "StreamLake"])).data
    assert vocab_api.get_transcription_vocabulary(vocab.id).data.phrases == ["Vidlake", "StreamLake"]
    updated = vocab_api.update_transcription_vocabulary(vocab.id, mux_python.UpdateTranscriptionVocabularyRequest(
        phrases=["Vidlake"])).data
    assert updated.phrases == ["Vidlake"]
    assert vocab.id in [v.id for v in vocab_api.list_transcription_vocabularies().data]
    vocab_api.delete_transcription_vocabulary(vocab.id)


def test_signing_keys_with_the_mux_sdk(server: VidlakeServer) -> None:
    api = mux_python.SigningKeysApi(_client(server))
    key = api.create_signing_key().data
    assert key.private_key and key.id
    assert key.id in [k.id for k in api.list_signing_keys().data]
    assert api.get_signing_key(key.id).data.id == key.id
    api.delete_signing_key(key.id)


def test_legacy_url_signing_keys_with_the_mux_sdk(server: VidlakeServer) -> None:
    api = mux_python.URLSigningKeysApi(_client(server))
    key = api.create_url_signing_key().data
    assert key.private_key and key.id in [k.id for k in api.list_url_signing_keys().data]
    assert api.get_url_signing_key(key.id).data.id == key.id
    # The same keys as /system/v1/signing-keys.
    assert mux_python.SigningKeysApi(_client(server)).get_signing_key(key.id).data.id == key.id
    api.delete_url_signing_key(key.id)
    with pytest.raises(mux_python.exceptions.NotFoundException):
        api.get_url_signing_key(key.id)


@pytest.mark.parametrize("call", [
    lambda c: SpacesApi(c).list_spaces(),
    lambda c: SpacesApi(c).create_space(CreateSpaceRequest()),
    lambda c: SpacesApi(c).start_space_broadcast("s1", "b1"),
    lambda c: mux_python.DRMConfigurationsApi(c).list_drm_configurations(),
    lambda c: mux_python.DRMConfigurationsApi(c).get_drm_configuration("d1"),
])
def test_spaces_and_drm_answer_not_supported(server: VidlakeServer, call: Any) -> None:
    with pytest.raises(mux_python.exceptions.ApiException) as caught:
        call(_client(server))
    assert caught.value.status == 400
    error = json.loads(caught.value.body)["error"]
    assert error["type"] == "not_supported" and "not supported" in error["messages"][0]


def test_sdk_sees_mux_shaped_errors(server: VidlakeServer) -> None:
    config = mux_python.Configuration()
    config.host = server.url
    config.username, config.password = "wrong", "credentials-of-nobody"
    with pytest.raises(mux_python.exceptions.UnauthorizedException):
        mux_python.AssetsApi(mux_python.ApiClient(config)).list_assets()


def test_master_access_with_the_mux_sdk(server: VidlakeServer, files: FileServer) -> None:
    api = mux_python.AssetsApi(_client(server))
    asset = api.create_asset(mux_python.CreateAssetRequest(
        input=[mux_python.InputSettings(url=f"{files.url}/clip.mp4")])).data
    with server.client() as c:
        wait_asset(c, asset.id)
    assert api.get_asset(asset.id).data.master_access == "none"
    updated = api.update_asset_master_access(
        asset.id, mux_python.UpdateAssetMasterAccessRequest(master_access="temporary")).data
    assert updated.master_access == "temporary" and updated.master.status == "preparing"
    deadline = time.monotonic() + 120
    while api.get_asset(asset.id).data.master.status == "preparing" and time.monotonic() < deadline:
        time.sleep(0.2)
    master = api.get_asset(asset.id).data.master
    assert master.status == "ready" and master.url.startswith(server.url)
    download = httpx.get(master.url)
    assert download.status_code == 200 and download.content[4:8] == b"ftyp"
    assert httpx.get(master.url.replace("/master.mp4", "x/master.mp4")).status_code == 404
    # 24 hours later (moved into the past here): the maintenance pass deletes it.
    db = Database(f"sqlite:///{server.data_dir / 'vidlake.db'}")
    with db.session() as s:
        s.get(Asset, asset.id).master_expires_at = 1.0  # type: ignore[union-attr]
    deadline = time.monotonic() + 30
    while api.get_asset(asset.id).data.master_access != "none" and time.monotonic() < deadline:
        time.sleep(0.2)
    gone = api.get_asset(asset.id).data
    assert gone.master_access == "none" and gone.master is None
    assert httpx.get(master.url).status_code == 404
    assert not list((server.data_dir).rglob("master.mp4"))


def test_playback_restrictions_with_the_mux_sdk(server: VidlakeServer, files: FileServer) -> None:
    api = mux_python.PlaybackRestrictionsApi(_client(server))
    created = api.create_playback_restriction(mux_python.CreatePlaybackRestrictionRequest(
        referrer=mux_python.ReferrerDomainRestriction(allowed_domains=["example.com", "*.video.test"],
                                                      allow_no_referrer=False),
        user_agent=mux_python.UserAgentRestrictionRequest(allow_no_user_agent=False,
                                                          allow_high_risk_user_agent=False))).data
    assert created.referrer.allowed_domains == ["example.com", "*.video.test"]
    assert api.get_playback_restriction(created.id).data.user_agent.allow_no_user_agent is False
    assert created.id in [r.id for r in api.list_playback_restrictions().data]
    assets = mux_python.AssetsApi(_client(server))
    asset = assets.create_asset(mux_python.CreateAssetRequest(
        input=[mux_python.InputSettings(url=f"{files.url}/clip.mp4")],
        playback_policy=[mux_python.PlaybackPolicy.SIGNED])).data
    with server.client() as c:
        wait_asset(c, asset.id, complete=False)
    key = mux_python.SigningKeysApi(_client(server)).create_signing_key().data
    pid = asset.playback_ids[0].id
    token = jwt.encode({"sub": pid, "aud": "v", "exp": int(time.time()) + 600,
                        "playback_restriction_id": created.id},
                       base64.b64decode(key.private_key), algorithm="RS256", headers={"kid": key.id})
    browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"

    def status(referer: str | None, agent: str | None) -> int:
        headers = {k: v for k, v in (("Referer", referer), ("User-Agent", agent)) if v is not None}
        return httpx.get(f"{server.url}/{pid}.m3u8", params={"token": token}, headers=headers).status_code

    assert status("https://example.com/watch", browser) == 200
    assert status("https://a.video.test/", browser) == 200
    assert status("https://video.test/", browser) == 403  # *. matches subdomains only
    assert status("https://evil.example/", browser) == 403
    assert status(None, browser) == 403
    assert status("https://example.com/", "curl/8.5.0") == 403
    api.update_referrer_domain_restriction(created.id, mux_python.UpdateReferrerDomainRestrictionRequest(
        allowed_domains=["*"], allow_no_referrer=True))
    api.update_user_agent_restriction(created.id, mux_python.UpdateUserAgentRestrictionRequest(
        allow_no_user_agent=False, allow_high_risk_user_agent=True))
    assert status(None, "curl/8.5.0") == 200 and status("https://evil.example/", browser) == 200
    # Every playback URL of the id checks it: a media playlist and a segment too.
    master = httpx.get(f"{server.url}/{pid}.m3u8", params={"token": token}, headers={"User-Agent": browser})
    uri = next(line for line in master.text.splitlines() if line and not line.startswith("#"))
    assert httpx.get(f"{server.url}/{uri}", headers={"User-Agent": browser}).status_code == 200
    api.update_user_agent_restriction(created.id, mux_python.UpdateUserAgentRestrictionRequest(
        allow_no_user_agent=False, allow_high_risk_user_agent=False))
    assert httpx.get(f"{server.url}/{uri}", headers={"User-Agent": "Lavf/60.3.100"}).status_code == 403
    api.delete_playback_restriction(created.id)
    assert status(None, browser) == 403  # a token naming a deleted restriction is refused
    with pytest.raises(mux_python.exceptions.NotFoundException):
        api.get_playback_restriction(created.id)
    with pytest.raises(mux_python.exceptions.ApiException) as caught:
        api.create_playback_restriction(mux_python.CreatePlaybackRestrictionRequest(
            referrer=mux_python.ReferrerDomainRestriction(allowed_domains=["not a domain"])))
    assert caught.value.status == 400 and "allowed_domains" in caught.value.body


def test_live_stream_update_with_the_mux_sdk(server: VidlakeServer) -> None:
    api = mux_python.LiveStreamsApi(_client(server))
    stream = api.create_live_stream(mux_python.CreateLiveStreamRequest(
        playback_policy=[mux_python.PlaybackPolicy.PUBLIC], passthrough="before",
        new_asset_settings=mux_python.CreateAssetRequest(playback_policy=[mux_python.PlaybackPolicy.PUBLIC]))).data
    assert stream.latency_mode == "standard" and stream.reconnect_window == 60
    updated = api.update_live_stream(stream.id, mux_python.UpdateLiveStreamRequest(
        latency_mode="low", reconnect_window=15, max_continuous_duration=3600, passthrough="after")).data
    assert (updated.latency_mode, updated.reconnect_window, updated.max_continuous_duration, updated.passthrough) == (
        "low", 15, 3600, "after")
    again = api.get_live_stream(stream.id).data
    assert again.latency_mode == "low" and again.low_latency is True and again.passthrough == "after"
    # Only the fields sent change.
    assert api.update_live_stream(stream.id, mux_python.UpdateLiveStreamRequest(
        reconnect_window=30)).data.latency_mode == "low"
    with server.client() as c:  # the SDK checks this range itself, so ask without it
        refused = c.patch(f"/video/v1/live-streams/{stream.id}", json={"max_continuous_duration": 5})
    assert refused.status_code == 400 and "max_continuous_duration" in refused.text
    with_statics = api.update_live_stream_new_asset_settings_static_renditions(
        stream.id, mux_python.UpdateLiveStreamNewAssetSettingsStaticRenditionsRequest(static_renditions=[
            mux_python.CreateStaticRenditionRequest(resolution="audio-only"),
            mux_python.CreateStaticRenditionRequest(resolution="highest")])).data
    assert [r.resolution for r in with_statics.new_asset_settings.static_renditions] == ["audio-only", "highest"]
    api.delete_live_stream_new_asset_settings_static_renditions(stream.id)
    assert not api.get_live_stream(stream.id).data.new_asset_settings.static_renditions
    unrecorded = api.create_live_stream(mux_python.CreateLiveStreamRequest(
        playback_policy=[mux_python.PlaybackPolicy.PUBLIC])).data
    with pytest.raises(mux_python.exceptions.ApiException) as caught:
        api.update_live_stream_new_asset_settings_static_renditions(
            unrecorded.id, mux_python.UpdateLiveStreamNewAssetSettingsStaticRenditionsRequest(
                static_renditions=[mux_python.CreateStaticRenditionRequest(resolution="highest")]))
    assert caught.value.status == 400 and "new_asset_settings" in caught.value.body
