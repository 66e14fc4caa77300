"""Races on the real-name caps: many bookings at once from one account, or for one ID number
from many accounts, never hold more active bookings than BOOKING_MAX_ACTIVE_PER_ACCOUNT or
BOOKING_MAX_ACTIVE_PER_ID. The caps are a condition of the booking statement
(booking.holders.within_caps_sql), serialised per account and per ID by advisory locks on
PostgreSQL (holders.lock_holder) and by SQLite's IMMEDIATE transactions.

Each race has a negative control: the cap checked in Python before the booking (the obvious
way to write it) instead of inside the statement, which lets the same race through.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.booking.test_concurrency import run_together
from trafficdesk.accounts import realname
from trafficdesk.accounts.models import User
from trafficdesk.booking import holders, services
from trafficdesk.booking.models import Booking, Slot
from trafficdesk.core.identity import id_digest
from trafficdesk.core.vocabulary import HOLDING_STATUSES

from .conftest import make_id

BUSINESSES = ("P01", "P02", "P03")
THREADS = 20


def _active(**where: Any) -> int:
    return Booking.objects.filter(status__in=HOLDING_STATUSES, **where).count()


def _booker(checked_in_python: bool) -> Callable[..., Booking]:
    """services.book, or (the negative control) a book that asks the cap first and then
    books with the statement's cap taken away."""
    if not checked_in_python:
        return services.book

    def book_checked_first(holder: User, slot_id: int, codes: list[str], number: str) -> Booking:
        holders.refuse_if_over_caps(holder.pk, id_digest(number))
        time.sleep(0.05)  # the gap between the check and the write, which the race uses
        return services.book(holder, slot_id, codes, number)

    return book_checked_first


def _one_account_with_family(make_citizen: Any, members: int) -> tuple[User, list[str]]:
    holder = make_citizen()
    own = make_id()
    realname.bind_identity(holder, own)
    family = [make_id() for _ in range(members)]
    for number in family:
        realname.declare_family_member(holder, number, "", "child")
    return holder, [own, *family]


def _race_one_account(make_citizen: Any, make_slot: Any, book: Callable[..., Booking]) -> User:
    holder, people = _one_account_with_family(make_citizen, 5)
    slots = [make_slot(people=THREADS) for _ in BUSINESSES]

    def work(i: int) -> Booking:
        person, business = divmod(i, len(BUSINESSES))
        number = people[person % len(people)]
        return book(holder, slots[business].pk, [BUSINESSES[business]], number)

    run_together(THREADS, work)
    return holder


def _race_one_id(make_citizen: Any, make_slot: Any, book: Callable[..., Booking]) -> str:
    """Twenty accounts that each declared the same person book for them at once, each a
    different business or slot (so that the one-booking-per-business index is not what
    stops them)."""
    person = make_id()
    accounts = []
    for _ in range(THREADS):
        account = make_citizen()
        realname.bind_identity(account, make_id())
        realname.declare_family_member(account, person, "", "parent")
        accounts.append(account)
    slots: list[Slot] = [make_slot(people=THREADS) for _ in BUSINESSES]

    def work(i: int) -> Booking:
        business = i % len(BUSINESSES)
        return book(accounts[i], slots[business].pk, [BUSINESSES[business]], person)

    run_together(THREADS, work)
    return id_digest(person)


def test_race_many_bookings_from_one_account_hold_at_most_its_cap(
    transactional_db: Any, make_citizen: Any, make_slot: Any, settings: Any
) -> None:
    settings.BOOKING_MAX_ACTIVE_PER_ACCOUNT = 3
    holder = _race_one_account(make_citizen, make_slot, _booker(checked_in_python=False))
    assert _active(holder=holder) == 3


def test_negative_control_an_account_cap_checked_before_the_booking_is_overrun(
    transactional_db: Any, make_citizen: Any, make_slot: Any, settings: Any, monkeypatch: Any
) -> None:
    settings.BOOKING_MAX_ACTIVE_PER_ACCOUNT = 3
    monkeypatch.setattr(holders, "within_caps_sql", lambda *a: ("1 = 1", []))
    holder = _race_one_account(make_citizen, make_slot, _booker(checked_in_python=True))
    assert _active(holder=holder) > 3


def test_race_many_accounts_booking_for_one_person_hold_at_most_the_id_cap(
    transactional_db: Any, make_citizen: Any, make_slot: Any, settings: Any
) -> None:
    settings.BOOKING_MAX_ACTIVE_PER_ID = 1
    digest = _race_one_id(make_citizen, make_slot, _booker(checked_in_python=False))
    assert _active(id_digest=digest) == 1


def test_negative_control_an_id_cap_checked_before_the_booking_is_overrun(
    transactional_db: Any, make_citizen: Any, make_slot: Any, settings: Any, monkeypatch: Any
) -> None:
    settings.BOOKING_MAX_ACTIVE_PER_ID = 1
    monkeypatch.setattr(holders, "within_caps_sql", lambda *a: ("1 = 1", []))
    digest = _race_one_id(make_citizen, make_slot, _booker(checked_in_python=True))
    assert _active(id_digest=digest) > 1
