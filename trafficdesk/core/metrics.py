"""Prometheus metrics (prometheus-client, docs/adr/0004-metrics-with-prometheus-client.md).

Counted as they happen, in the process that answers: requests by route, method and status and
their latency (`MetricsMiddleware`), bookings made and refusals by reason (counted where
booking/answers.py turns a booking attempt into an answer). Read at scrape time, in one query
each, by the collectors that trafficdesk/metrics.py registers here (`scrape_time`): the hall
queues, the worker's backlog, the replica's lag.

With several worker processes (gunicorn) each process writes its values to files in
PROMETHEUS_MULTIPROC_DIR (trafficdesk/gunicornconf.py makes one per server start), and one
scrape of `/metrics` sums them; without it (tests, `runserver`) the process's own registry
answers. A refusal's reason is a label for operators, never shown to a user."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Counter(
    "trafficdesk_http_requests",
    "HTTP requests answered, by route, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "trafficdesk_http_request_duration_seconds",
    "Time to answer a request (to its first byte for a stream), by route.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BOOKINGS = Counter("trafficdesk_bookings", "Bookings made (first come, pages and API).")
REFUSALS = Counter(
    "trafficdesk_booking_refusals",
    "Booking attempts refused, by the refusal's reason (its code).",
    ["reason"],
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(request: HttpRequest) -> str:
    """The URL pattern that answered ("api/v1/bookings/{token}", "booking/b/<str:token>/"),
    never the path itself: a bounded set of labels, without tokens or plates."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.route or match.view_name or "unnamed"


class MetricsMiddleware:
    """Counts and times every request (first in MIDDLEWARE, so it sees every answer)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in _METHODS else "other"
        route = route_of(request)
        LATENCY.labels(route, method).observe(time.perf_counter() - started)
        REQUESTS.labels(route, method, str(response.status_code)).inc()
        return response


def booked() -> None:
    BOOKINGS.inc()


def refused(reason: str) -> None:
    REFUSALS.labels(reason or "unknown").inc()


# --- read at scrape time ----------------------------------------------------------------------

ScrapeFunction = Callable[[], Iterable[Metric]]
_SCRAPE_TIME: list[ScrapeFunction] = []


def scrape_time(function: ScrapeFunction) -> ScrapeFunction:
    """Register a function that reads metric families at each scrape (a decorator)."""
    if function not in _SCRAPE_TIME:
        _SCRAPE_TIME.append(function)
    return function


class _ScrapeTimeCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        for function in _SCRAPE_TIME:
            yield from function()


def gauge(
    name: str,
    documentation: str,
    values: dict[tuple[str, ...], float] | float,
    labels: list[str] | None = None,
) -> GaugeMetricFamily:
    """A gauge family: one value, or one per tuple of label values."""
    if isinstance(values, dict):
        family = GaugeMetricFamily(name, documentation, labels=labels or [])
        for label_values, value in sorted(values.items()):
            family.add_metric(list(label_values), value)
        return family
    return GaugeMetricFamily(name, documentation, value=values)


def exposition() -> bytes:
    """The text of one scrape: this process's (or, with PROMETHEUS_MULTIPROC_DIR, every
    worker process's summed) counters, then the values read now."""
    registry: Any = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    now = CollectorRegistry(auto_describe=False)
    now.register(_ScrapeTimeCollector())
    return generate_latest(registry) + generate_latest(now)
