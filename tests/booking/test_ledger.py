"""The capacity ledger: its two forms of the hold rule agree, every change is conditional and
checked, and who counts as "priority" is the policy in force's to say."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.booking.conftest import PERMIT
from trafficdesk.booking import ledger, services
from trafficdesk.booking.models import Slot
from trafficdesk.policy.services import current_policy, publish_policy

from .conftest import make_id


@pytest.fixture
def probe(make_slot: Any) -> Slot:
    return make_slot(people=10)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    capacity=st.integers(0, 200),
    people=st.integers(0, 12),
    reserved=st.integers(0, 200),
    booked=st.integers(0, 200),
    booked_people=st.integers(0, 12),
    general=st.integers(0, 200),
    released=st.booleans(),
    minutes=st.integers(1, 120),
    priority=st.booleans(),
)
def test_has_room_and_room_q_agree(
    probe: Slot,
    capacity: int,
    people: int,
    reserved: int,
    booked: int,
    booked_people: int,
    general: int,
    released: bool,
    minutes: int,
    priority: bool,
) -> None:
    """The Python form (pre-checks, rebooking's planning) and the SQL form (the UPDATEs and
    the listing) of the hold rule give the same answer for any counters."""
    now = timezone.now()
    fields = {
        "capacity_minutes": capacity,
        "capacity_people": people,
        "priority_reserved_minutes": reserved,
        "booked_minutes": min(booked, capacity),
        "booked_people": min(booked_people, people),
        "booked_general_minutes": general,
        "priority_release_at": now - timedelta(hours=1) if released else now + timedelta(hours=1),
    }
    Slot.objects.filter(pk=probe.pk).update(**fields)
    probe.refresh_from_db()
    claim = ledger.Claim(minutes, priority)
    in_sql = Slot.objects.filter(ledger.room_q(claim, now), pk=probe.pk).exists()
    assert ledger.has_room(probe, claim, now) == in_sql, fields


def test_take_and_give_back_change_exactly_one_row_or_none(probe: Slot) -> None:
    now = timezone.now()
    claim = ledger.Claim(20, priority=False)
    held = ledger.take(probe.pk, claim, now)
    assert held == ledger.Held(probe.pk, 20, 20)
    probe.refresh_from_db()
    assert (probe.booked_minutes, probe.booked_people, probe.booked_general_minutes) == (20, 1, 20)
    ledger.give_back(held)
    probe.refresh_from_db()
    assert (probe.booked_minutes, probe.booked_people, probe.booked_general_minutes) == (0, 0, 0)
    with pytest.raises(ledger.LedgerError), transaction.atomic():
        ledger.give_back(held)  # nothing is held any more: refused, not written below zero
    assert ledger.take(probe.pk, ledger.Claim(10_000, priority=True), now) is None


def test_a_slot_of_a_rush_is_not_taken_first_come_but_by_its_draw(
    probe: Slot, users: dict[str, Any]
) -> None:
    from trafficdesk.booking import rush
    from trafficdesk.catalog.models import Business

    now = timezone.now()
    window = rush.open_rush(
        users["gz_admin"],
        service_point=probe.service_point,
        business=Business.objects.get(code="P01"),
        opens_at=now,
        closes_at=now + timedelta(hours=1),
        slots=[probe],
    )
    assert ledger.take(probe.pk, ledger.Claim(20, priority=True), now) is None
    assert not ledger.offerable(Slot.objects.filter(pk=probe.pk), ledger.Claim(20, True), now)
    ledger.take_for_rush(window.pk, probe.pk, people=2, minutes=40, general=40)
    probe.refresh_from_db()
    assert (probe.booked_people, probe.booked_minutes) == (2, 40)
    with pytest.raises(ledger.LedgerError), transaction.atomic():
        ledger.take_for_rush(window.pk, probe.pk, people=20, minutes=400, general=0)
    with pytest.raises(rush.BookingRefused), transaction.atomic():
        rush.open_rush(
            users["gz_admin"],
            service_point=probe.service_point,
            business=Business.objects.get(code="P01"),
            opens_at=now,
            closes_at=now + timedelta(hours=1),
            slots=[probe],
        )


def test_apply_moves_refuses_to_leave_the_bounds(probe: Slot) -> None:
    with pytest.raises(ledger.LedgerError), transaction.atomic():
        ledger.apply_moves({probe.pk: ledger.Delta(minutes=10_000, people=1)}, {})
    with pytest.raises(ledger.LedgerError), transaction.atomic():
        ledger.apply_moves({}, {probe.pk: ledger.Delta(minutes=20, people=1)})
    ledger.apply_moves({probe.pk: ledger.Delta(minutes=40, people=2, general=40)}, {})
    probe.refresh_from_db()
    assert (probe.booked_people, probe.booked_minutes) == (2, 40)


def test_who_uses_the_priority_hold_is_the_policy_in_force(
    make_slot: Any,
    make_citizen: Any,
    users: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """RESUMPTION is not a priority class in the default policy: it cannot book into the held
    share; once a policy names it, it can (the hold, rebooking, the rush and the emergency
    windows all read the same list)."""
    slot = make_slot(people=3, minutes=60, reserved=40, release_in_hours=48)
    first = services.book(
        make_citizen(), slot.pk, ["P01"], make_id(90_001), "RESUMPTION", claim=PERMIT
    )
    assert first.general_minutes == 20
    with pytest.raises(services.BookingRefused) as refused:
        services.book(make_citizen(), slot.pk, ["P01"], make_id(90_002), "RESUMPTION", claim=PERMIT)
    assert refused.value.code == "slot.full"
    document = current_policy().model_dump(mode="json")
    document["priority_classes"] = [*document["priority_classes"], "RESUMPTION"]
    with django_capture_on_commit_callbacks(execute=True):
        publish_policy(
            users["gz_admin"], document, reason="resumption first", effective_from=timezone.now()
        )
    second = services.book(
        make_citizen(), slot.pk, ["P01"], make_id(90_003), "RESUMPTION", claim=PERMIT
    )
    assert second.general_minutes == 0, "booked into the held share"
