"""The claiming statement of call-next: its SQL order is the rule's order, and a process's
copy of what a window serves is never used once the window has changed elsewhere."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from trafficdesk.catalog.models import Business
from trafficdesk.core.vocabulary import CLASS_ORDER
from trafficdesk.hallqueue import services
from trafficdesk.hallqueue.models import Ticket
from trafficdesk.hallqueue.rules import Waiting, order, order_sql
from trafficdesk.sites.models import Window, Zone

AGEING = 30
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.get_fixed_timezone(480))
STEP_US = AGEING * 60_000_000

# Ages near whole ageing steps (a microsecond either side) and anywhere between.
ages = st.one_of(
    st.integers(0, 5).flatmap(lambda k: st.integers(k * STEP_US - 2, k * STEP_US + 2)),
    st.integers(-10_000_000, 6 * STEP_US),
)
rows = st.lists(
    st.tuples(st.sampled_from([c.value for c in CLASS_ORDER]), st.booleans(), ages),
    min_size=1,
    max_size=12,
)


@pytest.fixture
def postgresql_only(db: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the SQL order is PostgreSQL's claiming statement; SQLite orders in Python")


@hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows)
def test_the_sql_order_is_the_rules_order(
    rows: list[tuple[str, bool, int]],
    postgresql_only: None,
    hall: Any,
    p01: Business,
    plate_zone: Zone,
) -> None:
    Ticket.objects.filter(service_point=hall).delete()
    made = Ticket.objects.bulk_create(
        [
            Ticket(
                service_point=hall,
                zone=plate_zone,
                business=p01,
                day=NOW.date(),
                prefix="A",
                number=i + 1,
                applicant_class=cls,
                on_time=on_time,
                status="waiting",
                arrived_at=NOW - timedelta(microseconds=age),
            )
            for i, (cls, on_time, age) in enumerate(rows)
        ]
    )
    expected = [
        w.ticket_id
        for w in order(
            [Waiting(t.pk, t.applicant_class, t.on_time, t.arrived_at, p01.pk) for t in made],
            NOW,
            AGEING,
        )
    ]
    by, params = order_sql("t", NOW, AGEING)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.id FROM hallqueue_ticket t WHERE t.service_point_id = %s ORDER BY {by}",  # noqa: S608
            [hall.pk, *params],
        )
        got = [row[0] for row in cursor.fetchall()]
    assert got == expected


def _other_business(window: Any) -> Business:
    """A business window 5 serves and window 3 does not."""
    found = Business.objects.filter(windows=window(5)).exclude(windows=window(3)).first()
    assert found is not None
    return found


def test_a_window_changed_elsewhere_is_read_again(
    users: dict[str, Any], hall: Any, window: Any
) -> None:
    """Another process adds a business to window 3 (no signal reaches this one): the claim
    sees the new revision and serves it. Negative control: the same change without raising
    the revision is not seen while this process's copy lives."""
    other = _other_business(window)
    three = window(3)
    assert services.call_next(users["clerk"], three) is None  # reads and caches window 3
    ticket = services.walk_in(hall, other)
    through = Window.businesses.through
    through.objects.bulk_create([through(window_id=three.pk, business_id=other.pk)])  # no signal
    assert services.call_next(users["clerk"], three) is None  # the copy still serves the old set
    Window.objects.filter(pk=three.pk).update(revision=three.revision + 1)  # as the signal does
    called = services.call_next(users["clerk"], three)
    assert called is not None and called.pk == ticket.pk


def test_a_window_closed_elsewhere_refuses_at_once(
    users: dict[str, Any], hall: Any, p01: Business, window: Any
) -> None:
    three = window(3)
    services.walk_in(hall, p01)
    services.walk_in(hall, p01)
    assert services.call_next(users["clerk"], three) is not None  # cached now
    Window.objects.filter(pk=three.pk).update(is_open=False)  # another process closes it
    with pytest.raises(services.QueueRefused) as refused:
        services.call_next(users["clerk"], three)
    assert refused.value.code == "window.closed"
    assert Ticket.objects.filter(service_point=hall, status="waiting").count() == 1


def test_revision_rises_with_every_change_and_never_goes_back(hall: Any, window: Any) -> None:
    stale, fresh = window(3), window(3)
    start = fresh.revision
    fresh.businesses.remove(fresh.businesses.first())
    fresh.kind = "green"
    fresh.save()
    now = Window.objects.get(pk=fresh.pk).revision
    assert now >= start + 2
    stale.number = 3
    stale.save()  # a copy read before the changes
    assert Window.objects.get(pk=fresh.pk).revision > now
    assert Window.objects.get(pk=fresh.pk).kind == stale.kind  # its own fields, as Django saves
