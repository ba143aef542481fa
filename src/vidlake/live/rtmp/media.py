"""RTMP media and data messages turned into the FLV byte stream a publish target gets, with the session's
statistics fed on the way (pure, no I/O)."""

from __future__ import annotations

import dataclasses

from vidlake.live.rtmp import amf0, chunk, flv, messages
from vidlake.live.rtmp.amf0 import EcmaArray
from vidlake.live.rtmp.chunk import RtmpMessage
from vidlake.live.stats import StatsTracker


class FlvWriter:
    """Writes one publish's FLV: the header once, then a tag per message. ``stats`` gets every frame."""

    def __init__(self, stats: StatsTracker) -> None:
        self.stats = stats
        self._flv_header_sent = False
        self._video_infos: dict[int, flv.VideoInfo] = {}
        self._audio_infos: dict[int, flv.AudioInfo] = {}

    def header(self, flv_out: bytearray) -> None:
        """Append the FLV header to ``flv_out`` unless it was written already."""
        if not self._flv_header_sent:
            flv_out += flv.header(audio=True, video=True)
            self._flv_header_sent = True

    def media(self, type_id: int, timestamp_ms: int, body: bytes, flv_out: bytearray) -> None:
        """An audio (8) or video (9) message at ``timestamp_ms`` (milliseconds) → an FLV tag in ``flv_out``."""
        if not body:
            return
        if type_id == chunk.VIDEO:
            self.stats.on_video(self._video_info(body), timestamp_ms, len(body))
        else:
            self.stats.on_audio(self._audio_info(body), timestamp_ms, len(body))
        if not self._flv_header_sent:
            self.header(flv_out)
        flv.append_tag(flv_out, type_id, timestamp_ms, body)

    def _video_info(self, body: bytes) -> flv.VideoInfo:
        """:func:`flv.parse_video`, cached for coded frames of legacy AVC/HEVC/AV1 (what the statistics
        need depends on the first byte only; the composition time is not kept)."""
        b0 = body[0]
        if len(body) >= 5 and body[1] == 1 and not b0 & 0x80:
            info = self._video_infos.get(b0)
            if info is None:
                info = self._video_infos[b0] = dataclasses.replace(flv.parse_video(body), composition_time_ms=0)
            return info
        return flv.parse_video(body)

    def _audio_info(self, body: bytes) -> flv.AudioInfo:
        """:func:`flv.parse_audio`, cached for legacy frames other than AAC sequence headers."""
        b0 = body[0]
        fmt = b0 >> 4
        if fmt != 9 and (fmt != 10 or (len(body) >= 2 and body[1] != 0)):
            info = self._audio_infos.get(b0)
            if info is None:
                info = self._audio_infos[b0] = flv.parse_audio(body)
            return info
        return flv.parse_audio(body)

    def data(self, msg: RtmpMessage, flv_out: bytearray) -> None:
        """A data message (``@setDataFrame``/``onMetaData``...) → a script tag in ``flv_out``."""
        values = messages.parse_data(msg)
        meta = messages.metadata_from_data(values)
        if meta is not None:
            self.stats.on_metadata(meta)
            body = amf0.encode("onMetaData", EcmaArray(meta))
        elif values and values[0] == "@setDataFrame":
            body = amf0.encode(*values[1:])
        elif values:
            body = amf0.encode(*values)
        else:
            return
        self.header(flv_out)
        flv_out += flv.tag(flv.TAG_SCRIPT, msg.timestamp, body)
