"""RTMP commands and data messages: parsing what publishers send, building what the server answers.

A command message (type 20, AMF0; type 17 is the same after one leading format byte) is the AMF0
sequence ``name, transaction id, command object, *arguments``. The publish flow of OBS and ffmpeg::

    client                                   server
    connect(tx 1, {app, tcUrl, ...})   ->
                                       <-   Window Ack Size, Set Peer Bandwidth, Set Chunk Size
                                       <-   _result(tx 1, {fmsVer, ...}, {NetConnection.Connect.Success})
    releaseStream(tx 2, null, key)     ->   <- _result(tx 2)
    FCPublish(tx 3, null, key)         ->   <- onFCPublish, _result(tx 3)
    createStream(tx 4, null)           ->   <- _result(tx 4, null, stream id)
    publish(tx 5, null, key, "live")   ->   <- StreamBegin, onStatus(NetStream.Publish.Start)
                                                 or onStatus(NetStream.Publish.BadName), then close
    @setDataFrame("onMetaData", {...}) ->   (data message, type 18)
    audio (8) / video (9) messages     ->
    FCUnpublish / deleteStream         ->
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Final

from vidlake.live.rtmp import amf0
from vidlake.live.rtmp.amf0 import AmfValue
from vidlake.live.rtmp.chunk import (
    COMMAND_AMF0,
    COMMAND_AMF3,
    DATA_AMF0,
    DATA_AMF3,
    USER_CONTROL,
    RtmpMessage,
)
from vidlake.live.rtmp.errors import RtmpProtocolError

COMMAND_CSID: Final = 3
DATA_CSID: Final = 5

# User control event types.
STREAM_BEGIN: Final = 0
STREAM_EOF: Final = 1
PING_REQUEST: Final = 6
PING_RESPONSE: Final = 7

CONNECT_SUCCESS: Final = "NetConnection.Connect.Success"
CONNECT_REJECTED: Final = "NetConnection.Connect.Rejected"
PUBLISH_START: Final = "NetStream.Publish.Start"
PUBLISH_BAD_NAME: Final = "NetStream.Publish.BadName"
UNPUBLISH_SUCCESS: Final = "NetStream.Unpublish.Success"
PLAY_FAILED: Final = "NetStream.Play.Failed"

FMS_VERSION: Final = "FMS/3,5,1,1"


@dataclass(frozen=True)
class Command:
    """A decoded command: ``name``, ``transaction_id``, ``command_object`` and the remaining ``args``."""

    name: str
    transaction_id: float
    command_object: AmfValue
    args: tuple[AmfValue, ...] = ()
    stream_id: int = 0

    def arg_str(self, index: int) -> str | None:
        """The argument at ``index`` if it is a string, else ``None``."""
        if index < len(self.args) and isinstance(self.args[index], str):
            value = self.args[index]
            assert isinstance(value, str)
            return value
        return None


def parse_command(msg: RtmpMessage) -> Command:
    """Decode a command message (type 20, or 17 with its leading zero byte)."""
    payload = msg.payload
    if msg.type_id == COMMAND_AMF3:
        if not payload or payload[0] != 0:
            raise RtmpProtocolError("AMF3 command messages are not supported")
        payload = payload[1:]
    elif msg.type_id != COMMAND_AMF0:
        raise RtmpProtocolError(f"message type {msg.type_id} is not a command")
    values = amf0.decode_all(payload)
    if len(values) < 2 or not isinstance(values[0], str) or not isinstance(values[1], float):
        raise RtmpProtocolError("command must start with a name and a transaction id")
    cmd_obj = values[2] if len(values) > 2 else None
    return Command(values[0], values[1], cmd_obj, tuple(values[3:]), msg.stream_id)


def parse_data(msg: RtmpMessage) -> list[AmfValue]:
    """Decode a data message (type 18, or 15 with its leading zero byte) into its AMF0 values."""
    payload = msg.payload
    if msg.type_id == DATA_AMF3:
        if not payload or payload[0] != 0:
            raise RtmpProtocolError("AMF3 data messages are not supported")
        payload = payload[1:]
    elif msg.type_id != DATA_AMF0:
        raise RtmpProtocolError(f"message type {msg.type_id} is not a data message")
    return amf0.decode_all(payload)


def metadata_from_data(values: list[AmfValue]) -> dict[str, AmfValue] | None:
    """Return the ``onMetaData`` properties of a data message, with or without ``@setDataFrame``."""
    if values and values[0] == "@setDataFrame":
        values = values[1:]
    if len(values) >= 2 and values[0] == "onMetaData" and isinstance(values[1], dict):
        return dict(values[1])
    return None


def command_message(
    name: str, transaction_id: float, command_object: AmfValue, *args: AmfValue, stream_id: int = 0
) -> RtmpMessage:
    """Build a command message (type 20)."""
    payload = amf0.encode(name, float(transaction_id), command_object, *args)
    return RtmpMessage(COMMAND_AMF0, payload, 0, stream_id, COMMAND_CSID)


def status_info(code: str, description: str, level: str = "status", **extra: AmfValue) -> dict[str, AmfValue]:
    """The info object of ``_result``/``onStatus``: level, code, description."""
    info: dict[str, AmfValue] = {"level": level, "code": code, "description": description}
    info.update(extra)
    return info


def connect_result(transaction_id: float, object_encoding: float = 0.0) -> RtmpMessage:
    """``_result`` for ``connect``: NetConnection.Connect.Success."""
    props: dict[str, AmfValue] = {"fmsVer": FMS_VERSION, "capabilities": 31.0, "mode": 1.0}
    info = status_info(CONNECT_SUCCESS, "Connection succeeded.", objectEncoding=object_encoding)
    return command_message("_result", transaction_id, props, info)


def connect_rejected(transaction_id: float, description: str) -> RtmpMessage:
    """``_error`` for ``connect``: NetConnection.Connect.Rejected."""
    return command_message("_error", transaction_id, None, status_info(CONNECT_REJECTED, description, level="error"))


def create_stream_result(transaction_id: float, stream_id: int) -> RtmpMessage:
    """``_result`` for ``createStream`` carrying the new message stream id."""
    return command_message("_result", transaction_id, None, float(stream_id))


def simple_result(transaction_id: float) -> RtmpMessage:
    """``_result`` with no value (answer to releaseStream, FCPublish, FCUnpublish)."""
    return command_message("_result", transaction_id, None, amf0.UNDEFINED)


def error_result(transaction_id: float, code: str, description: str) -> RtmpMessage:
    """``_error`` for a command."""
    return command_message("_error", transaction_id, None, status_info(code, description, level="error"))


def on_status(stream_id: int, code: str, description: str, level: str = "status", **extra: AmfValue) -> RtmpMessage:
    """``onStatus`` on message stream ``stream_id``."""
    return command_message("onStatus", 0, None, status_info(code, description, level, **extra), stream_id=stream_id)


def publish_start(stream_id: int, key_label: str) -> RtmpMessage:
    """onStatus NetStream.Publish.Start."""
    return on_status(stream_id, PUBLISH_START, f"{key_label} is now published.", details=key_label)


def publish_bad_name(stream_id: int, description: str) -> RtmpMessage:
    """onStatus NetStream.Publish.BadName (level error): the publish is refused."""
    return on_status(stream_id, PUBLISH_BAD_NAME, description, level="error")


def on_fc_publish(code: str = PUBLISH_START, description: str = "") -> RtmpMessage:
    """``onFCPublish`` notification (answer to FCPublish that some encoders wait for)."""
    return command_message("onFCPublish", 0, None, status_info(code, description))


def user_control(event: int, *values: int) -> RtmpMessage:
    """User Control message (type 4) ``event`` with 32-bit values (StreamBegin: the stream id)."""
    payload = struct.pack(">H", event) + b"".join(struct.pack(">I", v & 0xFFFFFFFF) for v in values)
    return RtmpMessage(USER_CONTROL, payload, 0, 0, 2)


def parse_user_control(msg: RtmpMessage) -> tuple[int, bytes]:
    """Split a User Control message into (event type, event data)."""
    if len(msg.payload) < 2:
        raise RtmpProtocolError("User Control message shorter than 2 bytes")
    return struct.unpack_from(">H", msg.payload)[0], msg.payload[2:]


@dataclass(frozen=True)
class StreamName:
    """A publishing name split into the stream key and its optional query string."""

    key: str
    query: str = ""
    raw: str = field(default="", compare=False)


def split_stream_name(name: str) -> StreamName:
    """``"KEY?token=x"`` -> StreamName("KEY", "token=x"); leading/trailing slashes dropped."""
    key, _, query = name.partition("?")
    return StreamName(key.strip("/"), query, name)


def normalize_app(app: str) -> str:
    """The ``app`` of connect without query string and surrounding slashes (``"live/"`` -> ``"live"``)."""
    return app.partition("?")[0].strip("/")
