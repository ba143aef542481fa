"""Prometheus gauges of live ingest health, read from this process's :class:`LiveIngest` at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vidlake.live import ingest

_GAUGES = (
    ("bitrate_bps", "vidlake_live_ingest_bitrate_bps", "Ingest bitrate in bits per second"),
    ("frame_rate", "vidlake_live_ingest_frame_rate", "Ingest frame rate in frames per second"),
    ("keyframe_interval_s", "vidlake_live_ingest_keyframe_interval_seconds", "Keyframe interval in seconds"),
    ("bytes_received", "vidlake_live_ingest_bytes_received", "Bytes received on the current publish"),
    ("seconds_since_last_frame", "vidlake_live_ingest_seconds_since_last_frame", "Seconds since the last frame"),
)


class LiveCollector(Collector):
    """One gauge family per health figure, labelled by live stream id; plus connected publishers."""

    def collect(self) -> Iterator[Metric]:
        owner = ingest.current()
        rows = owner.all_health() if owner is not None else []
        connected = GaugeMetricFamily("vidlake_live_streams_connected", "Live streams with a connected publisher")
        connected.add_metric([], float(sum(1 for _, h in rows if h.get("connected"))))
        yield connected
        for field, name, doc in _GAUGES:
            family = GaugeMetricFamily(name, doc, labels=["live_stream_id"])
            for stream_id, health in rows:
                value = health.get(field)
                if isinstance(value, int | float):
                    family.add_metric([stream_id], float(value))
            yield family
