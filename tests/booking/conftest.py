from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any

import pytest
from django.utils import timezone

from trafficdesk.accounts import realname
from trafficdesk.accounts.models import User
from trafficdesk.booking.claims import ClaimIn
from trafficdesk.booking.models import Slot
from trafficdesk.catalog.models import Business
from trafficdesk.core.validators import id_check_char
from trafficdesk.sites.models import ServicePoint

_serial = count(1)


#: Local hours at which an hour-long slot starting at :00–:49 would overlap the demo points'
#: lunch break (12:00–13:30), where slots are not offered.
_LUNCH_HOURS = frozenset({11, 12, 13})


def slot_base(hours_ahead: int) -> datetime:
    """The whole hour test slots count from: now's, or three hours later when a slot an
    exact number of days ahead would fall in the lunch break. One shift for every slot of
    the test keeps their order (a suite run at noon finds its slots as one in the morning)."""
    base = timezone.now().replace(minute=0, second=0, microsecond=0)
    if hours_ahead > 0 and timezone.localtime(base).hour in _LUNCH_HOURS:  # past slots stay past
        base += timedelta(hours=3)
    return base


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


def with_family(user: User, members: int) -> list[str]:
    """Bind a fresh ID number to `user` (a citizen with none bound yet) and declare `members`
    fresh family members (the demo verifier needs no name): the ID numbers this one account
    may book with under the real-name rule (accounts.realname), its own first. For a test
    where one account books for several people (at most FAMILY_MEMBERS_MAX members)."""
    own = make_id()
    realname.bind_identity(user, own)
    numbers = [own]
    for _ in range(members):
        numbers.append(make_id())
        realname.declare_family_member(user, numbers[-1], "", "child")
    return numbers


@pytest.fixture
def make_person(make_citizen: Any) -> Any:
    """A fresh person: their own citizen account and the ID number it books with (bound on
    its first booking). For a test where several people book."""

    def make() -> tuple[User, str]:
        return make_citizen(), make_id()

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
        start = slot_base(hours_ahead) + timedelta(
            hours=hours_ahead, minutes=n % 50, seconds=1 + (n // 50) % 59
        )
        where = ServicePoint.objects.get(code=point)
        return Slot.objects.create(
            service_point=where,
            category=Business.objects.get(code="P01").category
            if category == "PLATE_LICENCE"
            else Business.objects.filter(category__code=category).first().category,
            starts_at=start,
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
