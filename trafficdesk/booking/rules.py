"""Pure booking rules: the slots of a day, and the rush allocation (published rule, seeded
draw)."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from trafficdesk.core.vocabulary import CLASS_ORDER

RULE = (
    "priority class ("
    + " > ".join(member.value for member in CLASS_ORDER)
    + "), then application date, then a seeded draw"
)


@dataclass(frozen=True)
class SlotPlan:
    category_id: int
    starts_at: datetime
    ends_at: datetime
    capacity_minutes: int
    capacity_people: int
    priority_reserved_minutes: int


def over_lunch(starts_at: datetime, ends_at: datetime, lunch: tuple[time, time] | None) -> bool:
    """Whether a slot (aware datetimes, in the point's time zone) overlaps its lunch break:
    such a slot is neither made nor offered (one made before the break was set)."""
    if lunch is None:
        return False
    day = starts_at.date()
    lunch_from = datetime.combine(day, lunch[0], tzinfo=starts_at.tzinfo)
    lunch_to = datetime.combine(day, lunch[1], tzinfo=starts_at.tzinfo)
    return starts_at < lunch_to and ends_at > lunch_from


def plan_slots(
    *,
    day: date,
    opens_at: time,
    closes_at: time,
    slot_minutes: int,
    windows_by_category: dict[int, int],
    zone_cap_by_category: dict[int, int],
    shortest_service_by_category: dict[int, int],
    capacity_factor: float,
    priority_share: float,
    tz: tzinfo,
    lunch: tuple[time, time] | None = None,
) -> list[SlotPlan]:
    """The slots of one day. Window-minutes = open windows x slot length x the policy's
    capacity factor; people = at most the zone cap, and no more than the minutes can serve.
    No slot overlaps the lunch break (`lunch`, start and end): the slot that would is not
    made, and the afternoon's slots start when the break ends."""
    plans: list[SlotPlan] = []
    start = datetime.combine(day, opens_at, tzinfo=tz)
    end_of_day = datetime.combine(day, closes_at, tzinfo=tz)
    lunch_from, lunch_to = (
        (datetime.combine(day, lunch[0], tzinfo=tz), datetime.combine(day, lunch[1], tzinfo=tz))
        if lunch is not None and lunch[0] < lunch[1]
        else (end_of_day, end_of_day)
    )
    while start + timedelta(minutes=slot_minutes) <= end_of_day:
        end = start + timedelta(minutes=slot_minutes)
        if start < lunch_to and end > lunch_from:
            start = max(start, lunch_to)
            continue
        for category_id, windows in sorted(windows_by_category.items()):
            minutes = math.floor(windows * slot_minutes * capacity_factor)
            shortest = max(1, shortest_service_by_category.get(category_id, 10))
            people = min(zone_cap_by_category.get(category_id, 0), minutes // shortest)
            if minutes <= 0 or people <= 0:
                continue
            plans.append(
                SlotPlan(
                    category_id, start, end, minutes, people, math.floor(minutes * priority_share)
                )
            )
        start = end
    return plans


@dataclass(frozen=True, slots=True)
class Applicant:
    request_id: int
    class_rank: int
    applied_on: int  # date ordinal


@dataclass(frozen=True, slots=True)
class Place:
    slot_id: int
    seats: int


def allocate(
    applicants: Sequence[Applicant], places: Sequence[Place], seed: str
) -> list[tuple[int, int | None]]:
    """Pure and deterministic: the same applicants, places and seed give the same result,
    whatever order they come in. Returns (request_id, slot_id or None) in rank order."""
    ordered = sorted(applicants, key=lambda a: a.request_id)
    random.Random(seed).shuffle(ordered)  # noqa: S311 - a published, reproducible draw, not a secret
    ordered.sort(key=lambda a: (a.class_rank, a.applied_on))  # stable: the draw breaks ties
    seats = [(p.slot_id, p.seats) for p in sorted(places, key=lambda p: p.slot_id) if p.seats > 0]
    result: list[tuple[int, int | None]] = []
    index, left = 0, seats[0][1] if seats else 0
    for applicant in ordered:
        while index < len(seats) and left == 0:
            index += 1
            left = seats[index][1] if index < len(seats) else 0
        if index < len(seats):
            result.append((applicant.request_id, seats[index][0]))
            left -= 1
        else:
            result.append((applicant.request_id, None))
    return result


def result_digest(result: Sequence[tuple[int, int | None]]) -> str:
    digest = hashlib.sha256()
    for request_id, slot_id in result:
        digest.update(f"{request_id}:{slot_id if slot_id is not None else '-'};".encode())
    return digest.hexdigest()


def seed_hash(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def check_in_opens(starts_at: datetime, early_minutes: int) -> datetime:
    """A booked visit may check in at the hall from `early_minutes` before its slot starts
    (HALL_EARLY_MINUTES); the booking page, the reminder and the kiosk all say this time."""
    return starts_at - timedelta(minutes=early_minutes)
