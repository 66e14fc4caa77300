"""The capacity ledger: the only code that changes a slot's counters (booked_minutes,
booked_people, booked_general_minutes). tests/architecture checks that nothing else does.

Every change is a conditional UPDATE whose row count is checked:

* `take` — first come, first served: one booking into a slot that is not part of a rush,
  if it has room for this claim (the hold rule below); `take_statement` is the same
  UPDATE for a caller that sends the whole booking as one statement;
* `give_back` — a booking's capacity returns at once (rebooking, a due release);
* `release_later` / `release_due` — a cancelled booking's capacity returns at a random moment
  within the anti-trading delay, claimed so that it returns once;
* `take_for_rush` — the draw's winners into the rush's own slots, all or nothing (and
  `take_for_rush_many`, every slot of a draw in one statement);
* `apply_moves` — rebooking's moves into and out of slots it has locked;
* `resize` — a regenerated slot never shrinks below what is booked.

The hold rule: part of each slot (`priority_reserved_minutes`) is held for the applicant
classes the policy in force serves first (`priority_classes`) until `priority_release_at`.
It is written twice, side by side: `has_room` (Python, for planning) and `room_sql` (SQL,
for the booking statement, the UPDATEs and, as `room_q`, the listing);
tests/booking/test_ledger.py checks that they agree on every case Hypothesis finds.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, F, Q, QuerySet
from django.db.models.expressions import Combinable, RawSQL
from django.db.models.functions import Greatest
from django.utils import timezone

from trafficdesk.booking.models import CapacityRelease, Slot
from trafficdesk.core.locking import locking_transaction
from trafficdesk.policy import services as policy
from trafficdesk.policy.rules import is_priority


class LedgerError(RuntimeError):
    """The counters are not what the ledger expected (a bug elsewhere): the transaction is
    rolled back instead of writing a wrong number."""


@dataclass(frozen=True, slots=True)
class Claim:
    """What one booking needs of a slot."""

    minutes: int
    priority: bool
    """May use the capacity held for the priority classes."""
    people: int = 1

    @property
    def general_minutes(self) -> int:
        return 0 if self.priority else self.minutes


@dataclass(frozen=True, slots=True)
class Held:
    """What a booking holds on a slot; given back exactly, whatever the policy says later."""

    slot_id: int
    minutes: int
    general_minutes: int
    people: int = 1


class Counters(Protocol):
    capacity_minutes: int
    capacity_people: int
    priority_reserved_minutes: int
    priority_release_at: datetime
    booked_minutes: int
    booked_people: int
    booked_general_minutes: int


def claim_for(applicant_class: str, minutes: int, at: datetime | None = None) -> Claim:
    """The claim of an applicant of this class: priority as the policy in force says."""
    return Claim(minutes, is_priority(policy.current_policy(at), applicant_class))


def held(slot_id: int, minutes: int, general_minutes: int, people: int = 1) -> Held:
    return Held(slot_id, minutes, general_minutes, people)


# --- the hold rule, twice ---------------------------------------------------------------------


def has_room(slot: Counters, claim: Claim, now: datetime) -> bool:
    """Whether `slot` (its counters as read) has room for `claim` at `now`."""
    if slot.booked_minutes + claim.minutes > slot.capacity_minutes:
        return False
    if slot.booked_people + claim.people > slot.capacity_people:
        return False
    if claim.priority or slot.priority_release_at <= now:
        return True
    return (
        slot.booked_general_minutes + claim.minutes
        <= slot.capacity_minutes - slot.priority_reserved_minutes
    )


def places_left(slot: Counters, claim: Claim, now: datetime) -> int:
    """余号: how many more bookings like `claim` fit in `slot` at `now`, by the hold rule
    (`has_room` is true exactly when this is at least 1). Shown to citizens instead of
    minutes."""
    minutes = max(1, claim.minutes)
    fits = [
        (slot.capacity_minutes - slot.booked_minutes) // minutes,
        (slot.capacity_people - slot.booked_people) // max(1, claim.people),
    ]
    if not claim.priority and slot.priority_release_at > now:
        general_room = slot.capacity_minutes - slot.priority_reserved_minutes
        fits.append((general_room - slot.booked_general_minutes) // minutes)
    return max(0, min(fits))


SLOT_TABLE = Slot._meta.db_table


def room_sql(claim: Claim, now: datetime) -> tuple[str, list[Any]]:
    """The same rule as `has_room`, as SQL over the slot's row: for the booking statement,
    the UPDATEs and the listing (`room_q`)."""
    t = SLOT_TABLE
    sql = (
        f"{t}.booked_minutes + %s <= {t}.capacity_minutes"
        f" AND {t}.booked_people + %s <= {t}.capacity_people"
    )
    params: list[Any] = [claim.minutes, claim.people]
    if not claim.priority:
        sql += (
            f" AND ({t}.priority_release_at <= %s"
            f" OR {t}.booked_general_minutes + %s <= {t}.capacity_minutes"
            f" - {t}.priority_reserved_minutes)"
        )
        params += [connection.ops.adapt_datetimefield_value(now), claim.minutes]
    return sql, params


def room_q(claim: Claim, now: datetime) -> Q:
    """`room_sql` as a filter on Slot querysets."""
    sql, params = room_sql(claim, now)
    return Q(RawSQL(sql, params, output_field=BooleanField()))  # noqa: S611 - a fixed condition; values are bound # nosec B611


FIRST_COME = Q(rush__isnull=True)
"""Slots of an open or allocated rush are never offered or booked first come."""


def offerable(slots: QuerySet[Slot], claim: Claim, now: datetime) -> QuerySet[Slot]:
    """The slots of `slots` that first-come booking may offer for `claim`."""
    return slots.filter(FIRST_COME, room_q(claim, now))


def is_first_come(slot: Slot) -> bool:
    return slot.rush_id is None


# --- changes ----------------------------------------------------------------------------------


def _more(minutes: int, people: int, general: int) -> dict[str, Combinable]:
    return {
        "booked_minutes": F("booked_minutes") + minutes,
        "booked_people": F("booked_people") + people,
        "booked_general_minutes": F("booked_general_minutes") + general,
    }


def _less(minutes: int, people: int, general: int) -> dict[str, Combinable]:
    return {
        "booked_minutes": F("booked_minutes") - minutes,
        "booked_people": F("booked_people") - people,
        "booked_general_minutes": F("booked_general_minutes") - general,
    }


def take_statement(
    slot_id: int, claim: Claim, now: datetime, *, unless: tuple[str, list[Any]] | None = None
) -> tuple[str, list[Any]]:
    """`take` as one statement, `UPDATE … RETURNING id`, for callers that build the whole
    booking into one round trip; `unless` adds a condition (the holder's bar)."""
    t = SLOT_TABLE
    room, room_params = room_sql(claim, now)
    sql = (
        f"UPDATE {t} SET booked_minutes = booked_minutes + %s,"  # noqa: S608 - names and placeholders only; values are bound # nosec B608
        f" booked_people = booked_people + %s,"
        f" booked_general_minutes = booked_general_minutes + %s"
        f" WHERE {t}.id = %s AND {t}.rush_id IS NULL AND {room}"
    )
    params: list[Any] = [claim.minutes, claim.people, claim.general_minutes, slot_id, *room_params]
    if unless is not None:
        sql += f" AND {unless[0]}"
        params += unless[1]
    return sql + f" RETURNING {t}.id", params


def take(slot_id: int, claim: Claim, now: datetime) -> Held | None:
    """Take capacity first come, first served; None when the slot has no room for it (or is
    part of a rush). Exactly one row changes, or none."""
    sql, params = take_statement(slot_id, claim, now)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        changed = len(cursor.fetchall())
    if changed == 1:
        return Held(slot_id, claim.minutes, claim.general_minutes, claim.people)
    return None


def become_general(capacity: Held, now: datetime) -> Held | None:
    """A booking that held priority capacity now counts as general (its claim was not
    proven): its minutes join the general count if the slot's general capacity allows it
    (or the priority hold is already released). None when it does not; nothing changes then.
    Exactly one row changes, or none."""
    extra = capacity.minutes - capacity.general_minutes
    if extra == 0:
        return capacity
    t = SLOT_TABLE
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {t} SET booked_general_minutes = booked_general_minutes + %s"  # noqa: S608 - names and placeholders only; values are bound # nosec B608
            f" WHERE id = %s AND (priority_release_at <= %s"
            f" OR booked_general_minutes + %s <= capacity_minutes - priority_reserved_minutes)",
            [extra, capacity.slot_id, connection.ops.adapt_datetimefield_value(now), extra],
        )
        changed = cursor.rowcount
    if changed != 1:
        return None
    return Held(capacity.slot_id, capacity.minutes, capacity.minutes, capacity.people)


def give_back(capacity: Held) -> None:
    """Return a booking's capacity now."""
    changed = Slot.objects.filter(
        pk=capacity.slot_id,
        booked_minutes__gte=capacity.minutes,
        booked_people__gte=capacity.people,
        booked_general_minutes__gte=capacity.general_minutes,
    ).update(**_less(capacity.minutes, capacity.people, capacity.general_minutes))
    if changed != 1:
        raise LedgerError(f"slot {capacity.slot_id} holds less than {capacity}")


def release_later(capacity: Held, now: datetime) -> CapacityRelease:
    """The anti-trading delay: the capacity of a cancelled booking returns at a random moment
    within BOOKING_RELEASE_DELAY_SECONDS, so that a place cannot be handed over by
    cancel-and-rebook. With no delay it returns at once."""
    delay = settings.BOOKING_RELEASE_DELAY_SECONDS
    offset = secrets.randbelow(delay + 1) if delay else 0
    release = CapacityRelease.objects.create(
        slot_id=capacity.slot_id,
        minutes=capacity.minutes,
        general_minutes=capacity.general_minutes,
        release_at=now + timedelta(seconds=offset),
    )
    if offset == 0:
        _claim_release(release.pk, now)
    return release


def _claim_release(release_id: int, now: datetime) -> bool:
    """Return one due release, once: the claim is a conditional UPDATE on released_at."""
    release = CapacityRelease.objects.filter(pk=release_id).first()
    if release is None:
        return False
    if (
        CapacityRelease.objects.filter(pk=release_id, released_at__isnull=True).update(
            released_at=now
        )
        != 1
    ):
        return False
    give_back(Held(release.slot_id, release.minutes, release.general_minutes))
    return True


def release_due(now: datetime | None = None) -> int:
    """Return the capacity of every due release (run by the worker); safe to run twice or in
    two workers at once."""
    moment = now or timezone.now()
    done = 0
    due = CapacityRelease.objects.filter(released_at__isnull=True, release_at__lte=moment)
    for release_id in due.order_by("id").values_list("id", flat=True)[:5000]:
        with locking_transaction():
            done += _claim_release(release_id, moment)
    return done


def take_for_rush(rush_id: int, slot_id: int, people: int, minutes: int, general: int) -> None:
    """The draw's winners into one of the rush's own slots: all of them or none."""
    changed = Slot.objects.filter(
        pk=slot_id,
        rush_id=rush_id,
        booked_minutes__lte=F("capacity_minutes") - minutes,
        booked_people__lte=F("capacity_people") - people,
    ).update(**_more(minutes, people, general))
    if changed != 1:
        raise LedgerError(f"slot {slot_id} of rush {rush_id} has no room for {people} winners")


def take_for_rush_many(rush_id: int, deltas: Mapping[int, Delta]) -> None:
    """`take_for_rush` for every slot of a draw in one statement (PostgreSQL; one UPDATE per
    slot elsewhere): every slot has room for its winners, or nothing changes."""
    if connection.vendor != "postgresql" or len(deltas) < 2:
        for slot_id, delta in sorted(deltas.items()):
            take_for_rush(rush_id, slot_id, delta.people, delta.minutes, delta.general)
        return
    ids = sorted(deltas)
    t = SLOT_TABLE
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {t} SET booked_people = {t}.booked_people + d.people,"  # noqa: S608 - names only; values are bound # nosec B608
            f" booked_minutes = {t}.booked_minutes + d.minutes,"
            f" booked_general_minutes = {t}.booked_general_minutes + d.general"
            " FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::int[])"
            " AS d(id, people, minutes, general)"
            f" WHERE {t}.id = d.id AND {t}.rush_id = %s"
            f" AND {t}.booked_people + d.people <= {t}.capacity_people"
            f" AND {t}.booked_minutes + d.minutes <= {t}.capacity_minutes",
            [
                ids,
                [deltas[i].people for i in ids],
                [deltas[i].minutes for i in ids],
                [deltas[i].general for i in ids],
                rush_id,
            ],
        )
        changed = cursor.rowcount
    if changed != len(ids):
        raise LedgerError(
            f"{len(ids) - changed} slots of rush {rush_id} have no room for their winners"
        )


def lock(slot_ids: Iterable[int]) -> dict[int, Slot]:
    """Lock these slots (SELECT … FOR UPDATE, in id order, late) and read their counters."""
    return {
        slot.pk: slot
        for slot in Slot.objects.select_for_update()
        .filter(pk__in=sorted(set(slot_ids)))
        .order_by("id")
        .only(
            "id",
            "rush_id",
            "capacity_minutes",
            "capacity_people",
            "priority_reserved_minutes",
            "priority_release_at",
            "booked_minutes",
            "booked_people",
            "booked_general_minutes",
        )
    }


def plan(slot: Slot, capacity: Held, sign: int) -> None:
    """Planning under the locks of `lock`: keep the counters read there current in memory as
    moves are decided (+1 in, -1 out). Never saved; `apply_moves` writes the result."""
    slot.booked_minutes += sign * capacity.minutes
    slot.booked_people += sign * capacity.people
    slot.booked_general_minutes += sign * capacity.general_minutes


@dataclass
class Delta:
    minutes: int = 0
    people: int = 0
    general: int = 0

    def add(self, capacity: Held) -> None:
        self.minutes += capacity.minutes
        self.people += capacity.people
        self.general += capacity.general_minutes


def apply_moves(taken: Mapping[int, Delta], given: Mapping[int, Delta]) -> None:
    """Rebooking: capacity into and out of slots that the caller has locked (`lock`) and
    planned with `has_room`. Each slot changes by one conditional UPDATE; a slot whose
    counters would leave their bounds raises LedgerError and the chunk rolls back."""
    for slot_id in sorted(set(taken) | set(given)):
        plus, minus = taken.get(slot_id, Delta()), given.get(slot_id, Delta())
        minutes = plus.minutes - minus.minutes
        people = plus.people - minus.people
        general = plus.general - minus.general
        if (minutes, people, general) == (0, 0, 0):
            continue
        changed = Slot.objects.filter(
            FIRST_COME if plus.people else Q(),
            pk=slot_id,
            booked_minutes__lte=F("capacity_minutes") - minutes,
            booked_people__lte=F("capacity_people") - people,
            booked_minutes__gte=-minutes,
            booked_people__gte=-people,
            booked_general_minutes__gte=-general,
        ).update(**_more(minutes, people, general))
        if changed != 1:
            raise LedgerError(f"slot {slot_id} cannot move by {minutes} min / {people} people")


def resize(slot_id: int, capacity_minutes: int, capacity_people: int, reserved: int) -> None:
    """New capacity for a regenerated slot; never below what is booked."""
    Slot.objects.filter(pk=slot_id).update(
        capacity_minutes=Greatest(capacity_minutes, F("booked_minutes")),
        capacity_people=Greatest(capacity_people, F("booked_people")),
        priority_reserved_minutes=reserved,
    )
