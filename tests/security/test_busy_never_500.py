"""A lock it cannot get in time, on every path that locks, answers "busy, retry": the API with
503 and Retry-After, a page with the try-again page (503), a background task by running
again a moment later; never a 500, and nothing is changed (docs/locking.md).

Another connection holds the lock: on PostgreSQL the row the path needs (SELECT … FOR
UPDATE), on SQLite the database's write lock (BEGIN IMMEDIATE). The path's wait is made short
(LOCK_TIMEOUT_MS on PostgreSQL, the busy timeout on SQLite)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.db.models import Model
from django.test import Client
from django.utils import timezone

from tests.booking.conftest import make_id
from trafficdesk.accounts import realname
from trafficdesk.accounts.models import OtpChallenge, User
from trafficdesk.accounts.services import request_login_code
from trafficdesk.booking import services as booking_services
from trafficdesk.booking.models import Booking, RushWindow, Slot
from trafficdesk.catalog.models import Business
from trafficdesk.hallqueue import services as hall
from trafficdesk.hallqueue.models import Ticket
from trafficdesk.online import services as online
from trafficdesk.online.models import OnlineApplication
from trafficdesk.sites.models import ServicePoint, Window, Zone


@contextmanager
def held(model: type[Model], pk: Any) -> Iterator[None]:
    """Another connection holds a lock on this row (and, on SQLite, the write lock)."""
    ready, done = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                list(model.objects.select_for_update().filter(pk=pk))
                if connection.vendor == "sqlite":
                    model.objects.filter(pk=pk).update()  # a write takes the write lock
                ready.set()
                done.wait(15)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failure.append(exc)
            ready.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    assert ready.wait(10) and not failure, failure
    try:
        yield
    finally:
        done.set()
        thread.join(15)


@pytest.fixture
def short_waits(transactional_db: Any, settings: Any, demo: Any) -> None:
    settings.LOCK_TIMEOUT_MS = 100
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 200")


@pytest.fixture
def world(short_waits: Any, users: dict[str, Any]) -> dict[str, Any]:
    citizen = User.objects.create(username="busy-citizen", mobile="13900005555", role="citizen")
    p01 = Business.objects.select_related("category").get(code="P01")
    point = ServicePoint.objects.select_related("region").get(code="GY-HALL-01")
    start = timezone.now() + timedelta(minutes=10)
    slot = Slot.objects.create(
        service_point=point,
        category=p01.category,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        capacity_minutes=200,
        capacity_people=10,
        priority_release_at=start,
    )
    later = Slot.objects.create(
        service_point=point,
        category=p01.category,
        starts_at=start + timedelta(hours=1),
        ends_at=start + timedelta(hours=2),
        capacity_minutes=200,
        capacity_people=10,
        priority_release_at=start,
    )
    booking = booking_services.book(citizen, slot.pk, ["P01"], make_id(80_000), notify=False)
    # The family members the citizen books for below (the real-name rule: its own ID, bound by
    # the booking above, already holds P01).
    for number in (80_100, 80_200):
        realname.declare_family_member(citizen, make_id(number), "", "child")
    window = Window.objects.select_related("service_point__region").get(
        service_point=point, number=3
    )
    waiting = hall.walk_in(point, p01)
    called_first = hall.walk_in(point, p01)
    Ticket.objects.filter(pk=called_first.pk).update(
        status="called", window=window, called_at=timezone.now()
    )
    application = online.submit(
        citizen,
        Business.objects.get(code="X02"),
        {"driver_id": make_id(80_001), "plate": "贵A12345"},
    )
    return {
        "users": {**users, "citizen": citizen},
        "slot": slot,
        "later": later,
        "booking": booking,
        "window": window,
        "waiting": waiting,
        "called": Ticket.objects.get(pk=called_first.pk),
        "zone": Zone.objects.get(pk=waiting.zone_id),
        "application": application,
    }


def api(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def as_user(world: dict[str, Any], name: str) -> Client:
    client = Client()
    client.force_login(world["users"][name])
    return client


# (what, who, the row locked, the request): every API path that locks a row.
API_PATHS: list[tuple[str, str, Callable[[dict[str, Any]], tuple[Any, Any]], Any]] = [
    (
        "book",
        "citizen",
        lambda w: (Slot, w["slot"].pk),
        lambda c, w: api(
            c,
            "/api/v1/bookings",
            {"slot": w["slot"].pk, "businesses": ["P01"], "id_number": make_id(80_100)},
        ),
    ),
    (
        "cancel",
        "citizen",
        lambda w: (Booking, w["booking"].pk),
        lambda c, w: api(c, f"/api/v1/bookings/{w['booking'].token}/cancel"),
    ),
    (
        "reschedule",
        "citizen",
        lambda w: (Booking, w["booking"].pk),
        lambda c, w: api(
            c, f"/api/v1/bookings/{w['booking'].token}/reschedule", {"slot": w["later"].pk}
        ),
    ),
    (
        "no-show",
        "clerk",
        lambda w: (Booking, w["booking"].pk),
        lambda c, w: api(c, f"/api/v1/bookings/{w['booking'].token}/no-show"),
    ),
    (
        "check in",
        "clerk",  # a kiosk needs registering; the hall's clerk may issue tickets
        lambda w: (Booking, w["booking"].pk),
        lambda c, w: api(c, "/api/v1/hall/GY-HALL-01/check-in", {"token": w["booking"].token}),
    ),
    (
        "walk in",
        "clerk",  # a kiosk needs registering; the hall's clerk may issue tickets
        lambda w: (Zone, w["zone"].pk),
        lambda c, w: api(c, "/api/v1/hall/GY-HALL-01/walk-in", {"business": "P01"}),
    ),
    (
        "call next",
        "clerk",
        lambda w: (Ticket, w["waiting"].pk),
        lambda c, w: api(c, f"/api/v1/hall/windows/{w['window'].pk}/call-next"),
    ),
    (
        "recall",
        "clerk",
        lambda w: (Ticket, w["called"].pk),
        lambda c, w: api(c, f"/api/v1/hall/tickets/{w['called'].pk}/recall"),
    ),
    (
        "complete",
        "clerk",
        lambda w: (Zone, w["zone"].pk),
        lambda c, w: api(c, f"/api/v1/hall/tickets/{w['called'].pk}/complete"),
    ),
    (
        "skip",
        "clerk",
        lambda w: (Zone, w["zone"].pk),
        lambda c, w: api(c, f"/api/v1/hall/tickets/{w['called'].pk}/skip"),
    ),
    (
        "transfer",
        "clerk",
        lambda w: (Ticket, w["called"].pk),
        lambda c, w: api(c, f"/api/v1/hall/tickets/{w['called'].pk}/transfer", {"business": "P02"}),
    ),
]


def warm_up(client: Client) -> None:
    """On SQLite the held lock is the database's write lock, which also stops the session's
    and the rate limiter's own writes; make those before the lock is taken, so that the path's
    own write is what waits."""
    if connection.vendor == "sqlite":
        client.get("/accounts/me/")


@pytest.mark.parametrize(
    ("what", "who", "row", "request_"), API_PATHS, ids=[p[0] for p in API_PATHS]
)
def test_the_api_answers_busy_with_retry_after(
    world: dict[str, Any], what: str, who: str, row: Any, request_: Any
) -> None:
    client = Client() if who == "anonymous" else as_user(world, who)
    warm_up(client)
    if what == "book" and connection.vendor == "sqlite":
        api(client, "/api/v1/bookings", {"slot": 1, "businesses": ["P01"], "id_number": "1" * 18})
    model, pk = row(world)
    before = model.objects.filter(pk=pk).values().first()
    with held(model, pk):
        response = request_(client, world)
    assert response.status_code == 503, (what, response.status_code, response.content[:300])
    assert response["Retry-After"] == "1"
    assert response.json()["code"] == "busy" and response.json()["detail"]
    assert model.objects.filter(pk=pk).values().first() == before, "nothing was changed"


def test_a_login_code_check_answers_busy(short_waits: Any) -> None:
    request_login_code("13900006666")
    challenge = OtpChallenge.objects.get()
    client = Client()
    if connection.vendor == "sqlite":  # the rate limiter's counter exists before the lock
        api(client, "/api/v1/accounts/otp/verify", {"mobile": "13900006666", "code": "000001"})
        challenge.refresh_from_db()
    attempts = challenge.attempts
    with held(OtpChallenge, challenge.pk):
        response = api(
            client, "/api/v1/accounts/otp/verify", {"mobile": "13900006666", "code": "000000"}
        )
    assert response.status_code == 503 and response["Retry-After"] == "1"
    challenge.refresh_from_db()
    assert challenge.attempts == attempts


def test_the_booking_page_answers_with_the_try_again_page(world: dict[str, Any]) -> None:
    client = as_user(world, "citizen")
    slot = world["slot"]
    warm_up(client)
    if connection.vendor == "sqlite":
        client.post(f"/booking/slot/{slot.pk}/?business=P01", {"id_number": "1" * 18})
    with held(Slot, slot.pk):
        response = client.post(
            f"/booking/slot/{slot.pk}/?business=P01",
            {"id_number": make_id(80_200), "business": "P01"},
        )
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert 'data-testid="reason"' in response.content.decode()


def test_an_online_review_step_page_answers_busy(world: dict[str, Any]) -> None:
    client = as_user(world, "clerk")
    warm_up(client)
    application = world["application"]
    with held(OnlineApplication, application.pk):
        response = client.post(
            f"/online/a/{application.reference}/act/", {"action": "under_review"}
        )
    assert response.status_code == 503
    application.refresh_from_db()
    assert application.status == "submitted"


def only_with_row_locks() -> None:
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite: the held write lock also stops the task's own retry (an INSERT); "
            "the PostgreSQL run, where the lock is on one row, shows the retry"
        )


def _tasks_enqueued() -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.count()


def test_a_capacity_release_runs_again_when_busy(world: dict[str, Any]) -> None:
    only_with_row_locks()
    from trafficdesk.booking import tasks
    from trafficdesk.booking.models import CapacityRelease

    slot = world["slot"]
    release = CapacityRelease.objects.create(
        slot=slot, minutes=20, general_minutes=20, release_at=timezone.now() - timedelta(seconds=1)
    )
    before = _tasks_enqueued()
    with held(Slot, slot.pk):
        assert tasks.release_capacity_task.call() == 0
    assert _tasks_enqueued() == before + 1, "the task is enqueued again"
    release.refresh_from_db()
    assert release.released_at is None, "the release waits for the next run"


def test_a_rush_allocation_runs_again_when_busy(world: dict[str, Any]) -> None:
    only_with_row_locks()
    from trafficdesk.booking import tasks

    now = timezone.now()
    window = RushWindow.objects.create(
        service_point=world["slot"].service_point,
        business=Business.objects.get(code="P01"),
        opens_at=now - timedelta(hours=2),
        closes_at=now - timedelta(hours=1),
        seed="busy",
    )
    before = _tasks_enqueued()
    with held(RushWindow, window.pk):
        assert tasks.allocate_due_rushes.call() == 0
    assert _tasks_enqueued() == before + 1
    window.refresh_from_db()
    assert window.status == "open"


def test_rebooking_runs_again_when_busy(world: dict[str, Any]) -> None:
    only_with_row_locks()
    from trafficdesk.booking import tasks
    from trafficdesk.policy.models import DomainEvent
    from trafficdesk.regions.models import Region
    from trafficdesk.regions.services import set_risk_level

    set_risk_level(
        world["users"]["gz_admin"], Region.objects.get(code="520115"), "HIGH", reason="busy"
    )
    event = DomainEvent.objects.order_by("-id").first()
    assert event is not None
    before = _tasks_enqueued()
    with held(Booking, world["booking"].pk):
        assert tasks.rebook_task.call(event.pk) == {"checked": 0, "moved": 0, "cancelled": 0}
    assert _tasks_enqueued() == before + 1
    event.refresh_from_db()
    assert event.handled_at is None
    assert Booking.objects.get(pk=world["booking"].pk).slot_id == world["slot"].pk
