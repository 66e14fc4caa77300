"""The booking API and pages: idempotency keys, refusals with reasons, and who may see what."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from trafficdesk.booking.models import Booking, Slot


def post(client: Client, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def test_booking_with_an_idempotency_key_is_made_once(
    client: Client, citizen: Any, make_slot: Any, new_id: Any
) -> None:
    client.force_login(citizen)
    slot = make_slot(people=5)
    body = {"slot": slot.pk, "businesses": ["P01"], "id_number": new_id()}
    first = post(client, "/api/v1/bookings", body, HTTP_IDEMPOTENCY_KEY="k-1")
    again = post(client, "/api/v1/bookings", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["token"] == again.json()["token"]
    assert Booking.objects.filter(slot=slot).count() == 1
    other = post(
        client, "/api/v1/bookings", dict(body, slot=make_slot().pk), HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency.mismatch"


def test_refusals_are_409_with_reasons_and_alternatives(
    client: Client, make_person: Any, make_slot: Any
) -> None:
    slot = make_slot(people=1)
    first, first_id = make_person()
    client.force_login(first)
    assert (
        post(
            client,
            "/api/v1/bookings",
            {"slot": slot.pk, "businesses": ["P01"], "id_number": first_id},
        ).status_code
        == 201
    )
    second, second_id = make_person()  # someone else finds the slot full
    client.force_login(second)
    full = post(
        client, "/api/v1/bookings", {"slot": slot.pk, "businesses": ["P01"], "id_number": second_id}
    )
    assert full.status_code == 409
    body = full.json()
    assert body["code"] == "slot.full" and body["detail"] and isinstance(body["alternatives"], list)


def test_bad_booking_input_is_4xx(client: Client, citizen: Any, make_slot: Any) -> None:
    client.force_login(citizen)
    slot = make_slot()
    for body in (
        {"slot": slot.pk, "businesses": [], "id_number": "x" * 18},
        {"slot": slot.pk, "businesses": ["P01"], "id_number": "520115199003011234"},
        {"slot": 999999, "businesses": ["P01"], "id_number": "11010519491231002X"},
        {"slot": slot.pk, "businesses": ["NOPE"], "id_number": "11010519491231002X"},
    ):
        response = post(client, "/api/v1/bookings", body)
        assert 400 <= response.status_code < 500, (body, response.status_code)
    assert client.post("/api/v1/bookings", "{", content_type="application/json").status_code in (
        400,
        422,
    )


def test_booking_needs_login(client: Client, make_slot: Any) -> None:
    assert (
        post(
            client,
            "/api/v1/bookings",
            {"slot": make_slot().pk, "businesses": ["P01"], "id_number": "11010519491231002X"},
        ).status_code
        == 401
    )


def test_another_citizen_cannot_see_or_cancel(
    client: Client, citizen: Any, make_citizen: Any, make_slot: Any, new_id: Any
) -> None:
    client.force_login(citizen)
    token = post(
        client,
        "/api/v1/bookings",
        {"slot": make_slot().pk, "businesses": ["P01"], "id_number": new_id()},
    ).json()["token"]
    client.force_login(make_citizen())
    assert client.get(f"/api/v1/bookings/{token}").status_code == 403
    assert client.get(f"/api/v1/bookings/{token}/qr.svg").status_code == 403
    assert client.post(f"/api/v1/bookings/{token}/cancel").status_code == 403
    assert client.get(f"/booking/b/{token}/").status_code == 403
    assert client.post(f"/booking/b/{token}/cancel/").status_code == 403
    assert client.get("/api/v1/bookings").json() == []
    assert Booking.objects.get(token=token).status == "active"


def test_staff_see_bookings_of_their_region_only(
    client: Client, users: dict[str, Any], citizen: Any, make_slot: Any, new_id: Any
) -> None:
    client.force_login(citizen)
    token = post(
        client,
        "/api/v1/bookings",
        {"slot": make_slot().pk, "businesses": ["P01"], "id_number": new_id()},
    ).json()["token"]
    client.force_login(users["clerk"])  # 520115, same county as the hall
    assert client.get(f"/api/v1/bookings/{token}").status_code == 200
    client.force_login(users["nanming_admin"])  # 520102
    assert client.get(f"/api/v1/bookings/{token}").status_code == 403


def test_qr_code_carries_the_token_link(
    client: Client, citizen: Any, make_slot: Any, new_id: Any
) -> None:
    client.force_login(citizen)
    token = post(
        client,
        "/api/v1/bookings",
        {"slot": make_slot().pk, "businesses": ["P01"], "id_number": new_id()},
    ).json()["token"]
    svg = client.get(f"/api/v1/bookings/{token}/qr.svg")
    assert (
        svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    )
    assert len(token) >= 40


def test_cancel_and_reschedule_through_the_api(
    client: Client, citizen: Any, make_slot: Any, new_id: Any, settings: Any
) -> None:
    settings.BOOKING_RELEASE_DELAY_SECONDS = 0
    client.force_login(citizen)
    first, second = make_slot(), make_slot()
    token = post(
        client, "/api/v1/bookings", {"slot": first.pk, "businesses": ["P01"], "id_number": new_id()}
    ).json()["token"]
    moved = post(client, f"/api/v1/bookings/{token}/reschedule", {"slot": second.pk})
    assert moved.status_code == 200 and Booking.objects.get(token=token).slot_id == second.pk
    assert client.post(f"/api/v1/bookings/{token}/cancel").json()["status"] == "cancelled"
    assert client.post(f"/api/v1/bookings/{token}/cancel").status_code == 409
    assert Slot.objects.get(pk=second.pk).booked_people == 0


def test_staff_calendar_and_load(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["manager"])
    page = client.get("/booking/calendar/")
    assert page.status_code == 200 and 'data-testid="load"' in page.content.decode()
    client.force_login(users["officer"])
    assert client.get("/booking/calendar/").status_code == 403


def test_free_slots_api(client: Client, demo: Any) -> None:
    slots = client.get("/api/v1/slots", {"point": "GY-HALL-01", "business": "P01"}).json()
    assert slots and all(s["free_minutes"] >= 20 for s in slots)
    assert client.get("/api/v1/slots", {"point": "NOPE", "business": "P01"}).status_code == 404


def test_hall_staff_mark_a_no_show_from_the_booking_page(
    client: Client, users: dict[str, Any], citizen: Any, make_slot: Any, new_id: Any
) -> None:
    client.force_login(citizen)
    token = post(
        client,
        "/api/v1/bookings",
        {"slot": make_slot().pk, "businesses": ["P01"], "id_number": new_id()},
    ).json()["token"]
    assert client.post(f"/booking/b/{token}/no-show/").status_code == 403
    client.force_login(users["clerk"])
    assert 'data-testid="no-show"' in client.get(f"/booking/b/{token}/").content.decode()
    assert client.post(f"/booking/b/{token}/no-show/").status_code == 302
    assert Booking.objects.get(token=token).status == "no_show"
