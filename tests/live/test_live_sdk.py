"""The live streams API through Mux's official Python SDK (``LiveStreamsApi``), host changed only."""

from __future__ import annotations

import mux_python
import pytest
from services import VidlakeServer

pytestmark = pytest.mark.slow


def test_live_streams_with_the_mux_sdk(live_server: VidlakeServer) -> None:
    config = mux_python.Configuration()
    config.host = live_server.url
    config.username, config.password = live_server.auth
    api = mux_python.LiveStreamsApi(mux_python.ApiClient(config))
    request = mux_python.CreateLiveStreamRequest(
        playback_policy=[mux_python.PlaybackPolicy.PUBLIC],
        new_asset_settings=mux_python.CreateAssetRequest(playback_policy=[mux_python.PlaybackPolicy.PUBLIC]),
        reconnect_window=15, latency_mode="reduced", passthrough="class-7",
    )
    created = api.create_live_stream(request).data
    assert created.status == "idle" and created.latency_mode == "reduced" and created.reconnect_window == 15
    assert created.passthrough == "class-7" and created.stream_key and created.playback_ids[0].policy == "public"
    got = api.get_live_stream(created.id).data
    assert got.stream_key == created.stream_key and got.recent_asset_ids == []
    assert created.id in [s.id for s in api.list_live_streams().data]
    reset = api.reset_stream_key(created.id).data
    assert reset.stream_key != created.stream_key
    pid = api.create_live_stream_playback_id(created.id, mux_python.CreatePlaybackIDRequest(
        policy=mux_python.PlaybackPolicy.SIGNED)).data
    assert api.get_live_stream_playback_id(created.id, pid.id).data.policy == "signed"
    api.delete_live_stream_playback_id(created.id, pid.id)
    target = api.create_live_stream_simulcast_target(created.id, mux_python.CreateSimulcastTargetRequest(
        url="rtmp://127.0.0.1:1/app", stream_key="k")).data
    assert api.get_live_stream_simulcast_target(created.id, target.id).data.url == "rtmp://127.0.0.1:1/app"
    api.delete_live_stream_simulcast_target(created.id, target.id)
    api.disable_live_stream(created.id)
    assert api.get_live_stream(created.id).data.status == "disabled"
    api.enable_live_stream(created.id)
    api.signal_live_stream_complete(created.id)
    assert api.get_live_stream(created.id).data.status == "idle"
    api.delete_live_stream(created.id)
    with pytest.raises(mux_python.rest.NotFoundException):
        api.get_live_stream(created.id)
