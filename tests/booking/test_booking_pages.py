"""The booking form is the API's equal: the same rate limit, the same retry key (a double
submit books once), the same refusals."""

from __future__ import annotations

import json
import re
from typing import Any

from django.test import Client

from tests.booking.conftest import with_family
from trafficdesk.accounts import realname
from trafficdesk.booking.models import Booking


def _form_key(page: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert found, "the form carries a retry key"
    return found.group(1)


def test_a_double_submitted_booking_form_books_once(
    client: Client, citizen: Any, make_slot: Any, new_id: Any
) -> None:
    client.force_login(citizen)
    slot = make_slot(people=5)
    path = f"/booking/slot/{slot.pk}/?business=P01"
    key = _form_key(client.get(path).content.decode())
    number = new_id()
    form = {"id_number": number, "business": "P01", "idempotency_key": key}
    first = client.post(path, form)
    again = client.post(path, form)
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"], "the second submit shows the same booking"
    assert Booking.objects.filter(slot=slot).count() == 1
    other_key = _form_key(client.get(path).content.decode())
    assert other_key != key, "each form gets its own key"


def test_the_same_key_for_another_request_is_refused_with_a_reason(
    client: Client, citizen: Any, make_slot: Any, new_id: Any
) -> None:
    client.force_login(citizen)
    slot = make_slot(people=5)
    path = f"/booking/slot/{slot.pk}/?business=P01"
    key = _form_key(client.get(path).content.decode())
    assert client.post(path, {"id_number": new_id(), "idempotency_key": key}).status_code == 302
    reused = client.post(path, {"id_number": new_id(), "idempotency_key": key})
    assert reused.status_code == 422 and 'role="alert"' in reused.content.decode()


def test_the_booking_form_has_the_apis_rate_limit(
    client: Client, citizen: Any, make_slot: Any, settings: Any
) -> None:
    """One budget per user across both doors: three API requests, then the page says wait."""
    settings.BOOKING_RATE_PER_USER = "3/d"
    client.force_login(citizen)
    # One account (the budget is the account's), booking for four people it may book for.
    *booked, fourth = with_family(citizen, 3)
    slot = make_slot(people=10)
    for number in booked:
        response = client.post(
            "/api/v1/bookings",
            json.dumps({"slot": slot.pk, "businesses": ["P01"], "id_number": number}),
            content_type="application/json",
        )
        assert response.status_code == 201
    page = client.post(f"/booking/slot/{slot.pk}/?business=P01", {"id_number": fourth})
    assert page.status_code == 429 and page["Retry-After"] == "60"
    assert 'data-testid="reason"' in page.content.decode()
    assert Booking.objects.filter(slot=slot).count() == 3


def test_a_corrected_form_after_a_refusal_is_a_new_request(
    client: Client, citizen: Any, make_slot: Any, new_id: Any
) -> None:
    client.force_login(citizen)
    slot, other = make_slot(people=5), make_slot(people=5)
    number = new_id()
    assert (
        client.post(f"/booking/slot/{slot.pk}/?business=P01", {"id_number": number}).status_code
        == 302
    )
    path = f"/booking/slot/{other.pk}/?business=P01"
    key = _form_key(client.get(path).content.decode())
    refused = client.post(path, {"id_number": number, "idempotency_key": key})
    assert refused.status_code == 409  # the same ID already holds P01
    fresh = _form_key(refused.content.decode())
    assert fresh != key
    assert f'value="{number}"' in refused.content.decode(), "the ID typed is kept"
    # corrected to another person's ID the account may book for: a family member's
    child = new_id()
    realname.declare_family_member(citizen, child, "", "child")
    assert client.post(path, {"id_number": child, "idempotency_key": fresh}).status_code == 302


def test_a_bad_id_number_is_a_422_that_keeps_what_was_typed(
    client: Client, citizen: Any, make_slot: Any
) -> None:
    client.force_login(citizen)
    slot = make_slot(people=5)
    path = f"/booking/slot/{slot.pk}/?business=P01"
    key = _form_key(client.get(path).content.decode())
    refused = client.post(path, {"id_number": "520115199003011234", "idempotency_key": key})
    assert refused.status_code == 422
    page = refused.content.decode()
    assert 'value="520115199003011234"' in page
    assert _form_key(page) != key
    assert not Booking.objects.filter(slot=slot).exists()
