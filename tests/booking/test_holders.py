"""The no-show bar is written twice, side by side: `no_show_ban_until` (Python, to say until
when) and `not_barred_sql` (the condition inside the booking statement). They agree on every
history Hypothesis finds: no-shows of any age, inside and outside the window and the ban."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.booking.conftest import make_id
from trafficdesk.booking import holders
from trafficdesk.booking.models import Booking, BookingEvent, BookingEventKind
from trafficdesk.core.identity import id_digest


@pytest.fixture
def one_slot(make_slot: Any) -> Any:
    return make_slot()


AGES = st.lists(st.integers(min_value=0, max_value=24 * 130), max_size=6)  # hours ago


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ages=AGES, other_kinds=st.integers(min_value=0, max_value=2))
def test_the_python_and_the_sql_bar_agree(
    ages: list[int], other_kinds: int, citizen: Any, one_slot: Any
) -> None:
    now = timezone.now()
    number = make_id(97_000 + len(ages) * 10 + other_kinds)
    digest = id_digest(number)
    slot = one_slot
    Booking.objects.filter(id_digest=digest).delete()
    for i, hours in enumerate([*ages, *([1] * other_kinds)]):
        booking = Booking.objects.create(
            token=f"bar-{len(ages)}-{other_kinds}-{i}-{now.timestamp()}",
            holder=citizen,
            slot=slot,
            id_digest=digest,
            id_masked="x",
            minutes=20,
            general_minutes=20,
            status="no_show",
        )
        kind = BookingEventKind.NO_SHOW if i < len(ages) else BookingEventKind.BOOKED
        event = BookingEvent.objects.create(booking=booking, kind=kind)
        BookingEvent.objects.filter(pk=event.pk).update(at=now - timedelta(hours=hours))
    sql, params = holders.not_barred_sql(digest, now)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 WHERE {sql}", params)  # noqa: S608 - the condition under test
        not_barred = cursor.fetchone() is not None
    assert not_barred == (holders.no_show_ban_until(digest, now) is None), ages
