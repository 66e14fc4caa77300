"""ISSUE 17 item 7 (b): GET /api/v1/slots lists only what the asker may book — a slot the
policy closes to them (which booking would refuse with 409 policy.closed) is not listed."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from trafficdesk.accounts.models import User
from trafficdesk.booking.models import Slot
from trafficdesk.catalog.models import Business
from trafficdesk.core.validators import id_check_char
from trafficdesk.policy import services as policy
from trafficdesk.regions.services import set_risk_level
from trafficdesk.sites.models import ServicePoint


def _resident_id() -> str:
    first17 = "52011519900307778"
    return first17 + id_check_char(first17)


def _listed(client: Client, business: str, applicant_class: str = "GENERAL") -> list[int]:
    answer = client.get(
        "/api/v1/slots", {"point": "GY-HALL-01", "business": business, "class": applicant_class}
    )
    assert answer.status_code == 200
    return [s["id"] for s in answer.json()]


def test_a_slot_the_booking_would_refuse_is_not_listed(
    client: Client, demo: Any, make_citizen: Any
) -> None:
    hall = ServicePoint.objects.select_related("region").get(code="GY-HALL-01")
    before = _listed(client, "V01")
    assert before  # open at normal risk: the demo hall's slots are listed
    set_risk_level(User.objects.get(username="gz_admin"), hall.region, "HIGH", reason="测试")
    client.force_login(make_citizen())
    refused = client.post(
        "/api/v1/bookings",
        json.dumps({"slot": before[0], "businesses": ["V01"], "id_number": _resident_id()}),
        content_type="application/json",
    )
    assert refused.status_code == 409 and refused.json()["code"] == "policy.closed"
    assert before[0] not in _listed(client, "V01")
    assert _listed(client, "V01") == []


def test_every_listed_slot_is_open_to_the_asker(client: Client, demo: Any) -> None:
    hall = ServicePoint.objects.select_related("region").get(code="GY-HALL-01")
    set_risk_level(User.objects.get(username="gz_admin"), hall.region, "HIGH", reason="测试")
    for business in Business.objects.select_related("category").filter(code__in=["P01", "V01"]):
        for applicant_class in ("GENERAL", "EMERGENCY"):
            for slot_id in _listed(client, business.code, applicant_class):
                slot = Slot.objects.get(pk=slot_id)
                assert policy.decide_for(hall, business, applicant_class, slot.starts_at).open
