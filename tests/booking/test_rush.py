"""Rush mode: the published rule, a reproducible draw, and notices for everyone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from hypothesis import given
from hypothesis import strategies as st

from tests.enterprises.test_enterprise_journey import verified  # noqa: F401 - a fixture
from trafficdesk.booking import rush
from trafficdesk.booking.models import Booking, RushRequest
from trafficdesk.booking.rules import Applicant, Place
from trafficdesk.booking.services import BookingRefused, book
from trafficdesk.booking.tasks import allocate_due_rushes
from trafficdesk.catalog.models import Business
from trafficdesk.sites.models import ServicePoint

applicants = st.lists(
    st.builds(
        Applicant,
        request_id=st.integers(1, 10_000),
        class_rank=st.integers(0, 4),
        applied_on=st.integers(738000, 738010),
    ),
    unique_by=lambda a: a.request_id,
    max_size=60,
)
places = st.lists(
    st.builds(Place, slot_id=st.integers(1, 50), seats=st.integers(0, 6)),
    unique_by=lambda p: p.slot_id,
    max_size=8,
)


@given(applicants, places, st.text(min_size=1, max_size=8))
def test_allocation_follows_the_published_rule(
    people: list[Applicant], seats: list[Place], seed: str
) -> None:
    result = rush.allocate(people, seats, seed)
    by_id = {a.request_id: a for a in people}
    winners = [by_id[r] for r, s in result if s is not None]
    losers = [by_id[r] for r, s in result if s is None]
    assert len(winners) == min(len(people), sum(p.seats for p in seats))
    for slot in seats:
        assert sum(1 for _r, s in result if s == slot.slot_id) <= slot.seats
    if winners and losers:
        worst_winner = max((a.class_rank, a.applied_on) for a in winners)
        best_loser = min((a.class_rank, a.applied_on) for a in losers)
        assert worst_winner <= best_loser


@given(applicants, places, st.text(min_size=1, max_size=8), st.randoms())
def test_the_draw_is_reproducible_whatever_the_input_order(
    people: list[Applicant], seats: list[Place], seed: str, rnd: Any
) -> None:
    shuffled = list(people)
    rnd.shuffle(shuffled)
    assert rush.result_digest(rush.allocate(people, seats, seed)) == rush.result_digest(
        rush.allocate(shuffled, seats, seed)
    )


def test_different_seeds_break_ties_differently() -> None:
    people = [Applicant(i, 4, 738000) for i in range(100)]
    seats = [Place(1, 10)]
    assert rush.allocate(people, seats, "a") != rush.allocate(people, seats, "b")


@pytest.fixture
def exam_rush(users: dict[str, Any], make_slot: Any) -> Any:
    point = ServicePoint.objects.get(code="GY-EXAM-01")
    slots = [make_slot(people=2, minutes=80, point="GY-EXAM-01", category="EXAM") for _ in range(2)]
    now = timezone.now()
    return rush.open_rush(
        users["gz_admin"],
        service_point=point,
        business=Business.objects.get(code="E02"),
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=1),
        slots=slots,
    )


def test_rush_collects_then_allocates_and_notifies(
    exam_rush: Any,
    make_citizen: Any,
    new_id: Any,
    sms_outbox: Any,
    verified: dict[str, Any],  # noqa: F811 - the fixture
    django_capture_on_commit_callbacks: Any,
) -> None:
    holders = [make_citizen() for _ in range(5)] + [verified["manager"]]
    numbers = [new_id() for _ in holders]
    for i, holder in enumerate(holders[:5]):
        rush.apply(holder, exam_rush, numbers[i])
    with pytest.raises(BookingRefused) as declared:
        rush.apply(holders[5], exam_rush, numbers[5], "RESUMPTION")  # declared, not proven
    assert declared.value.code == "rush.proof"
    rush.apply(holders[5], exam_rush, numbers[5], "RESUMPTION", vehicle_id=verified["lorries"][0])
    with pytest.raises(BookingRefused) as twice:
        rush.apply(holders[0], exam_rush, numbers[0])
    assert twice.value.code == "rush.duplicate"
    assert rush.allocate_rush(exam_rush.pk) == {"won": 0, "lost": 0}  # still open
    with django_capture_on_commit_callbacks(execute=True):
        outcome = rush.allocate_rush(exam_rush.pk, now=exam_rush.closes_at)
    assert outcome == {"won": 4, "lost": 2}
    proven = RushRequest.objects.get(rush=exam_rush, applicant_class="RESUMPTION")
    assert proven.won is True and proven.draw_rank == 1  # a proven priority class ranks first
    assert proven.booking.claim.status == "granted" and proven.booking.claim.vehicle_id
    assert Booking.objects.filter(rush_request__rush=exam_rush, status="active").count() == 4
    assert len(sms_outbox) == 6
    exam_rush.refresh_from_db()
    assert rush.verify(exam_rush)
    assert rush.allocate_rush(exam_rush.pk, now=exam_rush.closes_at) == {"won": 0, "lost": 0}


def test_applications_outside_the_window_are_refused(
    exam_rush: Any, citizen: Any, new_id: Any
) -> None:
    with pytest.raises(BookingRefused, match="Applications are taken"):
        rush.apply(citizen, exam_rush, new_id(), now=exam_rush.closes_at + timedelta(seconds=1))


def test_rush_api(client: Any, exam_rush: Any, citizen: Any, new_id: Any) -> None:
    client.force_login(citizen)
    applied = client.post(
        f"/api/v1/rush/{exam_rush.pk}/apply",
        {"id_number": new_id()},
        content_type="application/json",
    )
    assert applied.status_code == 201 and applied.json()["my_result"] == "applied"
    body = client.get(f"/api/v1/rush/{exam_rush.pk}").json()
    assert (
        body["seed"] is None and len(body["seed_sha256"]) == 64 and "priority class" in body["rule"]
    )


def test_opening_a_rush_schedules_its_allocation_for_when_the_window_closes(
    users: dict[str, Any],
    make_slot: Any,
    citizen: Any,
    new_id: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    point = ServicePoint.objects.get(code="GY-EXAM-01")
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        window = rush.open_rush(
            users["gz_admin"],
            service_point=point,
            business=Business.objects.get(code="E02"),
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(minutes=30),
            slots=[make_slot(people=2, minutes=80, point="GY-EXAM-01", category="EXAM")],
        )
    scheduled = DBTaskResult.objects.filter(task_path__endswith="allocate_due_rushes")
    # At the moment set, and twice later as the backstop should the worker be down then.
    assert sorted(t.run_after for t in scheduled) == [
        window.closes_at + after for after in rush.ALLOCATION_RUNS
    ]
    rush.apply(citizen, window, new_id())
    assert allocate_due_rushes.call() == 0  # still open: nothing to allocate yet
    window.refresh_from_db()
    assert window.status == "open"
    type(window).objects.filter(pk=window.pk).update(closes_at=now - timedelta(minutes=1))
    assert allocate_due_rushes.call() == 1  # what the worker runs at the moment set
    assert allocate_due_rushes.call() == 0  # idempotent: allocated once
    assert Booking.objects.filter(rush_request__rush=window, status="active").count() == 1


def test_an_administrator_opens_a_rush_through_the_api_and_its_slots_leave_first_come(
    client: Any, users: dict[str, Any], make_slot: Any, citizen: Any, new_id: Any
) -> None:
    days = [make_slot(people=2, minutes=80, point="GY-EXAM-01", category="EXAM") for _ in range(2)]
    day = timezone.localdate(days[0].starts_at)
    now = timezone.now()
    body = {
        "point": "GY-EXAM-01",
        "business": "E02",
        "slots_from": day.isoformat(),
        "slots_until": day.isoformat(),
        "opens_at": (now - timedelta(minutes=5)).isoformat(),
        "closes_at": (now + timedelta(hours=2)).isoformat(),
    }
    client.force_login(citizen)
    assert client.post("/api/v1/rush", body, content_type="application/json").status_code == 403
    client.force_login(users["gz_admin"])
    backwards = {**body, "closes_at": (now - timedelta(hours=1)).isoformat()}
    refused = client.post("/api/v1/rush", backwards, content_type="application/json")
    assert refused.status_code == 409 and refused.json()["code"] == "rush.window"
    none = client.post("/api/v1/rush", {**body, "slots": [10**9]}, content_type="application/json")
    assert none.status_code == 409 and none.json()["code"] == "rush.slots"
    opened = client.post("/api/v1/rush", body, content_type="application/json")
    assert opened.status_code == 201, opened.content
    assert len(opened.json()["seed_sha256"]) == 64 and opened.json()["seed"] is None
    window = opened.json()["id"]
    assert all(
        s.rush_id == window for s in type(days[0]).objects.filter(pk__in=[d.pk for d in days])
    )
    with pytest.raises(BookingRefused) as first_come:
        book(citizen, days[0].pk, ["E02"], new_id())
    assert first_come.value.code == "slot.rush"


def test_a_hall_manager_opens_a_draw_from_the_slot_calendar(
    client: Any, users: dict[str, Any], make_slot: Any
) -> None:
    slot = make_slot(people=2)  # a P01 slot at the Guiyang hall, two days ahead
    day = timezone.localdate(slot.starts_at).isoformat()
    client.force_login(users["manager"])
    page = client.get(f"/booking/calendar/?point=GY-HALL-01&day={day}").content.decode()
    assert 'data-testid="open-rush"' in page
    form = {"point": "GY-HALL-01", "business": "P01", "first_day": day, "last_day": day}
    now = timezone.localtime()
    window = {
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
    }
    answered = client.post("/booking/rush/open/", {**form, **window}, follow=True)
    assert answered.status_code == 200
    slot.refresh_from_db()
    assert slot.rush_id is not None
    assert "SHA-256" in answered.content.decode()
    again = client.post("/booking/rush/open/", {**form, **window}, follow=True)
    messages = [str(m) for m in again.context["messages"]]
    assert messages and slot.rush_id == type(slot).objects.get(pk=slot.pk).rush_id
