"""Prometheus metrics: HTTP requests (in-process counters) and jobs (read from the job table at
scrape time, so every worker on every machine is counted)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select

from vidlake.db.models import Job
from vidlake.runtime import Services

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class JobCollector(Collector):
    """Jobs by state and kind, and durations of finished jobs (seconds, started → finished)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily("vidlake_jobs", "Jobs by state and kind", labels=["state", "kind"])
        hist = HistogramMetricFamily(
            "vidlake_job_duration_seconds", "Duration of finished jobs in seconds", labels=["kind", "state"]
        )
        with self.services.db.session() as session:
            for state, kind, count in session.execute(
                select(Job.state, Job.kind, func.count()).group_by(Job.state, Job.kind)
            ):
                gauge.add_metric([state, kind], float(count))
            duration = Job.finished_at - Job.started_at
            columns = [func.sum(case((duration <= b, 1), else_=0)) for b in DURATION_BUCKETS]
            rows = session.execute(
                select(Job.kind, Job.state, func.count(), func.sum(duration), *columns)
                .where(Job.finished_at.is_not(None), Job.started_at.is_not(None))
                .group_by(Job.kind, Job.state)
            ).all()
        for row in rows:
            kind, state, count, total = row[0], row[1], int(row[2]), float(row[3] or 0.0)
            buckets = [(str(b), float(row[4 + i] or 0)) for i, b in enumerate(DURATION_BUCKETS)]
            buckets.append(("+Inf", float(count)))
            hist.add_metric([kind, state], buckets, total)
        yield gauge
        yield hist


class Metrics:
    """One app's metric registry."""

    def __init__(self, services: Services) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "vidlake_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "vidlake_http_request_duration_seconds", "HTTP request latency in seconds", ["method", "route"],
            registry=self.registry,
        )
        self.registry.register(JobCollector(services))
