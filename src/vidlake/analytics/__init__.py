"""Viewer-experience analytics (QoE): a collector for the beacons of Mux's ``mux-embed`` SDK, a roll-up job
that turns their events into views with Mux Data's metrics, and the queries behind the Data API.

See ``docs/analytics.md``.
"""
