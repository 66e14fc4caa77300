"""`/metrics`: what Prometheus scrapes (trafficdesk/core/metrics.py counts; this module adds
what is read at scrape time from the domain, and so belongs to no app, like api.py).

Not for the public: only callers whose address (core/clientip.py, so behind a trusted proxy
the real client's) is in METRICS_ALLOWED_IPS (loopback by default) get an answer; anyone else
gets 404, as if there were nothing here. Scrape each app server directly, not through the
balancer: one scrape sums that server's worker processes."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_tasks_db.models import DBTaskResult
from prometheus_client.core import Metric

from trafficdesk.core import dbrouter, metrics
from trafficdesk.core.clientip import client_ip, parse_networks
from trafficdesk.core.vocabulary import TicketStatus
from trafficdesk.hallqueue.models import Ticket

#: The tickets of people waiting for a window: in the hall, or outside a full zone.
WAITING = (TicketStatus.WAITING, TicketStatus.OUTSIDE)


@metrics.scrape_time
def hall_queues() -> Iterator[Metric]:
    """Waiting tickets per service point and where they wait, in one query."""
    rows = (
        Ticket.objects.filter(status__in=WAITING)
        .values_list("service_point__code", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    yield metrics.gauge(
        "trafficdesk_hall_queue_waiting",
        "Tickets waiting to be called, per service point (status: waiting inside or outside).",
        {(code, status): float(n) for code, status, n in rows},
        labels=["service_point", "status"],
    )


@metrics.scrape_time
def worker_backlog() -> Iterator[Metric]:
    """Background tasks ready to run and not yet taken by a worker (django-tasks' database
    backend)."""
    yield metrics.gauge(
        "trafficdesk_worker_backlog",
        "Background tasks ready to run, not yet started by a worker.",
        float(DBTaskResult.objects.ready().count()),
    )


@metrics.scrape_time
def replica_lag() -> Iterator[Metric]:
    lag = dbrouter.replica_lag_seconds()  # the one measurement, cached per process
    if lag is not None:
        yield metrics.gauge(
            "trafficdesk_replica_lag_seconds", "How far the read replica is behind.", lag
        )


def allowed(request: HttpRequest) -> bool:
    address = client_ip(request)
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    networks = parse_networks(tuple(settings.METRICS_ALLOWED_IPS))
    return any(ip.version == net.version and ip in net for net in networks)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        raise Http404
    return HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE)
