"""Bookings made and refusals by reason are counted where a booking attempt becomes an answer
(booking/answers.py), for the page and the API alike; /metrics shows them with the requests
by route (trafficdesk/core/metrics.py)."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from tests.core.test_health_and_metrics import sample, scrape


def test_metrics_count_requests_bookings_and_refusals_by_reason(
    client: Client, citizen: Any, make_slot: Any, new_id: Any
) -> None:
    client.force_login(citizen)
    slot = make_slot(people=1)
    before = scrape(client)
    body = {"slot": slot.pk, "businesses": ["P01"], "id_number": new_id()}
    made = client.post("/api/v1/bookings", json.dumps(body), content_type="application/json")
    body["id_number"] = new_id()
    full = client.post("/api/v1/bookings", json.dumps(body), content_type="application/json")
    assert (made.status_code, full.status_code) == (201, 409)
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("trafficdesk_bookings_total") == 1
    assert grew("trafficdesk_booking_refusals_total", reason=full.json()["code"]) == 1
    route = {"route": "api/v1/bookings", "method": "POST"}
    assert grew("trafficdesk_http_requests_total", status="201", **route) == 1
    assert grew("trafficdesk_http_requests_total", status="409", **route) == 1
    assert grew("trafficdesk_http_request_duration_seconds_count", **route) == 2
    # Routes are URL patterns, never paths with tokens in them.
    client.get(f"/booking/b/{made.json()['token']}/")
    assert made.json()["token"] not in scrape(client)
