"""Booking: slots, first-come-first-served booking, cancel, reschedule, no-shows, and the
moves of a booking's status. Capacity is the ledger's (booking.ledger); who may do what is
the access module's; notices go through the outbox. Concurrency rules: docs/locking.md.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from trafficdesk.accounts import access, realname
from trafficdesk.accounts.access import Actor
from trafficdesk.accounts.models import User
from trafficdesk.audit.services import record
from trafficdesk.booking import claims, holders, ledger, numbers
from trafficdesk.booking.errors import (
    Alternative,
    BookingRefused,
    alternatives_from,
    invalid_value_message,
)
from trafficdesk.booking.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingEvent,
    BookingEventKind,
    BookingItem,
    Slot,
)
from trafficdesk.booking.rules import SlotPlan, over_lunch, plan_slots
from trafficdesk.booking.rules import check_in_opens as _slot_check_in
from trafficdesk.booking.tasks import (
    enqueue_after,
    fill_waiting_lists_task,
    release_capacity_task,
    schedule_reminders,
)
from trafficdesk.catalog.models import Business
from trafficdesk.core import localcache, provinces
from trafficdesk.core.actions import Action
from trafficdesk.core.identity import id_digest
from trafficdesk.core.locking import Busy, locking_statement, locking_transaction
from trafficdesk.core.sql import insert_statement
from trafficdesk.core.validators import InvalidValue, parse_resident_id
from trafficdesk.core.vocabulary import (
    BOOKING_MOVES,
    DEFAULT_CLASS,
    HOLDING_STATUSES,
    BookingStatus,
    parse_class,
    sources_of,
)
from trafficdesk.notify.models import SmsMessage
from trafficdesk.notify.services import deliver_after_commit, outbox_row, queue_sms
from trafficdesk.policy import citizen
from trafficdesk.policy import services as policy
from trafficdesk.policy.rules import Decision
from trafficdesk.sites.models import ServicePoint, Window

__all__ = [
    "ACTIVE_STATUSES",
    "Alternative",
    "BookingRefused",
    "Busy",
    "SlotPlan",
    "book",
    "bookable_slots",
    "cancel",
    "free_slots",
    "generate_point_slots",
    "generate_slots",
    "id_digest",
    "mark_no_show",
    "plan_slots",
    "reschedule",
]


def _verified_id(id_number: str) -> str:
    try:
        return parse_resident_id(id_number).number
    except InvalidValue as exc:
        raise BookingRefused(exc.code, invalid_value_message(exc), field="id_number") from exc


# --- the status of a booking -------------------------------------------------------------------


def move_status(booking_id: int, target: BookingStatus, **changes: Any) -> bool:
    """Move a booking to `target` from any status that may lead there (the BOOKING_MOVES
    table), as one conditional UPDATE; True when exactly this one row changed. A booking that
    stops holding (served, cancelled, missed, expired) frees its ID number for the same
    businesses in the same transaction."""
    moved = (
        Booking.objects.filter(pk=booking_id, status__in=sources_of(BOOKING_MOVES, target)).update(
            status=target, **changes
        )
        == 1
    )
    if moved and target not in HOLDING_STATUSES:
        BookingItem.objects.filter(booking_id=booking_id, active=True).update(active=False)
    return moved


def check_in(booking: Booking) -> bool:
    """Claim the check-in of a booked visit: True for the one caller that moved it from booked
    to checked in (a second kiosk with the same code gets False)."""
    return move_status(booking.pk, BookingStatus.CHECKED_IN)


def served(booking_id: int) -> bool:
    """The visit of a checked-in booking is over."""
    return move_status(booking_id, BookingStatus.DONE)


def missed_at_the_window(booking_id: int) -> bool:
    """A checked-in holder did not answer the call: a no-show, as if marked by the hall."""
    if not move_status(booking_id, BookingStatus.NO_SHOW):
        return False
    BookingEvent.objects.create(booking_id=booking_id, kind=BookingEventKind.NO_SHOW)
    return True


def expire_ended(digest: str, now: datetime) -> int:
    """Bookings of this ID number whose slot has ended without a recorded end (never checked
    in, or checked in and not finished) no longer hold it: their status becomes "time
    passed" and the ID may book those businesses again."""
    ended = list(
        Booking.objects.filter(
            id_digest=digest, status__in=HOLDING_STATUSES, slot__ends_at__lt=now
        ).values_list("id", flat=True)
    )
    return sum(move_status(booking_id, BookingStatus.EXPIRED) for booking_id in ended)


def _held(booking: Booking) -> ledger.Held:
    return ledger.held(booking.slot_id, booking.minutes, booking.general_minutes)


def _lock_active(booking: Booking) -> ledger.Held | None:
    """Lock the booking's row and read what it holds now (another request may have moved it
    since `booking` was read); None when it is no longer active."""
    current = (
        Booking.objects.select_for_update()
        .filter(pk=booking.pk, status=BookingStatus.ACTIVE)
        .values_list("slot_id", "minutes", "general_minutes")
        .first()
    )
    return None if current is None else ledger.held(*current)


# --- slots -----------------------------------------------------------------------------------


def generate_slots(point: ServicePoint, day: date) -> int:
    """Create (or refresh) a day's slots for a service point from its open windows, zone caps,
    service minutes and the policy's capacity factor. Never shrinks below what is booked."""
    windows = list(
        Window.objects.filter(service_point=point, is_open=True)
        .select_related("zone")
        .prefetch_related("businesses")
    )
    windows_by_category: dict[int, int] = {}
    zone_caps: dict[int, dict[int, int]] = {}
    shortest: dict[int, int] = {}
    for window in windows:
        if not window.zone.is_open:
            continue
        categories = {b.category_id for b in window.businesses.all() if b.on_site_required}
        for category_id in categories:
            windows_by_category[category_id] = windows_by_category.get(category_id, 0) + 1
            zone_caps.setdefault(category_id, {})[window.zone_id] = window.zone.occupancy_cap
        for business in window.businesses.all():
            current = shortest.get(business.category_id, business.service_minutes)
            shortest[business.category_id] = min(current, business.service_minutes)
    tz = timezone.get_current_timezone()
    moment = datetime.combine(day, point.opens_at, tzinfo=tz)
    situation = policy.situations([point], moment)[point.pk]
    in_force = policy.current_policy(moment)
    level = situation.risk_level or in_force.unassessed_county_level
    plans = plan_slots(
        day=day,
        opens_at=point.opens_at,
        closes_at=point.closes_at,
        slot_minutes=settings.BOOKING_SLOT_MINUTES,
        windows_by_category=windows_by_category,
        zone_cap_by_category={c: sum(caps.values()) for c, caps in zone_caps.items()},
        shortest_service_by_category=shortest,
        capacity_factor=in_force.capacity_factor[level],
        priority_share=settings.BOOKING_PRIORITY_SHARE,
        tz=tz,
        lunch=_lunch_of(point),
    )
    release = timedelta(hours=settings.BOOKING_PRIORITY_RELEASE_HOURS)
    with locking_transaction():
        for plan in plans:
            slot, created = Slot.objects.get_or_create(
                service_point=point,
                category_id=plan.category_id,
                starts_at=plan.starts_at,
                defaults={
                    "ends_at": plan.ends_at,
                    "capacity_minutes": plan.capacity_minutes,
                    "capacity_people": plan.capacity_people,
                    "priority_reserved_minutes": plan.priority_reserved_minutes,
                    "priority_release_at": plan.starts_at - release,
                },
            )
            if not created:
                ledger.resize(
                    slot.pk,
                    plan.capacity_minutes,
                    plan.capacity_people,
                    plan.priority_reserved_minutes,
                )
    return len(plans)


def generate_slots_now(actor: Actor, point: ServicePoint) -> int:
    """The hall's slots over the booking horizon, made now (the service point page's button),
    audited."""
    access.check(actor, Action.SITE_EDIT, point)
    made = generate_point_slots(point)
    record(actor, "servicepoint.slots", target=point, summary=str(point), detail={"slots": made})
    return made


def generate_point_slots(point: ServicePoint, days: int | None = None) -> int:
    """Create or refresh a service point's slots from today over the booking horizon
    (BOOKING_DAYS_AHEAD), as the daily run does: a new or changed hall is bookable at once."""
    today = timezone.localdate()
    return sum(
        generate_slots(point, today + timedelta(days=offset))
        for offset in range(days or settings.BOOKING_DAYS_AHEAD)
    )


def _lunch_of(point: ServicePoint) -> tuple[time, time] | None:
    """The point's lunch break, when it has one (no slot is made over it)."""
    if point.lunch_starts_at is None or point.lunch_ends_at is None:
        return None
    return (point.lunch_starts_at, point.lunch_ends_at)


def free_slots(
    point: ServicePoint,
    category_id: int,
    applicant_class: str,
    *,
    minutes: int = 1,
    limit: int = 50,
    after: datetime | None = None,
) -> list[Slot]:
    """Future first-come slots with room for `minutes` for this class of applicant."""
    now = timezone.now()
    slots = Slot.objects.filter(
        service_point=point, category_id=category_id, starts_at__gt=after or now
    )
    claim = ledger.claim_for(applicant_class, minutes, now)
    lunch = _lunch_of(point)
    wanted = limit * 2 if lunch else limit
    found = ledger.offerable(slots, claim, now).order_by("starts_at")[:wanted]
    return [s for s in found if not _over_lunch(s, lunch)][:limit]


def _over_lunch(slot: Slot, lunch: tuple[time, time] | None) -> bool:
    """A slot over the point's lunch break (made before the break was set) is not offered."""
    return over_lunch(timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at), lunch)


# --- booking ---------------------------------------------------------------------------------


def _decisions(
    point: ServicePoint, businesses: Sequence[Business], applicant_class: str, at: datetime
) -> list[tuple[Business, Decision]]:
    situation = policy.situation_of(point, at)
    engine = policy.engine(at)
    return [
        (b, engine.decide(situation, policy.business_facts(b), applicant_class)) for b in businesses
    ]


def bookable_slots(
    point: ServicePoint, business: Business, applicant_class: str, *, limit: int = 50
) -> list[Slot]:
    """The free first-come slots this class of applicant may book for this business: those
    of free_slots whose start the policy leaves open to them, by the same decision book()
    asks (_decisions), so a slot listed is never refused as closed."""
    found = free_slots(
        point, business.category_id, applicant_class, minutes=business.service_minutes, limit=limit
    )
    return [
        slot
        for slot in found
        if all(d.open for _b, d in _decisions(point, [business], applicant_class, slot.starts_at))
    ]


_local_businesses = localcache.ttl_cache(maxsize=1)
_local_ways = localcache.ttl_cache(maxsize=4096)


def _businesses(codes: Sequence[str]) -> list[Business]:
    by_code: dict[str, Business] = localcache.get_or_set(
        _local_businesses,
        "all",
        lambda: {
            b.code: b for b in Business.objects.filter(active=True).select_related("category")
        },
    )
    return [by_code[c] for c in codes if c in by_code]


def alternatives_for(
    point: ServicePoint,
    businesses: Sequence[Business],
    applicant_class: str,
    *,
    minutes: int,
    exclude_slot: int | None = None,
) -> list[Alternative]:
    """Another slot here (when the policy allows it then), then the citizen's ways forward
    (policy.citizen): online, open places within a real distance, the next opening date,
    the office's phone number."""
    found: list[Alternative] = []
    category_id = businesses[0].category_id
    here = [
        s
        for s in free_slots(point, category_id, applicant_class, minutes=minutes, limit=4)
        if s.pk != exclude_slot
    ]
    if here and all(
        d.open for _b, d in _decisions(point, businesses, applicant_class, here[0].starts_at)
    ):
        found += [
            Alternative(
                "slot",
                f"{point.name} {timezone.localtime(s.starts_at):%m-%d %H:%M}",
                s.pk,
                point.code,
                s.starts_at,
            )
            for s in here[:3]
        ]
    return found + _ways_forward(point, businesses[0], applicant_class)


def _ways_forward(
    point: ServicePoint, business: Business, applicant_class: str
) -> list[Alternative]:
    """The citizen's ways forward from this point; cached briefly, since every refusal in a
    rush asks the same question."""
    key = (point.pk, business.pk, applicant_class, translation.get_language())
    return localcache.get_or_set(  # type: ignore[no-any-return]
        _local_ways,
        key,
        lambda: alternatives_from(citizen.ways_forward(point, business, applicant_class)),
    )


def _policy_refusal(
    point: ServicePoint,
    decisions: Sequence[tuple[Business, Decision]],
    applicant_class: str,
    minutes: int,
) -> BookingRefused:
    """Closed to you: one plain sentence (policy.citizen), the precise rules in
    `reasons`, the ways forward in `alternatives`."""
    return BookingRefused(
        "policy.closed",
        _plain_why(point, decisions),
        reasons=_refusal_reasons(decisions),
        alternatives=alternatives_for(
            point, [b for b, _d in decisions], applicant_class, minutes=minutes
        ),
    )


def _plain_why(point: ServicePoint, decisions: Sequence[tuple[Business, Decision]]) -> str:
    """The citizen's sentence for the first closed business (named when it is not the
    visit's main one)."""
    business, decision = next((b, d) for b, d in decisions if not d.open)
    why = citizen.plain_reason(decision, point.kind)
    if business is not decisions[0][0]:
        why = _("%(business)s: %(why)s") % {"business": business.name, "why": why}
    return why


def _duplicate(holder: User, digest: str, businesses: Sequence[Business]) -> BookingRefused:
    """Already booked: the refusal, with a link to that booking when it is this holder's own."""
    existing = (
        Booking.objects.filter(
            holder=holder,
            id_digest=digest,
            status__in=HOLDING_STATUSES,
            items__active=True,
            items__business__in=list(businesses),
        )
        .values_list("token", flat=True)
        .first()
    )
    alternatives = (
        [
            Alternative(
                "booking",
                _("See the booking you already have"),
                url=reverse("booking:detail", args=[existing]),
            )
        ]
        if existing
        else []
    )
    return BookingRefused(
        "booking.duplicate",
        _("This ID number already has an active booking for one of these businesses."),
        alternatives=alternatives,
    )


def _refusal_reasons(decisions: Iterable[tuple[Business, Decision]]) -> list[dict[str, str]]:
    return [
        {"business": b.code, "rule": r.rule, "zh": r.zh, "en": r.en}
        for b, d in decisions
        if not d.open
        for r in d.reasons
    ]


_local_slots = localcache.ttl_cache(maxsize=8192)
_local_full = localcache.ttl_cache(maxsize=65536)
_local_alternatives = localcache.ttl_cache(maxsize=4096)


def _slot_facts(slot_id: int) -> Slot | None:
    """The slot with its service point, region and group, read at most once a
    LOCAL_CACHE_SECONDS per process: what a booking needs to know about it besides its
    counters. The counters are never taken from here; the conditional UPDATE decides."""
    return localcache.get_or_set(  # type: ignore[no-any-return]
        _local_slots,
        slot_id,
        lambda: (
            Slot.objects.select_related("service_point__region__parent", "category")
            .filter(pk=slot_id)
            .first()
        ),
    )


def _full_key(slot_id: int, claim: ledger.Claim) -> tuple[int, bool, int]:
    return (slot_id, claim.priority, claim.minutes)


def book(
    holder: Actor,
    slot_id: int,
    business_codes: Sequence[str],
    id_number: str = "",
    applicant_class: str = DEFAULT_CLASS,
    *,
    notify: bool = True,
    claim: claims.ClaimIn | None = None,
    family_member: int | None = None,
) -> Booking:
    """Book a slot for one or more businesses at its service point, first come first served.
    A priority class needs `claim`, its proof (booking.claims). Whom for is the real-name
    rule's (accounts.realname.check_may_book_for): `family_member`, else `id_number`, else the
    holder's bound ID; the caps on active bookings are the booking statement's.
    Refusals (policy, full, duplicate, barred, caps) raise BookingRefused with reasons and
    alternatives. A slot found full is refused from memory for LOCAL_CACHE_SECONDS (it
    frees no place sooner: a cancelled place returns after the anti-trading delay)."""
    access.check(holder, Action.BOOK)
    assert isinstance(holder, User)
    applicant_class = parse_class(applicant_class)
    if id_number.strip() and family_member is None:
        _verified_id(id_number)
    slot = _slot_facts(slot_id)
    if slot is None:
        raise BookingRefused("slot.unknown", _("There is no such slot."))
    now = timezone.now()
    point = slot.service_point
    if (elsewhere := provinces.foreign_problem(point.region.code)) is not None:
        raise BookingRefused("province.other", elsewhere)
    codes = list(dict.fromkeys(business_codes))
    businesses = _businesses(codes)
    if not codes or len(businesses) != len(codes):
        raise BookingRefused("business.unknown", _("Choose one or more known businesses."))
    businesses.sort(key=lambda b: (b.category_id != slot.category_id, b.code))
    if businesses[0].category_id != slot.category_id:
        raise BookingRefused("business.group", _("This slot is for another group of businesses."))
    minutes = sum(b.service_minutes for b in businesses)
    if slot.starts_at <= now:
        raise BookingRefused(
            "slot.past",
            _("This slot has already started."),
            alternatives=alternatives_for(point, businesses, applicant_class, minutes=minutes),
        )
    if not ledger.is_first_come(slot):
        raise _in_rush(point, businesses, applicant_class, minutes)
    capacity = ledger.claim_for(applicant_class, minutes, now)
    known_full_until = localcache.peek(_local_full, _full_key(slot.pk, capacity))
    if known_full_until is not None and now < known_full_until:
        raise _full(point, businesses, applicant_class, minutes, slot)
    decisions = _decisions(point, businesses, applicant_class, slot.starts_at)
    if not all(d.open for _b, d in decisions):
        raise _policy_refusal(point, decisions, applicant_class, minutes)
    fleet = applicant_class != DEFAULT_CLASS and claim is not None and claim.vehicle_id is not None
    person = holders.person_for(holder, id_number, family_member, agent=fleet)
    digest = person.digest
    proof = claims.prepare(holder, applicant_class, claim, digest, slot.starts_at)
    # An agent books one visit per vehicle of the fleet: "one active booking per business"
    # holds per vehicle then, not per the agent's ID number (which still bears no-show bars).
    item_digest = (
        id_digest(f"{digest}#{proof.vehicle.plate}")
        if proof is not None and proof.vehicle is not None
        else None
    )

    def attempt() -> Booking:
        try:
            booking = _book_once(
                holder,
                slot,
                businesses,
                person,
                applicant_class,
                capacity,
                now,
                notify,
                item_digest,
            )
        except IntegrityError:
            if not expire_ended(digest, now):
                raise _duplicate(holder, digest, businesses) from None
            booking = _book_once(
                holder,
                slot,
                businesses,
                person,
                applicant_class,
                capacity,
                now,
                notify,
                item_digest,
            )
        if booking is None:
            raise _not_taken(
                slot, businesses, applicant_class, capacity, digest, now, holder, item_digest
            )
        return booking

    if proof is None:
        booking = attempt()
        booking.made_without_claim = True  # type: ignore[attr-defined]
    else:  # the enterprise's share, the booking and its claim: one transaction
        with locking_transaction():
            claims.take_share(proof)
            booking = attempt()
            claims.attach(booking, proof, digest)
    booking.business_codes = [b.code for b in businesses]  # type: ignore[attr-defined]
    return booking


def _not_taken(
    slot: Slot,
    businesses: Sequence[Business],
    applicant_class: str,
    claim: ledger.Claim,
    digest: str,
    now: datetime,
    holder: User,
    item_digest: str | None,
) -> BookingRefused:
    """Why the booking statement took nothing: the holder is barred or at a cap, the slot
    has gone into a rush, or it is full (remembered for a moment)."""
    holders.refuse_if_barred(digest, now)
    if item_digest is None:  # a fleet booking is capped by the enterprise's share instead
        holders.refuse_if_over_caps(holder.pk, digest)
    point = slot.service_point
    if Slot.objects.filter(pk=slot.pk, rush__isnull=False).exists():
        return _in_rush(point, businesses, applicant_class, claim.minutes)
    # Remembered until the priority hold is released at the latest: then the places held for
    # the priority classes open to everyone.
    until = (
        slot.priority_release_at
        if slot.priority_release_at > now
        else datetime.max.replace(tzinfo=UTC)
    )
    localcache.put(_local_full, _full_key(slot.pk, claim), until)
    return _full(point, businesses, applicant_class, claim.minutes, slot)


def _book_once(
    holder: User,
    slot: Slot,
    businesses: Sequence[Business],
    person: realname.Person,
    applicant_class: str,
    claim: ledger.Claim,
    now: datetime,
    notify: bool,
    item_digest: str | None = None,
) -> Booking | None:
    """The booking transaction: the capacity (the ledger's conditional UPDATE, unless the
    holder is barred), the booking and its items (the partial unique index refuses a second
    active booking of the ID for a business: IntegrityError, the caller's; `item_digest`
    keys the items instead, for a fleet vehicle: see `book`), the notice in the
    outbox and the event. The statement takes nothing either when the account or the ID is
    at its cap of active bookings (holders.within_caps_sql; not for a fleet booking). One
    statement on PostgreSQL (after the account's and ID's lock when capped); in order, in
    one transaction, on SQLite. None when no capacity was taken."""
    point = slot.service_point
    digest = person.digest
    booking = Booking(
        token=secrets.token_urlsafe(32),
        number=numbers.new_number(),
        holder=holder,
        slot=slot,
        id_digest=digest,
        id_masked=person.masked,
        applicant_class=applicant_class,
        minutes=claim.minutes,
        general_minutes=claim.general_minutes,
        status=BookingStatus.ACTIVE,
    )
    items = [
        BookingItem(business=b, id_digest=item_digest or digest, active=True) for b in businesses
    ]
    event = BookingEvent(kind=BookingEventKind.BOOKED)
    capped = item_digest is None
    unless = holders.not_barred_sql(digest, now)
    if capped:
        caps = holders.within_caps_sql(holder.pk, digest, now)
        unless = (f"{unless[0]} AND {caps[0]}", unless[1] + caps[1])
    take = ledger.take_statement(slot.pk, claim, now, unless=unless)
    for tries_left in reversed(range(_NUMBER_TRIES)):
        notice = None
        if notify and holder.mobile:
            text = _booked_text(booking, point)
            notice = outbox_row(holder.mobile, text, "booking.booked", region_id=point.region_id)
        try:
            if connection.vendor == "postgresql" and capped:
                with locking_transaction():
                    holders.lock_holder(holder.pk, digest)
                    written = _write_in_one_statement(take, booking, items, notice, event)
            elif connection.vendor == "postgresql":
                with locking_statement():
                    written = _write_in_one_statement(take, booking, items, notice, event)
            else:
                with locking_transaction():
                    written = _write_in_steps(take, booking, items, notice, event)
        except IntegrityError as exc:
            if not tries_left or not numbers.is_clash(exc):
                raise
            booking.number = numbers.new_number()  # another booking has this number: redraw
            continue
        break
    if written is None:
        return None
    booking.pk, notice_id = written
    booking._state.adding = False
    booking._state.db = DEFAULT_DB_ALIAS
    if notice is not None and notice_id is not None:
        notice.pk = notice_id
        deliver_after_commit([notice_id])
    schedule_reminders(slot.starts_at)
    return booking


#: How many booking numbers one booking draws at most (a clash is about one in a million).
_NUMBER_TRIES = 3


def in_site_language(make: Callable[[], str]) -> str:
    """An SMS in the site's language (LANGUAGE_CODE), whatever language the page was in: the
    holder reads it on the phone later, and the worker that sends reminders has no page."""
    with translation.override(settings.LANGUAGE_CODE):
        return make()


def check_in_opens(slot: Slot) -> datetime:
    """When the hall lets this slot's holders check in (rules.check_in_opens)."""
    return _slot_check_in(slot.starts_at, settings.HALL_EARLY_MINUTES)


def _booked_text(booking: Booking, point: ServicePoint) -> str:
    return in_site_language(
        lambda: (
            _(
                "[Traffic police] Booked: %(place)s, %(when)s, booking number %(number)s. "
                "Check-in opens at %(checkin)s; bring the materials listed on the booking page."
            )
            % {
                "place": point.name,
                "when": _when(booking.slot),
                "number": booking.spaced_number,
                "checkin": _hhmm(check_in_opens(booking.slot)),
            }
        )
    )


def _hhmm(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def _write_in_one_statement(
    take: tuple[str, list[Any]],
    booking: Booking,
    items: Sequence[BookingItem],
    notice: SmsMessage | None,
    event: BookingEvent,
) -> tuple[int, int | None] | None:
    """PostgreSQL: every part a data-modifying WITH, each insert one row per row taken."""
    parts, params = [f"took AS ({take[0]})"], list(take[1])

    def add(name: str, statement: tuple[str, list[Any]]) -> None:
        parts.append(f"{name} AS ({statement[0]})")
        params.extend(statement[1])

    add("b", insert_statement(booking, select_from="took"))
    for i, item in enumerate(items):
        add(
            f"i{i}",
            insert_statement(item, select_from="b", expressions=_BY_BOOKING, returning=False),
        )
    notice_id = "NULL"
    if notice is not None:
        add("s", insert_statement(notice, select_from="b"))
        notice_id = "(SELECT id FROM s)"
    add(
        "e",
        insert_statement(
            event,
            select_from="b",
            expressions={**_BY_BOOKING, "notice_id": notice_id},
            returning=False,
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} SELECT b.id, {notice_id} FROM b", params)  # noqa: S608 - names and placeholders only; values are bound # nosec B608
        row = cursor.fetchone()
    return None if row is None else (int(row[0]), row[1])


_BY_BOOKING = {"booking_id": "b.id"}


def _write_in_steps(
    take: tuple[str, list[Any]],
    booking: Booking,
    items: Sequence[BookingItem],
    notice: SmsMessage | None,
    event: BookingEvent,
) -> tuple[int, int | None] | None:
    """SQLite: the same writes in order, inside the caller's (IMMEDIATE) transaction."""
    with connection.cursor() as cursor:
        cursor.execute(*take)
        if not cursor.fetchall():
            return None
        cursor.execute(*insert_statement(booking))
        booking_id = int(cursor.fetchone()[0])
        for item in items:
            item.booking_id = booking_id
            cursor.execute(*insert_statement(item, returning=False))
        notice_id = None
        if notice is not None:
            cursor.execute(*insert_statement(notice))
            notice_id = int(cursor.fetchone()[0])
        event.booking_id, event.notice_id = booking_id, notice_id
        cursor.execute(*insert_statement(event, returning=False))
    return booking_id, notice_id


def _in_rush(
    point: ServicePoint, businesses: Sequence[Business], applicant_class: str, minutes: int
) -> BookingRefused:
    return BookingRefused(
        "slot.rush",
        _("Places in this slot are given by a published draw; apply in the draw instead."),
        alternatives=alternatives_for(point, businesses, applicant_class, minutes=minutes),
    )


def _full(
    point: ServicePoint,
    businesses: Sequence[Business],
    applicant_class: str,
    minutes: int,
    slot: Slot,
) -> BookingRefused:
    """ "Full", with the alternatives a moment ago's refusal of the same slot offered (in a
    rush every refusal asks the same question)."""
    key = (slot.pk, tuple(b.pk for b in businesses), applicant_class, minutes)
    alternatives = localcache.get_or_set(
        _local_alternatives,
        key,
        lambda: alternatives_for(
            point, businesses, applicant_class, minutes=minutes, exclude_slot=slot.pk
        ),
    )
    return BookingRefused("slot.full", _("This slot is fully booked."), alternatives=alternatives)


def _when(slot: Slot) -> str:
    return timezone.localtime(slot.starts_at).strftime("%m月%d日 %H:%M")


def _notice(booking: Booking, text: str, kind: str) -> SmsMessage | None:
    mobile = getattr(booking.holder, "mobile", None)
    return queue_sms(mobile, text, kind=kind) if mobile else None


# --- cancel, reschedule, no-show -------------------------------------------------------------


def release_later(capacity: ledger.Held, now: datetime) -> None:
    """What a booking held returns after the anti-trading delay (a task runs it), never at
    once: a cancelled, moved or downgraded place cannot be handed to someone waiting."""
    release = ledger.release_later(capacity, now)
    if release.released_at is None:
        transaction.on_commit(
            lambda: enqueue_after(release_capacity_task, release.release_at), robust=True
        )
    elif Slot.objects.filter(pk=capacity.slot_id, rush__isnull=False).exists():
        # Returned at once (no anti-trading delay): a draw's place goes to its waiting list.
        transaction.on_commit(lambda: fill_waiting_lists_task.enqueue(), robust=True)


def release_due_capacity(now: datetime | None = None) -> int:
    """Return the capacity of releases that are due (the worker runs this)."""
    return ledger.release_due(now)


def cancel(actor: Actor, booking: Booking, *, reason: str = "", notify: bool = True) -> Booking:
    """Cancel an active booking; its capacity returns after the anti-trading delay."""
    access.check(actor, Action.BOOKING_CHANGE, booking)
    now = timezone.now()
    with locking_transaction():
        holding = _lock_active(booking)
        if holding is None or not move_status(
            booking.pk,
            BookingStatus.CANCELLED,
            cancel_reason=reason[:300] or _("cancelled by the holder"),
        ):
            raise BookingRefused(
                "booking.not_active", _("Only an active booking can be cancelled.")
            )
        BookingItem.objects.filter(booking=booking).update(active=False)
        release_later(holding, now)
        claims.give_share_back(booking.pk)
        notice = None
        if notify:
            notice = _notice(
                booking,
                in_site_language(
                    lambda: (
                        _(
                            "[Traffic police] Your booking of %(when)s (booking number "
                            "%(number)s) is cancelled."
                        )
                        % {"when": _when(booking.slot), "number": booking.spaced_number}
                    )
                ),
                "booking.cancelled",
            )
        BookingEvent.objects.create(
            booking=booking, kind=BookingEventKind.CANCELLED, detail=reason[:300], notice=notice
        )
        if actor.pk != booking.holder_id:
            record(actor, "booking.cancel", target=booking, summary=reason[:200])
    booking.refresh_from_db()
    return booking


def reschedule(actor: Actor, booking: Booking, new_slot_id: int) -> Booking:
    """Move an active booking to another slot of the same group at the same service point."""
    access.check(actor, Action.BOOKING_CHANGE, booking)
    new_slot = Slot.objects.select_related("service_point").filter(pk=new_slot_id).first()
    if (
        new_slot is None
        or new_slot.service_point_id != booking.slot.service_point_id
        or new_slot.category_id != booking.slot.category_id
    ):
        raise BookingRefused(
            "slot.other_group", _("Choose a slot of the same service point and business group.")
        )
    now = timezone.now()
    if new_slot.starts_at <= now:
        raise BookingRefused("slot.past", _("This slot has already started."))
    if not ledger.is_first_come(new_slot):
        raise BookingRefused(
            "slot.rush",
            _("Places in this slot are given by a published draw; apply in the draw instead."),
        )
    businesses = [item.business for item in booking.items.select_related("business__category")]
    decisions = _decisions(
        new_slot.service_point, businesses, booking.applicant_class, new_slot.starts_at
    )
    if not all(d.open for _b, d in decisions):
        raise BookingRefused(
            "policy.closed",
            _plain_why(new_slot.service_point, decisions),
            reasons=_refusal_reasons(decisions),
        )
    claim = ledger.claim_for(booking.applicant_class, booking.minutes, now)
    with locking_transaction():
        old = _lock_active(booking)
        if old is None or (
            Booking.objects.filter(
                pk=booking.pk, status=BookingStatus.ACTIVE, slot_id=old.slot_id
            ).update(
                slot=new_slot,
                general_minutes=claim.general_minutes,
                **_reminder_reset(booking, new_slot),
            )
            != 1
        ):
            raise BookingRefused(
                "booking.not_active", _("Only an active booking can be rescheduled.")
            )
        if old.slot_id == new_slot.pk:
            raise BookingRefused("slot.same", _("The booking is already in this slot."))
        ledger.lock([old.slot_id, new_slot.pk])  # both slots, in id order, before either write
        if ledger.take(new_slot.pk, claim, now) is None:
            raise BookingRefused("slot.full", _("This slot is fully booked."))
        release_later(old, now)
        notice = _notice(
            booking,
            in_site_language(
                lambda: (
                    _(
                        "[Traffic police] Your booking (booking number %(number)s) is moved to "
                        "%(when)s. Check-in opens at %(checkin)s."
                    )
                    % {
                        "when": _when(new_slot),
                        "number": booking.spaced_number,
                        "checkin": _hhmm(check_in_opens(new_slot)),
                    }
                )
            ),
            "booking.rescheduled",
        )
        schedule_reminders(new_slot.starts_at)
        BookingEvent.objects.create(
            booking=booking,
            kind=BookingEventKind.RESCHEDULED,
            from_slot_id=old.slot_id,
            notice=notice,
        )
    booking.refresh_from_db()
    return booking


def _reminder_reset(booking: Booking, new_slot: Slot) -> dict[str, Any]:
    """A booking moved to another day is reminded again the day before its new date; one
    moved within its day is not reminded twice."""
    if timezone.localdate(booking.slot.starts_at) == timezone.localdate(new_slot.starts_at):
        return {}
    return {"reminded_at": None}


def reschedule_options(booking: Booking, *, days: int | None = None, limit: int = 60) -> list[Slot]:
    """The free first-come slots a booking may move to: the same service point and group,
    with room for its minutes and class, over the next `days` (BOOKING_DAYS_AHEAD), the
    policy open for its businesses then; its own slot left out."""
    point = booking.slot.service_point
    horizon = timezone.now() + timedelta(days=days or settings.BOOKING_DAYS_AHEAD)
    businesses = [item.business for item in booking.items.all()]
    found = []
    for slot in free_slots(
        point,
        booking.slot.category_id,
        booking.applicant_class,
        minutes=booking.minutes,
        limit=limit,
    ):
        if slot.pk == booking.slot_id or slot.starts_at >= horizon:
            continue
        if all(
            d.open
            for _b, d in _decisions(point, businesses, booking.applicant_class, slot.starts_at)
        ):
            found.append(slot)
    return found


def booking_for_code(code: str) -> Booking | None:
    """The booking a kiosk or a clerk is given: its booking number (as read aloud, spaces
    allowed), its QR token, or the QR's whole link."""
    number = numbers.normalise(code)
    if number is not None:
        found = Booking.objects.filter(number=number).first()
        if found is not None:
            return found
    token = (code or "").strip().rstrip("/").rsplit("/", 1)[-1]
    return Booking.objects.filter(token=token).first() if token else None


def mark_no_show(actor: Actor, booking: Booking) -> Booking:
    """The hall marks a booking whose holder did not come; enough of them bar the holder."""
    access.check(actor, Action.BOOKING_NO_SHOW, booking)
    with locking_transaction():
        if not move_status(booking.pk, BookingStatus.NO_SHOW):
            raise BookingRefused(
                "booking.not_active", _("Only an active booking can be marked as a no-show.")
            )
        BookingItem.objects.filter(booking=booking).update(active=False)
        BookingEvent.objects.create(booking=booking, kind=BookingEventKind.NO_SHOW)
        record(actor, "booking.no_show", target=booking)
    booking.refresh_from_db()
    return booking


# --- reading ---------------------------------------------------------------------------------


def active_bookings_for(holder: Actor) -> QuerySet[Booking]:
    return (
        Booking.objects.filter(holder_id=holder.pk)
        .select_related("slot__service_point", "slot__category", "claim")
        .prefetch_related("items__business")
        .order_by("-created_at")
    )


def may_change(actor: Actor, booking: Booking) -> bool:
    """Whether the pages offer to reschedule or cancel: an active booking whose slot has not
    started, to its holder (or the staff the access module lets change it, as the API)."""
    return (
        booking.status == BookingStatus.ACTIVE
        and booking.slot.starts_at > timezone.now()
        and access.allows(actor, Action.BOOKING_CHANGE, booking)
    )


def my_visits(holder: Actor, limit: int = 100) -> tuple[list[Booking], list[Booking]]:
    """A holder's bookings: the coming ones (still held, not yet over) soonest first, and
    the others (past, cancelled, served, missed) latest first."""
    now = timezone.now()
    bookings = list(active_bookings_for(holder).order_by("-slot__starts_at")[:limit])
    coming = [b for b in bookings if b.status in HOLDING_STATUSES and b.slot.ends_at > now]
    coming_ids = {b.pk for b in coming}
    past = [b for b in bookings if b.pk not in coming_ids]
    return sorted(coming, key=lambda b: b.slot.starts_at), past


def visible_booking(actor: Actor, token: str) -> Booking | None:
    """The booking with this token if `actor` may see it (its holder, or staff of its
    region); None when there is none. A refusal is raised (and audited) by the access module."""
    booking = (
        Booking.objects.select_related("slot__service_point__region", "slot__category", "holder")
        .prefetch_related("items__business")
        .filter(token=token)
        .first()
    )
    if booking is not None:
        access.check(actor, Action.BOOKING_VIEW, booking)
    return booking


def calendar_points(actor: Actor) -> QuerySet[ServicePoint]:
    """The service points whose slot calendar `actor` may see."""
    access.check(actor, Action.BOOKING_CALENDAR)
    return access.scope(
        actor, ServicePoint.objects.select_related("region"), Action.BOOKING_CALENDAR
    )
