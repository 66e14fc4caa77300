"""A refused booking helps: the API's 409 body and the page say the same plain sentence
and offer the same ways forward."""

from __future__ import annotations

import json
import re
from typing import Any

from django.test import Client
from django.utils import timezone, translation

from trafficdesk.accounts.models import User
from trafficdesk.booking.models import Booking, Slot
from trafficdesk.catalog.models import Business
from trafficdesk.core.validators import id_check_char
from trafficdesk.policy import citizen, services
from trafficdesk.regions.services import set_risk_level
from trafficdesk.sites.models import ServicePoint

JARGON = re.compile(r"第\s*\d\s*阶段|phase \d|R\d\.|[A-Z]{3,}")


def _resident_id() -> str:
    first17 = "52011519900307777"
    return first17 + id_check_char(first17)


def test_the_api_409_carries_the_pages_plain_reason_and_ways(
    client: Client, demo: Any, make_citizen: Any
) -> None:
    """A citizen of a county gone HIGH: the API's detail is the page's sentence, and the
    alternatives are the ways the page offers (online, open places within 50 km with
    their distance, the office's phone)."""
    hall = ServicePoint.objects.select_related("region").get(code="GY-HALL-01")
    set_risk_level(User.objects.get(username="gz_admin"), hall.region, "HIGH", reason="测试")
    v01 = Business.objects.select_related("category").get(code="V01")  # online, also at windows
    slot = (
        Slot.objects.filter(service_point=hall, category=v01.category, starts_at__gt=timezone.now())
        .order_by("starts_at")
        .first()
    )
    assert slot is not None
    holder = make_citizen()
    client.force_login(holder)
    answer = client.post(
        "/api/v1/bookings",
        json.dumps({"slot": slot.pk, "businesses": ["V01"], "id_number": _resident_id()}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert answer.status_code == 409
    body = answer.json()
    assert body["code"] == "policy.closed"
    decision = services.decide_for(hall, v01, "GENERAL", slot.starts_at)
    with translation.override("zh-hans"):
        assert body["detail"] == citizen.plain_reason(decision, hall.kind)
    assert not JARGON.search(body["detail"])
    kinds = [a["kind"] for a in body["alternatives"]]
    online = [a for a in body["alternatives"] if a["kind"] == "online"]
    assert online and online[0]["url"] == "/online/apply/V01/"
    places = [a for a in body["alternatives"] if a["kind"] == "service_point"]
    assert places and all(0 < a["distance_km"] <= 50 for a in places)
    assert [a["distance_km"] for a in places] == sorted(a["distance_km"] for a in places)
    assert "phone" in kinds
    assert [a for a in body["alternatives"] if a["kind"] == "phone"][0]["phone"] == hall.phone

    page = client.post(
        f"/booking/slot/{slot.pk}/?business=V01&class=GENERAL",
        {"id_number": _resident_id()},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert page.status_code == 409
    html = page.content.decode()
    assert body["detail"] in html
    for alternative in body["alternatives"]:
        assert alternative["label"] in html


def test_the_duplicate_refusal_links_to_the_booking_already_made(
    client: Client, citizen: Any, make_slot: Any, new_id: Any
) -> None:
    client.force_login(citizen)
    first, second = make_slot(people=5), make_slot(people=5)
    number = new_id()
    assert (
        client.post(f"/booking/slot/{first.pk}/?business=P01", {"id_number": number}).status_code
        == 302
    )
    made = Booking.objects.get(slot=first)
    answer = client.post(
        "/api/v1/bookings",
        json.dumps({"slot": second.pk, "businesses": ["P01"], "id_number": number}),
        content_type="application/json",
    )
    assert answer.status_code == 409 and answer.json()["code"] == "booking.duplicate"
    link = [a for a in answer.json()["alternatives"] if a["kind"] == "booking"]
    assert link and link[0]["url"] == f"/booking/b/{made.token}/"
    page = client.post(f"/booking/slot/{second.pk}/?business=P01", {"id_number": number})
    assert page.status_code == 409
    assert f'href="/booking/b/{made.token}/"' in page.content.decode()
