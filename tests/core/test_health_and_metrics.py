"""Health checks and metrics (trafficdesk/core/health.py, core/metrics.py, trafficdesk/metrics.py).

* /healthz answers without touching the database; /readyz checks the database and, when set,
  Redis, and names what failed with a 503.
* /metrics answers only METRICS_ALLOWED_IPS (by the caller's address, behind trusted proxies
  the real client's), and counts requests, bookings and refusals by reason; the hall queues
  and the worker's backlog are read at scrape time.
* With several worker processes one scrape sums them (prometheus-client's multiprocess mode).
* LOG_FORMAT=json writes one valid JSON object a line, personal data masked."""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client, override_settings

from tests.real_server import ROOT, free_port, start_server, stop
from trafficdesk.catalog.models import Business
from trafficdesk.core import health
from trafficdesk.core.logmask import QuietProbes
from trafficdesk.hallqueue import services as hall_services
from trafficdesk.sites.models import ServicePoint


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _sep, value = line.rpartition(" ")
        base, _brace, rest = series.partition("{")
        if base != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


def scrape(client: Client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


# --- health -------------------------------------------------------------------------------------


def test_healthz_answers_without_the_database(
    client: Client, db: Any, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "alive"}
    assert "sessionid" not in response.cookies


def test_readyz_is_ready_when_the_database_answers(client: Client, db: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


def test_readyz_names_the_database_when_it_fails(
    client: Client, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(timeout_ms: int) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "check_database", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]


def test_readyz_names_redis_when_it_is_down(client: Client, db: Any) -> None:
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", READYZ_TIMEOUT_MS=300):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["redis"] and body["checks"]["database"] == "ok"


def test_readyz_pings_redis_when_it_is_set(client: Client, db: Any) -> None:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379 (apt-get install redis-server)")
    with override_settings(REDIS_URL="redis://127.0.0.1:6379/0"):
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


# --- metrics ------------------------------------------------------------------------------------


def test_metrics_answer_only_the_allowed_addresses(client: Client, db: Any) -> None:
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404
    # Through a trusted proxy, the real client's address counts, not the proxy's.
    with override_settings(TRUSTED_PROXIES=["127.0.0.1"]):
        forwarded = client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9")
        assert forwarded.status_code == 404
    with override_settings(METRICS_ALLOWED_IPS=["203.0.113.0/24"]):
        assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200
        assert client.get("/metrics").status_code == 404


def test_hall_queues_and_worker_backlog_are_read_at_scrape_time(client: Client, demo: Any) -> None:
    hall = ServicePoint.objects.get(code="GY-HALL-01")
    before = scrape(client)
    for _ in range(2):
        hall_services.walk_in(hall, Business.objects.get(code="P01"))
    # local import: the task module needs the models, which load after the app configs
    from trafficdesk.notify.tasks import deliver_task

    deliver_task.enqueue([])
    after = scrape(client)
    labels = {"service_point": "GY-HALL-01", "status": "waiting"}
    assert (
        sample(after, "trafficdesk_hall_queue_waiting", **labels)
        - sample(before, "trafficdesk_hall_queue_waiting", **labels)
        == 2
    )
    assert (
        sample(after, "trafficdesk_worker_backlog") - sample(before, "trafficdesk_worker_backlog")
        == 1
    )
    assert "trafficdesk_replica_lag_seconds" not in after  # no replica configured


def test_one_scrape_sums_the_worker_processes(transactional_db: Any) -> None:
    # local import: prometheus-client's reader of the workers' files
    from prometheus_client.mmap_dict import MmapedDict

    folder = tempfile.mkdtemp(prefix="trafficdesk-metrics-test-")
    port = free_port()
    server = start_server(port, workers=2, PROMETHEUS_MULTIPROC_DIR=folder)
    requests = 60
    try:
        for _ in range(requests):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            assert conn.getresponse().status == 200
            conn.close()
        # What each worker process counted, read from its own file.
        per_process: dict[str, float] = {}
        for path in Path(folder).glob("counter_*.db"):
            counts = MmapedDict(str(path), read_mode=True)
            for key, value, *_rest in counts.read_all_values():
                if '"healthz"' in key and "trafficdesk_http_requests" in key:
                    per_process[path.stem] = per_process.get(path.stem, 0) + value
            counts.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
    finally:
        stop(server)
    served = {pid: n for pid, n in per_process.items() if n}
    assert len(served) == 2, f"both workers should have answered: {per_process}"
    route = {"route": "healthz", "method": "GET", "status": "200"}
    assert sample(text, "trafficdesk_http_requests_total", **route) == requests


# --- logs ---------------------------------------------------------------------------------------


def test_a_json_log_line_is_valid_json_with_personal_data_masked() -> None:
    code = (
        "import django, logging; django.setup();"
        "logging.getLogger('trafficdesk.test').warning("
        "'booked for %s with %s', '11010519491231002X', '贵A12345',"
        " extra={'mobile': '13912345678'})"
    )
    env = dict(
        os.environ,
        LOG_FORMAT="json",
        DJANGO_SETTINGS_MODULE="trafficdesk.settings",
        SECRET_KEY="k" * 50,
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, check=True
    )
    lines = [line for line in done.stderr.decode().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    record = json.loads(lines[0])
    assert record["level"] == "WARNING" and record["logger"] == "trafficdesk.test"
    assert record["time"] and record["pid"]
    assert record["message"] == "booked for 1101**********002X with 贵A***"
    assert record["mobile"] == "139****5678"
    for secret in ("11010519491231002X", "贵A12345", "13912345678"):
        assert secret not in lines[0]


def test_health_checks_and_scrapes_stay_out_of_the_access_log() -> None:
    def line(path: str) -> logging.LogRecord:
        return logging.LogRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:5000", "GET", path, "1.1", 200),
            None,
        )

    quiet = QuietProbes()
    assert not quiet.filter(line("/readyz")) and not quiet.filter(line("/healthz"))
    assert not quiet.filter(line("/metrics"))
    assert quiet.filter(line("/booking/")) and quiet.filter(line("/readyz-not"))
