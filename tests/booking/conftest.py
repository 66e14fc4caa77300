from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any

import pytest
from django.utils import timezone

from trafficdesk.accounts.models import User
from trafficdesk.booking.claims import ClaimIn
from trafficdesk.booking.models import Slot
from trafficdesk.booking.rules import over_lunch
from trafficdesk.catalog.models import Business
from trafficdesk.core.validators import id_check_char
from trafficdesk.sites.models import ServicePoint

_serial = count(1)


def after_lunch(point: ServicePoint, start: datetime) -> datetime:
    """`start`, or the same minute and second after the point's lunch break when an hour from
    `start` would overlap it: slots over lunch are never offered, and a suite run at noon
    must find its slots as one run in the morning does."""
    lunch = (point.lunch_starts_at, point.lunch_ends_at)
    local = timezone.localtime(start)
    if lunch[0] is None or lunch[1] is None or not over_lunch(
        local, local + timedelta(minutes=60), (lunch[0], lunch[1])
    ):
        return start
    resumed = datetime.combine(local.date(), lunch[1], tzinfo=local.tzinfo)
    return resumed + timedelta(minutes=local.minute, seconds=local.second)


def make_id(n: int | None = None) -> str:
    """A valid resident ID (Guiyang, born 1990), different for each n."""
    number = n if n is not None else next(_serial)
    first17 = f"520115199003{(number // 1000) % 28 + 1:02d}{number % 1000:03d}"
    return first17 + id_check_char(first17)


@pytest.fixture
def new_id() -> Any:
    return make_id


@pytest.fixture
def citizen(db: Any) -> User:
    return User.objects.create(
        username=f"citizen-{next(_serial)}", mobile=f"139{next(_serial):08d}", role="citizen"
    )


@pytest.fixture
def make_citizen(db: Any) -> Any:
    def make() -> User:
        return User.objects.create(
            username=f"citizen-{next(_serial)}", mobile=f"137{next(_serial):08d}", role="citizen"
        )

    return make


@pytest.fixture
def make_slot(demo: Any) -> Any:
    """A slot at the Guiyang hall for the plates group (P01 takes 20 minutes)."""

    def make(
        *,
        people: int = 5,
        minutes: int | None = None,
        hours_ahead: int = 48,
        reserved: int = 0,
        release_in_hours: int = -1,
        point: str = "GY-HALL-01",
        category: str = "PLATE_LICENCE",
    ) -> Slot:
        # Off the whole second, so a test slot never meets a demo slot (those start on the
        # minute) whatever the time of day the suite runs at.
        n = next(_serial)
        start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(
            hours=hours_ahead, minutes=n % 50, seconds=1 + (n // 50) % 59
        )
        where = ServicePoint.objects.get(code=point)
        return Slot.objects.create(
            service_point=where,
            category=Business.objects.get(code="P01").category
            if category == "PLATE_LICENCE"
            else Business.objects.filter(category__code=category).first().category,
            starts_at=(start := after_lunch(where, start)),
            ends_at=start + timedelta(minutes=60),
            capacity_minutes=minutes if minutes is not None else people * 20,
            capacity_people=people,
            priority_reserved_minutes=reserved,
            priority_release_at=timezone.now() + timedelta(hours=release_in_hours),
        )

    return make


@pytest.fixture(autouse=True)
def _english_messages() -> Any:
    """Refusal messages are matched in English here; the pages are tested in both languages."""
    from django.utils import translation

    with translation.override("en"):
        yield


#: Proof of a priority class for tests that book in one: a permit number and a photo of it
#: (a pending claim, reviewed later).
PERMIT = ClaimIn(permit_number="急救许可 2020-001", evidence=b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
