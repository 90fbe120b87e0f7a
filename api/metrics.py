"""Prometheus metrics, and the middleware that times, counts and access-logs every request."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from rag.engine import Engine
    from rag.ingest.watch import Poll
    from rag.types import IngestReport

access_log = logging.getLogger("newsrag.access")
disable_created_metrics()  # the *_created series only double the exposition's size

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class StoreCollector:
    """Store size gauges, read from the engine at scrape time."""

    def __init__(self, engine: Callable[[], Engine | None]) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        """One gauge per store count, plus its size on disk."""
        engine = self._engine()
        if engine is None:
            return
        stats = engine.stats()
        for name, value, text in (
            ("documents", stats.documents, "Documents in the store"),
            ("chunks", stats.chunks, "Chunks in the store"),
            ("sentences", stats.sentences, "Sentence spans in the store"),
            ("generation", stats.generation, "Store generation (increments at every committed write)"),
            ("size_bytes", stats.size_bytes, "Store size on disk in bytes"),
            ("wal_bytes", stats.wal_bytes, "Store write-ahead log size in bytes (part of size_bytes)"),
        ):
            yield GaugeMetricFamily(f"newsrag_store_{name}", text, value=value)


class Metrics:
    """The app's own registry (so that several apps in one process never collide)."""

    def __init__(self, engine: Callable[[], Engine | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "newsrag_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "newsrag_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ingested = Counter(
            "newsrag_ingest_documents", "Documents received by outcome", ["outcome"], registry=self.registry
        )
        self.ingested_chunks = Counter("newsrag_ingest_chunks", "Chunks written", registry=self.registry)
        self.deleted = Counter("newsrag_deleted_documents", "Documents deleted", registry=self.registry)
        self.answers = Counter("newsrag_answers", "Answers by outcome", ["outcome"], registry=self.registry)
        self.feed_polls = Counter(
            "newsrag_feed_polls",
            "Feed polls by feed and outcome",
            ["feed", "outcome"],
            registry=self.registry,
        )
        self.feed_items = Counter(
            "newsrag_feed_items", "Feed items by feed and change", ["feed", "change"], registry=self.registry
        )
        self.registry.register(StoreCollector(engine))

    def observe_poll(self, poll: Poll) -> None:
        """Count one feed poll and what it changed."""
        self.feed_polls.labels(poll.url, poll.outcome).inc()
        for change in ("added", "updated", "unchanged", "rejected"):
            self.feed_items.labels(poll.url, change).inc(getattr(poll, change))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count and time one request."""
        method = method if method in _METHODS else "OTHER"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_ingest(self, report: IngestReport) -> None:
        """Count one ingest's outcomes."""
        for outcome in ("added", "updated", "unchanged"):
            self.ingested.labels(outcome).inc(getattr(report, outcome))
        self.ingested_chunks.inc(report.chunks)

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)


def route_label(scope: Scope) -> str:
    """The matched route's template (bounded cardinality), or "unmatched"."""
    route = scope.get("route")
    return str(getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched")


class ObserveRequests:
    """Outermost middleware: X-Request-ID, metrics and one JSON access-log line per request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request, tag the response, then count and log it whatever happened."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        status = 500

        async def tagged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        try:
            await self.app(scope, receive, tagged_send)
        finally:
            seconds = time.perf_counter() - started
            route = route_label(scope)
            self.metrics.observe(scope["method"], route, status, seconds)
            _log_access(scope, route, status, seconds, request_id)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            given = value.decode("latin-1")
            if _REQUEST_ID.match(given):
                return given
    return uuid.uuid4().hex


def _log_access(scope: Scope, route: str, status: int, seconds: float, request_id: str) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    client = scope.get("client")
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "request_id": request_id,
        "method": scope["method"],
        "route": route,
        "path": scope.get("path", ""),
        "status": status,
        "latency_ms": round(seconds * 1000, 2),
        "client": client[0] if client else None,
    }
    access_log.info(json.dumps(line, ensure_ascii=False))
