"""The real server behind a real reverse proxy (HAProxy from Debian, `option forwardfor`), and
its access log.

* Two clients, told apart only by the address HAProxy sees (127.0.0.2 and 127.0.0.3 as the
  connection's source), keep separate OTP limits: one exhausting its limit, even while
  sending forged X-Forwarded-For headers, does not limit the other (TRUSTED_PROXIES).
* The access log holds no booking or receipt token, plate or ID number.

Under CI=true a missing haproxy fails the test; elsewhere it is skipped with the reason."""

from __future__ import annotations

import http.client
import json
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests import haproxy
from tests.real_server import free_port, start_server, stop


@pytest.fixture
def proxied(transactional_db: Any) -> Iterator[int]:
    """The server (one worker: the per-process counters are then exact) behind HAProxy on
    loopback; yields HAProxy's port."""
    haproxy.need_haproxy()
    app_port, proxy_port = free_port(), free_port()
    server = start_server(
        app_port,
        workers=1,
        TRUSTED_PROXIES="127.0.0.1",
        OTP_RATE_PER_IP="3/h",
        OTP_RATE_PER_PHONE="1000/h",
    )
    folder = tempfile.mkdtemp(prefix="trafficdesk-haproxy-")
    config = (
        "global\n  maxconn 200\n"
        "defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n"
        "  timeout server 30s\n"
        f"frontend web\n  bind 127.0.0.1:{proxy_port}\n  option forwardfor\n"
        "  default_backend app\n"
        f"backend app\n  server app1 127.0.0.1:{app_port}\n"
    )
    try:
        proxy = haproxy.start(config, Path(folder), proxy_port)
    except BaseException:
        stop(server)
        raise
    try:
        yield proxy_port
    finally:
        haproxy.stop(proxy)
        stop(server)
        shutil.rmtree(folder, ignore_errors=True)


def _otp(port: int, source: str, serial: int, forged: str | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20, source_address=(source, 0))
    headers = {"Content-Type": "application/json"}
    if forged:
        headers["X-Forwarded-For"] = forged
    try:
        body = json.dumps({"mobile": f"1391234{serial:04d}"})
        conn.request("POST", "/api/v1/accounts/otp/request", body=body, headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def test_two_clients_behind_haproxy_keep_separate_otp_limits(proxied: int) -> None:
    # Client A exhausts its limit (3 an hour), forging a fresh X-Forwarded-For each time.
    statuses_a = [_otp(proxied, "127.0.0.2", i, forged=f"198.51.100.{i}") for i in range(4)]
    assert statuses_a == [200, 200, 200, 429]
    # Client B, another address behind the same proxy, is not limited by A.
    assert _otp(proxied, "127.0.0.3", 100) == 200
    assert _otp(proxied, "127.0.0.2", 101) == 429


def test_the_access_log_holds_no_token_plate_or_id_number(transactional_db: Any) -> None:
    folder = tempfile.mkdtemp(prefix="trafficdesk-accesslog-")
    log = Path(folder) / "access.log"
    port = free_port()
    server = start_server(port, workers=1, WEB_ACCESS_LOG=str(log))
    booking_token = secrets.token_urlsafe(32)  # the shape of Booking.token (43 characters)
    receipt_token = secrets.token_hex(16)  # the shape of a checkpoint receipt token
    plate, id_number = "贵A12345", "520102199001011234"
    paths = [
        f"/booking/b/{booking_token}/",
        f"/c/GY-HALL-01/r/{receipt_token}/",
        f"/deferral/lookup/?query={quote(plate)}",
        f"/deferral/lookup/?query={id_number}",
        f"/api/v1/deferral/check?plate={quote(plate)}&kind=inspection",
    ]
    try:
        for path in paths:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
    finally:
        stop(server)
    try:
        text = log.read_text(encoding="utf-8")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert "/booking/b/***/" in text and "/deferral/lookup/?query=***" in text, text
    for secret in (booking_token, receipt_token, id_number, plate, quote(plate)):
        assert secret not in text, f"{secret!r} is in the access log:\n{text}"
