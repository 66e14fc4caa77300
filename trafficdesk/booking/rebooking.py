"""Rebooking after a risk, phase or policy change (SPEC: nothing is lost).

Every active future booking whose businesses the policy no longer offers is moved to an
equivalent open slot (same business group; the same service point first, then others in the
same city, earliest first) or, when there is none, cancelled. Its holder gets a notice either
way. Bookings are handled in chunks; each chunk is one transaction that locks the slots it
touches once, late and in id order (docs/locking.md). Running it again changes nothing.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from trafficdesk.booking import ledger
from trafficdesk.booking import tasks as booking_tasks  # the worker's entry points
from trafficdesk.booking.models import (
    Booking,
    BookingEvent,
    BookingEventKind,
    BookingItem,
    Slot,
)
from trafficdesk.catalog.models import Business
from trafficdesk.core.locking import locking_transaction
from trafficdesk.core.vocabulary import BOOKING_MOVES, CLASS_RANK, BookingStatus, sources_of
from trafficdesk.notify.services import queue_sms_many, sms_template
from trafficdesk.policy import services as policy
from trafficdesk.policy.rules import BusinessFacts, Engine, Situation, is_priority
from trafficdesk.regions.models import Region
from trafficdesk.sites.models import ServicePoint

CHUNK = 2000

# What the holders are told after a policy change moved or cancelled their bookings.
MOVED_SMS = gettext_lazy(
    "After a change of the epidemic rules, your booking of %(was)s is moved to %(place)s %(when)s."
)
CANCELLED_SMS = gettext_lazy(
    "After a change of the epidemic rules, your booking of %(was)s is cancelled: there is no "
    "other time for it now. You can apply online or book again later."
)


@dataclass
class RebookResult:
    checked: int = 0
    moved: int = 0
    cancelled: int = 0


@dataclass
class _Row:
    id: int
    slot_id: int
    point_id: int
    category_id: int
    starts_at: datetime
    applicant_class: str
    minutes: int
    general_minutes: int
    mobile: str | None
    businesses: tuple[int, ...]

    @property
    def held(self) -> ledger.Held:
        return ledger.held(self.slot_id, self.minutes, self.general_minutes)


class _Facts:
    """Situations per (point, moment) and decisions, computed once each."""

    def __init__(
        self, points: dict[int, ServicePoint], businesses: dict[int, BusinessFacts]
    ) -> None:
        self.points = points
        self.businesses = businesses
        self._situations: dict[tuple[int, datetime], Situation] = {}
        self._engines: dict[datetime, Engine] = {}

    def prepare(self, pairs: set[tuple[int, datetime]]) -> None:
        missing = {(p, m) for p, m in pairs if (p, m) not in self._situations}
        if not missing:
            return
        timeline = policy.SituationTimeline(self.points[p] for p in {p for p, _m in missing})
        for point_id, moment in missing:
            self._situations[(point_id, moment)] = timeline.at(point_id, moment)
            if moment not in self._engines:
                self._engines[moment] = policy.engine(moment)

    def all_open(
        self, point_id: int, moment: datetime, businesses: tuple[int, ...], applicant_class: str
    ) -> bool:
        situation = self._situations[(point_id, moment)]
        engine = self._engines[moment]
        return all(
            engine.decide(situation, self.businesses[b], applicant_class).open for b in businesses
        )


#: The notice for a booking moved to a slot (or cancelled: None), for a caller that words
#: them itself (hallqueue: the holder's ticket has ended too); None: the texts above.
Wording = Callable[["_Row", Slot | None], str]


def _rows(region: Region | None, now: datetime) -> list[_Row]:
    bookings = Booking.objects.filter(status=BookingStatus.ACTIVE, slot__starts_at__gt=now)
    if region is not None:
        bookings = bookings.filter(region.subtree_q("slot__service_point__region"))
    return _rows_of(bookings)


def _rows_of(bookings: QuerySet[Booking]) -> list[_Row]:
    items: dict[int, list[int]] = defaultdict(list)
    values = list(
        bookings.values_list(
            "id",
            "slot_id",
            "slot__service_point_id",
            "slot__category_id",
            "slot__starts_at",
            "applicant_class",
            "minutes",
            "general_minutes",
            "holder__mobile",
        )
    )
    ids = [v[0] for v in values]
    for start in range(0, len(ids), 20000):
        for booking_id, business_id in BookingItem.objects.filter(
            booking_id__in=ids[start : start + 20000], active=True
        ).values_list("booking_id", "business_id"):
            items[booking_id].append(business_id)
    return [_Row(*v, businesses=tuple(sorted(items[v[0]]))) for v in values]  # type: ignore[misc]


def _candidate_slots(
    rows: list[_Row], points: dict[int, ServicePoint], now: datetime
) -> dict[tuple[int, int], list[Slot]]:
    """Free future first-come slots of the affected groups in the affected cities."""
    city_paths = {points[r.point_id].region.path.rsplit("/", 1)[0] for r in rows}
    categories = {r.category_id for r in rows}
    slots: dict[tuple[int, int], list[Slot]] = defaultdict(list)
    for path in city_paths:
        for slot in (
            Slot.objects.filter(
                ledger.FIRST_COME,
                category_id__in=categories,
                starts_at__gt=now,
                service_point__region__path__startswith=path,
                booked_minutes__lt=F("capacity_minutes"),
                booked_people__lt=F("capacity_people"),
            )
            .select_related("service_point__region")
            .order_by("starts_at")
        ):
            slots[(slot.service_point_id, slot.category_id)].append(slot)
            points.setdefault(slot.service_point_id, slot.service_point)
    return slots


def rebook_affected(region_code: str | None = None, *, now: datetime | None = None) -> RebookResult:
    """Move or cancel every active future booking that the policy in force no longer allows."""
    moment = now or timezone.now()
    region = Region.objects.get(code=region_code) if region_code else None
    rows = _rows(region, moment)
    result = RebookResult(checked=len(rows))
    if not rows:
        return result
    points = {
        p.pk: p
        for p in ServicePoint.objects.select_related("region").filter(
            pk__in={r.point_id for r in rows}
        )
    }
    business_ids = {b for r in rows for b in r.businesses}
    businesses = {
        b.pk: policy.business_facts(b)
        for b in Business.objects.select_related("category").filter(pk__in=business_ids)
    }
    facts = _Facts(points, businesses)
    facts.prepare({(r.point_id, r.starts_at) for r in rows})
    affected = [
        r
        for r in rows
        if not facts.all_open(r.point_id, r.starts_at, r.businesses, r.applicant_class)
    ]
    for moves, cancels in _move_or_cancel(affected, facts, points, moment, None):
        result.moved += len(moves)
        result.cancelled += len(cancels)
    return result


def rebook_visits(
    booking_ids: Iterable[int], *, now: datetime, wording: Wording | None = None
) -> dict[int, Slot | None]:
    """Move or cancel these active bookings as `rebook_affected` does, whatever their time:
    the caller has found that their point no longer offers them now (their holders are in
    the hall or on their way: hallqueue.services.end_stranded_tickets). Runs in the caller's
    transaction when it has one. The slot each booking moved to, or None where it was
    cancelled; a booking no longer active is left out."""
    rows = _rows_of(
        Booking.objects.filter(pk__in=sorted(set(booking_ids)), status=BookingStatus.ACTIVE)
    )
    if not rows:
        return {}
    points = {
        p.pk: p
        for p in ServicePoint.objects.select_related("region").filter(
            pk__in={r.point_id for r in rows}
        )
    }
    businesses = {
        b.pk: policy.business_facts(b)
        for b in Business.objects.select_related("category").filter(
            pk__in={b for r in rows for b in r.businesses}
        )
    }
    outcome: dict[int, Slot | None] = {}
    for moves, cancels in _move_or_cancel(rows, _Facts(points, businesses), points, now, wording):
        outcome.update({row.id: slot for row, slot, _g in moves})
        outcome.update({row.id: None for row in cancels})
    return outcome


def _move_or_cancel(
    affected: list[_Row],
    facts: _Facts,
    points: dict[int, ServicePoint],
    now: datetime,
    wording: Wording | None,
) -> Iterable[tuple[list[tuple[_Row, Slot, int]], list[_Row]]]:
    """Each chunk's moves and cancellations, chunk by chunk (one transaction each)."""
    if not affected:
        return
    candidates = _candidate_slots(affected, points, now)
    facts.points.update(points)
    facts.prepare(
        {(s.service_point_id, s.starts_at) for group in candidates.values() for s in group}
    )
    pool = _Pool(candidates, facts, points, now)
    for start in range(0, len(affected), CHUNK):
        yield _apply_chunk(affected[start : start + CHUNK], candidates, pool, now, wording)


class _Pool:
    """Candidate slots by (point, group), filtered once per (businesses, class) to the slots
    the policy keeps open, in time order; full slots are dropped as they fill up."""

    def __init__(
        self,
        candidates: dict[tuple[int, int], list[Slot]],
        facts: _Facts,
        points: dict[int, ServicePoint],
        now: datetime,
    ) -> None:
        self.candidates = candidates
        self.facts = facts
        self.points = points
        in_force = policy.current_policy(now)
        self.priority = {c: is_priority(in_force, c) for c in CLASS_RANK}
        self._open: dict[
            tuple[tuple[int, int], tuple[int, ...], str], tuple[list[Slot], list[datetime]]
        ] = {}

    def claim(self, row: _Row) -> ledger.Claim:
        return ledger.Claim(row.minutes, self.priority.get(row.applicant_class, False))

    def open_slots(self, key: tuple[int, int], row: _Row) -> tuple[list[Slot], list[datetime]]:
        cache_key = (key, row.businesses, row.applicant_class)
        found = self._open.get(cache_key)
        if found is None:
            slots = [
                s
                for s in self.candidates.get(key, ())
                if self.facts.all_open(
                    s.service_point_id, s.starts_at, row.businesses, row.applicant_class
                )
            ]
            found = self._open[cache_key] = (slots, [s.starts_at for s in slots])
        return found

    def keys_for(self, row: _Row) -> list[tuple[int, int]]:
        city = self.points[row.point_id].region.path.rsplit("/", 1)[0]
        return [(row.point_id, row.category_id)] + sorted(
            k
            for k in self.candidates
            if k[1] == row.category_id
            and k[0] != row.point_id
            and self.points[k[0]].region.path.startswith(city)
        )

    def choose(self, row: _Row, locked: dict[int, Slot], now: datetime) -> Slot | None:
        """The equivalent open slot: at the same point if it has one at or after the original
        time, else the earliest such slot at any point of the same city; failing both, the
        earliest one at all, in the same order. `locked` holds the counters as they stand
        under the chunk's locks, updated as moves are planned."""
        own, *others = self.keys_for(row)
        for after_original in (True, False):
            found = self.first_fit(own, row, locked, now, after_original)
            if found is not None:
                return found
            elsewhere = [
                slot
                for key in others
                if (slot := self.first_fit(key, row, locked, now, after_original)) is not None
            ]
            if elsewhere:
                return min(elsewhere, key=lambda slot: (slot.starts_at, slot.service_point_id))
        return None

    def first_fit(
        self,
        key: tuple[int, int],
        row: _Row,
        locked: dict[int, Slot],
        now: datetime,
        after_original: bool,
    ) -> Slot | None:
        """The earliest slot of `key` with room for the row (at or after its original time
        when `after_original`); slots found full are dropped from the lists on the way."""
        claim = self.claim(row)
        slots, starts = self.open_slots(key, row)
        index = bisect_left(starts, row.starts_at) if after_original else 0
        while index < len(slots):
            slot = locked[slots[index].pk]
            if (
                slot.rush_id is not None  # a rush opened since the slot was read
                or slot.booked_people >= slot.capacity_people
                or slot.booked_minutes >= slot.capacity_minutes
            ):
                del slots[index]
                del starts[index]
                continue
            if slot.pk != row.slot_id and ledger.has_room(slot, claim, now):
                return slot
            index += 1
        return None


def _apply_chunk(
    rows: list[_Row],
    candidates: dict[tuple[int, int], list[Slot]],
    pool: _Pool,
    now: datetime,
    wording: Wording | None = None,
) -> tuple[list[tuple[_Row, Slot, int]], list[_Row]]:
    """One transaction: lock the chunk's bookings, then every slot it may touch (each in id
    order), plan the moves on the locked counters, and write them through the ledger."""
    touched = {r.slot_id for r in rows} | {s.pk for group in candidates.values() for s in group}
    with locking_transaction():
        # Where each booking is now: a booking rescheduled since it was read is left alone
        # (its reschedule checked the policy for its new slot).
        still_active = {
            booking_id: (slot_id, minutes, general)
            for booking_id, slot_id, minutes, general in Booking.objects.select_for_update()
            .filter(pk__in=sorted(r.id for r in rows), status=BookingStatus.ACTIVE)
            .order_by("id")
            .values_list("id", "slot_id", "minutes", "general_minutes")
        }
        locked = ledger.lock(touched)
        taken: dict[int, ledger.Delta] = defaultdict(ledger.Delta)
        given: dict[int, ledger.Delta] = defaultdict(ledger.Delta)
        moves: list[tuple[_Row, Slot, int]] = []
        cancels: list[_Row] = []
        for row in rows:
            if still_active.get(row.id) != (row.slot_id, row.minutes, row.general_minutes):
                continue
            ledger.plan(locked[row.slot_id], row.held, -1)
            given[row.slot_id].add(row.held)
            target = pool.choose(row, locked, now)
            if target is None:
                cancels.append(row)
                continue
            claim = pool.claim(row)
            moved = ledger.held(target.pk, claim.minutes, claim.general_minutes)
            ledger.plan(target, moved, +1)
            taken[target.pk].add(moved)
            moves.append((row, target, claim.general_minutes))
        ledger.apply_moves(taken, given)
        _write_moves(moves, wording)
        _write_cancels(cancels, wording)
    return moves, cancels


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%m月%d日 %H:%M")


def _write_moves(moves: list[tuple[_Row, Slot, int]], wording: Wording | None = None) -> None:
    if not moves:
        return
    by_target: dict[tuple[int, int], list[int]] = defaultdict(list)
    for row, slot, general in moves:
        by_target[(slot.pk, general)].append(row.id)
    for (slot_id, general), booking_ids in by_target.items():
        Booking.objects.filter(pk__in=booking_ids).update(
            slot_id=slot_id, general_minutes=general, moves=F("moves") + 1
        )
    _remind_again_on_new_days(moves)
    points = {slot.service_point_id: slot.service_point for _r, slot, _g in moves}
    moved = sms_template(MOVED_SMS)
    texts = [
        (
            row.mobile,
            wording(row, slot)
            if wording is not None
            else moved
            % {
                "was": _local(row.starts_at),
                "place": points[slot.service_point_id].name_zh,
                "when": _local(slot.starts_at),
            },
            "booking.moved",
        )
        for row, slot, _g in moves
    ]
    _events(
        [(row.id, BookingEventKind.MOVED, row.slot_id, "policy change") for row, _s, _g in moves],
        texts,
        [row.mobile for row, _s, _g in moves],
    )


def _remind_again_on_new_days(moves: list[tuple[_Row, Slot, int]]) -> None:
    """A booking moved to another day is reminded the day before its new date (as a
    rescheduled one is: services._reminder_reset), and that day's reminders are scheduled."""
    new_day = [
        row.id
        for row, slot, _g in moves
        if timezone.localdate(row.starts_at) != timezone.localdate(slot.starts_at)
    ]
    if new_day:
        Booking.objects.filter(pk__in=new_day).update(reminded_at=None)
    for starts_at in {slot.starts_at for _r, slot, _g in moves}:
        booking_tasks.schedule_reminders(starts_at)


def _write_cancels(cancels: list[_Row], wording: Wording | None = None) -> None:
    if not cancels:
        return
    ids = [row.id for row in cancels]
    reason = "政策调整后无可替代的开放时段 / no equivalent open slot after a policy change"
    Booking.objects.filter(
        pk__in=ids, status__in=sources_of(BOOKING_MOVES, BookingStatus.CANCELLED)
    ).update(status=BookingStatus.CANCELLED, cancel_reason=reason)
    BookingItem.objects.filter(booking_id__in=ids).update(active=False)
    cancelled = sms_template(CANCELLED_SMS)
    texts = [
        (
            row.mobile,
            wording(row, None)
            if wording is not None
            else cancelled % {"was": _local(row.starts_at)},
            "booking.cancelled",
        )
        for row in cancels
    ]
    _events(
        [(row.id, BookingEventKind.CANCELLED, row.slot_id, "policy change") for row in cancels],
        texts,
        [row.mobile for row in cancels],
    )


def _events(
    events: list[tuple[int, str, int, str]],
    texts: list[tuple[str | None, str, str]],
    mobiles: list[str | None],
) -> None:
    """The booking events, each with its notice written to the outbox in this transaction."""
    with_phone = [(i, (phone, text, kind)) for i, (phone, text, kind) in enumerate(texts) if phone]
    queued = queue_sms_many([message for _i, message in with_phone])  # type: ignore[misc]
    notice_for = {i: message for (i, _t), message in zip(with_phone, queued, strict=True)}
    BookingEvent.objects.bulk_create(
        [
            BookingEvent(
                booking_id=booking_id,
                kind=kind,
                from_slot_id=slot_id,
                detail=detail,
                notice=notice_for.get(i),
            )
            for i, (booking_id, kind, slot_id, detail) in enumerate(events)
        ],
        batch_size=2000,
    )
