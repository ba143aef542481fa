"""Commands and data messages: parsing client commands, building server answers."""

from __future__ import annotations

import pytest

from vidlake.live.rtmp import amf0, chunk, messages
from vidlake.live.rtmp.amf0 import EcmaArray
from vidlake.live.rtmp.chunk import RtmpMessage
from vidlake.live.rtmp.errors import RtmpProtocolError


def test_parse_connect_like_ffmpeg_sends_it() -> None:
    body = amf0.encode(
        "connect", 1.0, {"app": "live", "type": "nonprivate", "flashVer": "FMLE/3.0", "tcUrl": "rtmp://h/live"}
    )
    cmd = messages.parse_command(RtmpMessage(chunk.COMMAND_AMF0, body, 0, 0, 3))
    assert cmd.name == "connect" and cmd.transaction_id == 1.0
    assert isinstance(cmd.command_object, dict) and cmd.command_object["app"] == "live"


def test_parse_publish_and_amf3_command() -> None:
    body = amf0.encode("publish", 5.0, None, "KEY?x=1", "live")
    cmd = messages.parse_command(RtmpMessage(chunk.COMMAND_AMF3, b"\x00" + body, 0, 1, 8))
    assert cmd.name == "publish" and cmd.stream_id == 1
    assert cmd.arg_str(0) == "KEY?x=1" and cmd.arg_str(1) == "live" and cmd.arg_str(2) is None
    name = messages.split_stream_name(cmd.arg_str(0) or "")
    assert (name.key, name.query) == ("KEY", "x=1")


@pytest.mark.parametrize(
    "msg",
    [
        RtmpMessage(chunk.COMMAND_AMF0, amf0.encode(1.0, "x")),
        RtmpMessage(chunk.COMMAND_AMF0, amf0.encode("connect")),
        RtmpMessage(chunk.COMMAND_AMF0, b"\x02\x00"),
        RtmpMessage(chunk.COMMAND_AMF3, b"\x11\x00"),
        RtmpMessage(chunk.VIDEO, b"\x17"),
    ],
)
def test_bad_commands_raise(msg: RtmpMessage) -> None:
    with pytest.raises(RtmpProtocolError):
        messages.parse_command(msg)


def test_connect_result_content() -> None:
    cmd = messages.parse_command(messages.connect_result(1.0))
    assert cmd.name == "_result" and cmd.transaction_id == 1.0
    assert isinstance(cmd.args[0], dict)
    assert cmd.args[0]["code"] == "NetConnection.Connect.Success"
    assert cmd.args[0]["level"] == "status"


def test_create_stream_and_status_messages() -> None:
    res = messages.parse_command(messages.create_stream_result(4.0, 1))
    assert res.args == (1.0,)
    start = messages.parse_command(messages.publish_start(1, "stream"))
    assert start.name == "onStatus" and start.stream_id == 1
    assert isinstance(start.args[0], dict) and start.args[0]["code"] == "NetStream.Publish.Start"
    bad = messages.parse_command(messages.publish_bad_name(1, "nope"))
    assert isinstance(bad.args[0], dict)
    assert bad.args[0]["code"] == "NetStream.Publish.BadName" and bad.args[0]["level"] == "error"
    err = messages.parse_command(messages.error_result(3.0, "X.Y", "why"))
    assert err.name == "_error" and isinstance(err.args[0], dict) and err.args[0]["level"] == "error"


def test_metadata_with_and_without_set_data_frame() -> None:
    meta = EcmaArray(width=320.0, height=180.0, framerate=25.0)
    with_sdf = messages.parse_data(RtmpMessage(chunk.DATA_AMF0, amf0.encode("@setDataFrame", "onMetaData", meta)))
    assert messages.metadata_from_data(with_sdf) == {"width": 320.0, "height": 180.0, "framerate": 25.0}
    plain = messages.parse_data(RtmpMessage(chunk.DATA_AMF3, b"\x00" + amf0.encode("onMetaData", meta)))
    assert messages.metadata_from_data(plain) == dict(meta)
    assert messages.metadata_from_data(["onCuePoint", {"a": 1.0}]) is None


def test_user_control_round_trip() -> None:
    msg = messages.user_control(messages.STREAM_BEGIN, 1)
    assert msg.payload == b"\x00\x00\x00\x00\x00\x01"
    assert messages.parse_user_control(msg) == (0, b"\x00\x00\x00\x01")
    with pytest.raises(RtmpProtocolError):
        messages.parse_user_control(RtmpMessage(4, b"\x00"))


@pytest.mark.parametrize(("raw", "app"), [("live", "live"), ("live/", "live"), ("/live?token=1", "live")])
def test_normalize_app(raw: str, app: str) -> None:
    assert messages.normalize_app(raw) == app
