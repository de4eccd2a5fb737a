"""Prometheus metrics, served at ``/metrics``.

| metric | type | labels |
|---|---|---|
| ``gong_robot_calls_total`` | counter | ``errcode``, ``reason`` (``ok`` or the refusal's name) |
| ``gong_messages_accepted_total`` | counter | ``kind`` (a robot kind, ``person``, ``summary``…) |
| ``gong_request_duration_seconds`` | histogram | ``route`` (``robot_send``, ``api``, ``page``) |
| ``gong_writer_batch_size`` | histogram | |
| ``gong_writer_commit_seconds`` | histogram | |
| ``gong_live_connections`` | gauge | |
| ``gong_robots`` | gauge | ``kind`` (read from the database at scrape time) |
| ``gong_relay_deliveries`` | gauge | ``state`` (pending, sent, digested, failed; at scrape time) |
| ``gong_relay_sends_total`` | counter | ``outcome`` (sent, retry, throttled, failed) |

With several worker processes (``gong serve --workers N``) every worker writes its values to
``$PROMETHEUS_MULTIPROC_DIR`` and a scrape of any worker sums them all.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class _ScrapeTime(Collector):
    """Gauges computed when scraped (from the database, the relay, …)."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[str, tuple[str, ...], dict[tuple[str, ...], float]]] = {}

    def collect(self) -> Iterable[GaugeMetricFamily]:
        for name, (help_text, labels, samples) in self.values.items():
            family = GaugeMetricFamily(name, help_text, labels=list(labels))
            for key, value in samples.items():
                family.add_metric(list(key), value)
            yield family


class Metrics:
    """The process's metrics, each registered to this object's own registry."""

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.robot_calls = Counter(
            "gong_robot_calls", "Calls of /robot/send by outcome", ["errcode", "reason"], registry=r
        )
        self.accepted = Counter(
            "gong_messages_accepted", "Messages stored, by robot kind", ["kind"], registry=r
        )
        self.request_seconds = Histogram(
            "gong_request_duration_seconds",
            "Time to answer a request",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.writer_batch = Histogram(
            "gong_writer_batch_size", "Writes per group commit", buckets=_BATCH_BUCKETS, registry=r
        )
        self.writer_commit = Histogram(
            "gong_writer_commit_seconds",
            "Time of one group commit",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.live_connections = Gauge(
            "gong_live_connections",
            "Open live event streams",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.relay_sends = Counter(
            "gong_relay_sends", "Upstream send attempts by outcome", ["outcome"], registry=r
        )
        self._scrape = _ScrapeTime()
        if not self.multiprocess:
            r.register(self._scrape)
        self._refreshers: list[Callable[[], Awaitable[None]]] = []
        self._ok = self.robot_calls.labels("0", "ok")
        self._accepted_by_kind: dict[str, Any] = {}
        self._robot_send_seconds = self.request_seconds.labels("robot_send")

    def robot_call(self, errcode: int, reason: str, seconds: float) -> None:
        """Count one answered call of the robot API (the hot path: cheap label lookups)."""
        if errcode == 0:
            self._ok.inc()
        else:
            self.robot_calls.labels(str(errcode), reason).inc()
        self._robot_send_seconds.observe(seconds)

    def stored(self, kind: str) -> None:
        counter = self._accepted_by_kind.get(kind)
        if counter is None:
            counter = self._accepted_by_kind[kind] = self.accepted.labels(kind)
        counter.inc()

    def batch(self, size: int, seconds: float) -> None:
        self.writer_batch.observe(size)
        self.writer_commit.observe(seconds)

    def relay_outcome(self, outcome: str) -> None:
        self.relay_sends.labels(outcome).inc()

    def set_gauge(
        self,
        name: str,
        help_text: str,
        samples: dict[tuple[str, ...], float],
        labels: tuple[str, ...] = (),
    ) -> None:
        """Set a gauge that is computed at scrape time (robots by kind, relay backlog, …)."""
        self._scrape.values[name] = (help_text, labels, samples)

    def on_scrape(self, refresh: Callable[[], Awaitable[None]]) -> None:
        """Run ``refresh`` before each scrape (it may call :meth:`set_gauge`)."""
        self._refreshers.append(refresh)

    async def render(self) -> bytes:
        for refresh in self._refreshers:
            await refresh()
        if self.multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            registry.register(self._scrape)
            return generate_latest(registry)
        return generate_latest(self.registry)
