"""Check-in, zone flow limiting and calling against the real database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from tests.booking.conftest import make_id
from trafficdesk.booking import services as booking
from trafficdesk.booking.models import Slot
from trafficdesk.core import live
from trafficdesk.hallqueue import services
from trafficdesk.hallqueue.models import Call, Ticket
from trafficdesk.regions.services import set_risk_level
from trafficdesk.sites.models import Zone


def test_walk_in_tickets_are_numbered_per_group(hall: Any, p01: Any) -> None:
    first = services.walk_in(hall, p01)
    second = services.walk_in(hall, p01)
    assert (first.label, second.label) == ("A001", "A002")
    assert first.status == "waiting" and first.applicant_class == "GENERAL"


def test_walk_in_refused_where_appointments_are_required(
    users: dict[str, Any], hall: Any, p01: Any
) -> None:
    set_risk_level(users["gz_admin"], hall.region, "MEDIUM", reason="x")
    with pytest.raises(services.QueueRefused) as refused:
        services.walk_in(hall, p01)
    assert refused.value.code == "policy.appointment"
    assert services.walk_in(hall, p01, "ESSENTIAL").status == "waiting"


def test_check_in_with_a_booking(citizen: Any, hall: Any, p01: Any) -> None:
    now = timezone.now()
    slot = Slot.objects.create(
        service_point=hall,
        category=p01.category,
        starts_at=now + timedelta(minutes=10),
        ends_at=now + timedelta(minutes=70),
        capacity_minutes=100,
        capacity_people=5,
        priority_release_at=now,
    )
    made = booking.book(citizen, slot.pk, ["P01"], make_id(777))
    ticket = services.check_in_booking(hall, made.token)
    made.refresh_from_db()
    assert ticket.on_time and made.status == "checked_in"
    with pytest.raises(services.QueueRefused):
        services.check_in_booking(hall, made.token)
    with pytest.raises(services.QueueRefused) as refused:
        services.check_in_booking(hall, "nonsense-token-xxxx")
    assert refused.value.code == "booking.unknown"


def test_a_full_zone_sends_people_outside_and_lets_them_in_later(
    users: dict[str, Any], hall: Any, p01: Any, plate_zone: Any, window: Any
) -> None:
    Zone.objects.filter(pk=plate_zone.pk).update(occupancy_cap=1, present=0)
    inside = services.walk_in(hall, p01, mobile="13900001111")
    outside = services.walk_in(hall, p01, mobile="13900002222")
    assert (inside.status, outside.status) == ("waiting", "outside")
    called = services.call_next(users["clerk"], window(3))
    assert called is not None and called.pk == inside.pk
    services.complete(users["clerk"], called)
    outside.refresh_from_db()
    assert outside.status == "waiting" and outside.admitted_at is not None
    assert Zone.objects.get(pk=plate_zone.pk).present == 1


def test_the_database_refuses_a_zone_over_its_cap(plate_zone: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Zone.objects.filter(pk=plate_zone.pk).update(present=plate_zone.occupancy_cap + 1)


def test_call_next_follows_class_then_booking_then_arrival(
    users: dict[str, Any], hall: Any, p01: Any, window: Any
) -> None:
    general = services.walk_in(hall, p01, "GENERAL")
    green = services.walk_in(hall, p01, "GREEN")
    resumption = services.walk_in(hall, p01, "RESUMPTION")
    called = [services.call_next(users["clerk"], window(3)) for _ in range(3)]
    assert [t.pk for t in called if t] == [green.pk, resumption.pk, general.pk]
    assert services.call_next(users["clerk"], window(3)) is None


def test_emergency_window_serves_only_priority_classes(
    users: dict[str, Any], hall: Any, p01: Any, window: Any
) -> None:
    services.walk_in(hall, p01, "GENERAL")
    assert services.call_next(users["clerk"], window(1)) is None
    essential = services.walk_in(hall, p01, "ESSENTIAL")
    assert services.call_next(users["clerk"], window(1)).pk == essential.pk


def test_recall_skip_transfer_and_metrics(
    users: dict[str, Any], hall: Any, p01: Any, window: Any
) -> None:
    from trafficdesk.catalog.models import Business

    first = services.walk_in(hall, p01)
    second = services.walk_in(hall, p01)
    called = services.call_next(users["clerk"], window(3))
    services.recall(users["clerk"], called)
    assert Call.objects.filter(ticket=called).count() == 2
    services.skip(users["clerk"], called)
    assert Ticket.objects.get(pk=first.pk).status == "skipped"
    called = services.call_next(users["clerk"], window(3))
    moved = services.transfer(users["clerk"], called, Business.objects.get(code="R01"))
    assert moved.status == "waiting" and moved.business.code == "R01" and moved.pk == second.pk
    again = services.call_next(users["clerk"], window(5))
    services.complete(users["clerk"], again)
    stats = services.metrics(hall)
    assert stats.tickets == 2 and stats.served == 1 and stats.wait_avg_min is not None


def test_clerks_act_only_in_their_region(
    users: dict[str, Any], hall: Any, p01: Any, window: Any
) -> None:
    services.walk_in(hall, p01)
    with pytest.raises(PermissionDenied):
        services.call_next(users["nanming_admin"], window(3))
    with pytest.raises(PermissionDenied):
        services.call_next(users["officer"], window(3))


def test_closed_window_cannot_call(users: dict[str, Any], window: Any) -> None:
    closed = window(6)
    assert not closed.is_open
    with pytest.raises(services.QueueRefused) as refused:
        services.call_next(users["clerk"], closed)
    assert refused.value.code == "window.closed"


def test_manager_opens_and_closes_windows(
    client: Client, users: dict[str, Any], window: Any
) -> None:
    client.force_login(users["manager"])
    response = client.post("/hall/GY-HALL-01/manage/", {"window": window(6).pk, "open": "1"})
    assert response.status_code == 302 and window(6).is_open
    page = client.get("/hall/GY-HALL-01/manage/")
    assert page.status_code == 200 and 'data-testid="zone"' in page.content.decode()
    client.force_login(users["clerk"])
    assert (
        client.post("/hall/GY-HALL-01/manage/", {"window": window(6).pk, "open": "0"}).status_code
        == 403
    )


def test_hall_api(client: Client, users: dict[str, Any], window: Any, kiosk_device: Any) -> None:
    ticket = client.post(
        "/api/v1/hall/GY-HALL-01/walk-in", {"business": "P01"}, content_type="application/json"
    )
    assert ticket.status_code == 201 and ticket.json()["label"] == "A001"
    assert client.post(f"/api/v1/hall/windows/{window(3).pk}/call-next").status_code == 401
    client.force_login(users["clerk"])
    called = client.post(f"/api/v1/hall/windows/{window(3).pk}/call-next")
    assert called.status_code == 200 and called.json()["window"] == 3
    assert client.post(f"/api/v1/hall/windows/{window(3).pk}/call-next").status_code == 204
    done = client.post(f"/api/v1/hall/tickets/{called.json()['id']}/complete")
    assert done.json()["status"] == "done"
    assert client.get("/api/v1/hall/GY-HALL-01/metrics").json()["served"] == 1
    assert (
        client.post(
            "/api/v1/hall/GY-HALL-01/check-in", {"token": "x" * 20}, content_type="application/json"
        ).status_code
        == 409
    )


def test_a_call_is_published_for_the_board_and_queue_changes_for_the_staff_screens(
    users: dict[str, Any], hall: Any, p01: Any, window: Any
) -> None:
    """What the live streams carry (tests/hallqueue/test_live_streams serves them for real)."""
    channel = live.hall_channel(hall.pk)
    before = live.latest_id(channel)
    ticket = services.walk_in(hall, p01)
    services.call_next(users["clerk"], window(3))
    events = live.events_after(channel, before)
    assert [e.kind for e in events] == ["queue", "call"]
    call = events[1].data
    assert call["label"] == ticket.label and call["window"] == 3
    assert call["speech"] == f"请 {ticket.label} 号到 3 号窗口办理"
    assert call["call"] == Call.objects.get(ticket=ticket).pk


def test_call_next_picks_what_the_full_ordering_picks(
    users: dict[str, Any], hall: Any, p01: Any, window: Any, plate_zone: Any, settings: Any
) -> None:
    """Reading only the head of each group gives the same choice as ordering the whole queue."""
    import random

    from trafficdesk.hallqueue.rules import Waiting, order

    Zone.objects.filter(pk=plate_zone.pk).update(occupancy_cap=500, present=0)
    rng = random.Random(5)
    now = timezone.now()
    for _ in range(60):
        ticket = services.walk_in(
            hall, p01, rng.choice(["GENERAL", "RESUMPTION", "GREEN", "ESSENTIAL"])
        )
        Ticket.objects.filter(pk=ticket.pk).update(
            arrived_at=now - timedelta(minutes=rng.randint(0, 90)), on_time=rng.random() < 0.3
        )
    for _ in range(25):
        everyone = [
            Waiting(t.pk, t.applicant_class, t.on_time, t.arrived_at, t.business_id)
            for t in Ticket.objects.filter(service_point=hall, status="waiting")
        ]
        expected = order(everyone, now, settings.HALL_AGEING_MINUTES)[0].ticket_id
        assert services.call_next(users["clerk"], window(3), now).pk == expected


def test_a_window_can_ask_for_its_current_ticket(
    client: Client, users: dict[str, Any], hall: Any, p01: Any, window: Any
) -> None:
    ticket = services.walk_in(hall, p01)
    client.force_login(users["clerk"])
    assert client.get(f"/api/v1/hall/windows/{window(3).pk}/current").status_code == 204
    services.call_next(users["clerk"], window(3))
    body = client.get(f"/api/v1/hall/windows/{window(3).pk}/current").json()
    assert body["id"] == ticket.pk and body["status"] == "called"
    client.force_login(users["nanming_admin"])
    assert client.get(f"/api/v1/hall/windows/{window(3).pk}/current").status_code == 403


def test_the_console_answers_bad_ids_without_an_error(
    client: Client, users: dict[str, Any]
) -> None:
    client.force_login(users["clerk"])
    assert client.get("/hall/console/?window=abc").status_code == 200
    assert client.post("/hall/console/call/", {"window": "abc"}).status_code == 302
    assert client.post("/hall/console/complete/", {"window": "x", "ticket": "y"}).status_code == 302
