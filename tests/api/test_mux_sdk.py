"""Mux's official Python SDK (mux-python), pointed at Vidlake by changing the host, works unchanged."""

from __future__ import annotations

import time
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
    api.delete_asset(asset.id)
    with pytest.raises(mux_python.exceptions.NotFoundException):
        api.get_asset(asset.id)


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


def test_sdk_sees_mux_shaped_errors(server: VidlakeServer) -> None:
    config = mux_python.Configuration()
    config.host = server.url
    config.username, config.password = "wrong", "credentials-of-nobody"
    with pytest.raises(mux_python.exceptions.UnauthorizedException):
        mux_python.AssetsApi(mux_python.ApiClient(config)).list_assets()
