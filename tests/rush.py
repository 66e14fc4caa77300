"""A booking rush against real servers, and what must hold after it whatever happened to the
servers (tests/security/test_crash_safety.py, tests/scale/test_two_servers.py).

Clients book distinct ID numbers into a few slots of limited capacity over the API, each on a
fresh connection; an answer 201 is an acknowledged booking. A request that dies with its
server is not acknowledged and is not counted."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from django.db.models import Count, F, Q
from django.utils import timezone

from tests.booking.conftest import make_id
from trafficdesk.accounts import realname
from trafficdesk.accounts.models import FamilyMember, User
from trafficdesk.booking.models import Booking, Slot
from trafficdesk.core.identity import id_digest
from trafficdesk.core.validators import mask_resident_id
from trafficdesk.sites.models import Zone


def rush_slots(hall: Any, category: Any, count: int = 6, people: int = 15) -> list[Slot]:
    """`count` slots two days ahead, off the demo's slots, of `people` places each."""
    start = timezone.now().replace(minute=0, second=13, microsecond=0) + timedelta(days=2)
    return [
        Slot.objects.create(
            service_point=hall,
            category=category,
            starts_at=start + timedelta(minutes=i),
            ends_at=start + timedelta(minutes=i + 60),
            capacity_minutes=people * 20,
            capacity_people=people,
            priority_release_at=start - timedelta(days=3),
        )
        for i in range(count)
    ]


#: How many of the rush's ID numbers every client's account may book for (`Rush` books
#: make_id(serial), serial from its first_serial + 1, each once, from whichever client draws
#: it): more than the slots' places, so that bookings, not refusals, are in flight.
RUSH_IDS = 1000


def may_book_the_rush_ids(users: list[User], first_serial: int = 20_000) -> None:
    """The real-name rule (accounts.realname): an account books only for its own ID number
    and its declared family members'. Each account binds an ID of its own and has all the
    rush's ID numbers declared, written directly: the FAMILY_MEMBERS_MAX cap and the identity
    check are not what a rush test is about (tests/booking/test_realname.py is). The servers
    also need BOOKING_MAX_ACTIVE_PER_ACCOUNT raised, for the same reason."""
    for i, user in enumerate(users):
        realname.bind_identity(user, make_id(19_000 + i))
    declare_rush_ids(users, range(first_serial + 1, first_serial + RUSH_IDS + 1))


def declare_rush_ids(users: list[User], serials: Iterable[int]) -> None:
    """The ID numbers make_id(serial) declared as family members of every account, written
    directly (see may_book_the_rush_ids)."""
    now = timezone.now()
    numbers = [make_id(serial) for serial in serials]
    FamilyMember.objects.bulk_create(
        (
            FamilyMember(
                account=user,
                id_digest=id_digest(number),
                id_masked=mask_resident_id(number),
                relation="child",
                verified_at=now,
            )
            for user in users
            for number in numbers
        ),
        batch_size=5000,
    )


class Rush:
    """Client threads booking until stopped; `port()` says where to send each request (it
    may change while the rush goes on)."""

    def __init__(
        self,
        port: Callable[[], int],
        sessions: list[tuple[str, str]],
        slots: list[Slot],
        business: str = "P01",
        first_serial: int = 20_000,
    ) -> None:
        self.port = port
        self.sessions = sessions
        self.slot_ids = [s.pk for s in slots]
        self.business = business
        self.acknowledged: list[str] = []
        self.statuses: Counter[int | str] = Counter()
        self._lock = threading.Lock()
        self._serial = first_serial
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, args=(i,), daemon=True)
            for i in range(len(sessions))
        ]

    def __enter__(self) -> Rush:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)

    def answered(self) -> int:
        """Requests that got an HTTP answer from a server (booked, refused or busy)."""
        with self._lock:
            return sum(n for status, n in self.statuses.items() if isinstance(status, int))

    def wait_for_acknowledged(self, count: int = 1, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.acknowledged) >= count

    def _client(self, index: int) -> None:
        session_key, csrf = self.sessions[index]
        while not self._stop.is_set():
            with self._lock:
                self._serial += 1
                serial = self._serial
            body = json.dumps(
                {
                    "slot": self.slot_ids[serial % len(self.slot_ids)],
                    "businesses": [self.business],
                    "id_number": make_id(serial),
                }
            )
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port(), timeout=5)
                conn.request(
                    "POST",
                    "/api/v1/bookings",
                    body,
                    {
                        "Content-Type": "application/json",
                        "X-CSRFToken": csrf,
                        "Referer": "http://127.0.0.1/",
                        "Cookie": f"sessionid={session_key}; csrftoken={csrf}",
                    },
                )
                response = conn.getresponse()
                payload = response.read()
                conn.close()
            except (OSError, http.client.HTTPException) as exc:
                with self._lock:
                    self.statuses[type(exc).__name__] += 1
                time.sleep(0.05)  # killed mid-answer: not acknowledged, so not counted
                continue
            with self._lock:
                self.statuses[response.status] += 1
                if response.status == 201:
                    self.acknowledged.append(json.loads(payload)["token"])


def assert_nothing_lost_or_overbooked(acknowledged: list[str], slots: list[Slot]) -> None:
    """Every acknowledged booking exists, no slot is over capacity and its counters equal its
    active bookings, no zone is over its cap."""
    tokens = set(Booking.objects.filter(status="active").values_list("token", flat=True))
    lost = set(acknowledged) - tokens
    assert not lost, f"{len(lost)} acknowledged bookings lost"
    assert (
        Slot.objects.filter(
            Q(booked_people__gt=F("capacity_people")) | Q(booked_minutes__gt=F("capacity_minutes"))
        ).count()
        == 0
    )
    for slot in Slot.objects.filter(pk__in=[s.pk for s in slots]).annotate(
        active=Count("bookings", filter=Q(bookings__status="active"))
    ):
        assert slot.booked_people == slot.active, (slot.pk, slot.booked_people, slot.active)
    assert Zone.objects.filter(present__gt=F("occupancy_cap")).count() == 0
