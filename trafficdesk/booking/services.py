"""Booking: slots, first-come-first-served booking with a hard capacity, cancel, reschedule,
no-shows, and the anti-trading delay. Concurrency rules: docs/locking.md.

Capacity is taken with one conditional UPDATE per slot (`... WHERE booked + m <= capacity`)
and counted as taken only when exactly one row changed. On PostgreSQL that UPDATE waits on
the row lock at most BOOKING_LOCK_TIMEOUT_MS, then the caller gets `Busy` ("retry").
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from trafficdesk.accounts.models import Role
from trafficdesk.accounts.services import ensure_can_act_in, require_role
from trafficdesk.audit.services import record
from trafficdesk.booking.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingEvent,
    BookingEventKind,
    BookingItem,
    BookingStatus,
    CapacityRelease,
    Slot,
)
from trafficdesk.catalog.models import Business
from trafficdesk.core import localcache
from trafficdesk.core.validators import InvalidValue, mask_resident_id, parse_resident_id
from trafficdesk.notify.models import SmsMessage
from trafficdesk.notify.services import send_sms
from trafficdesk.policy import services as policy
from trafficdesk.policy.rules import Decision
from trafficdesk.sites.models import ServicePoint, Window

PRIORITY_CLASSES = ("EMERGENCY", "ESSENTIAL", "GREEN")


# --- refusals ------------------------------------------------------------------------------


@dataclass
class Alternative:
    kind: str  # "slot", "service_point", "online"
    label: str
    slot_id: int | None = None
    service_point: str | None = None
    starts_at: datetime | None = None


@dataclass
class BookingRefused(Exception):
    """A booking that cannot be made, with why and what to do instead."""

    code: str
    message: str
    reasons: list[dict[str, str]] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


class Busy(Exception):
    """The slot is locked by other bookings right now; try again in a moment."""


# --- identity --------------------------------------------------------------------------------


def id_digest(id_number: str) -> str:
    """A keyed hash of the resident ID: enough to enforce one booking per person, useless to
    anyone without the server's secret."""
    return hmac.new(
        settings.SECRET_KEY.encode(), f"id:{id_number}".encode(), hashlib.sha256
    ).hexdigest()


def _verified_id(id_number: str) -> str:
    try:
        return parse_resident_id(id_number).number
    except InvalidValue as exc:
        raise BookingRefused(exc.code, str(exc)) from exc


# --- slots -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotPlan:
    category_id: int
    starts_at: datetime
    ends_at: datetime
    capacity_minutes: int
    capacity_people: int
    priority_reserved_minutes: int


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
    tz: Any,
) -> list[SlotPlan]:
    """Pure: the slots of one day. Window-minutes = open windows x slot length x the policy's
    capacity factor; people = at most the zone cap, and no more than the minutes can serve."""
    plans: list[SlotPlan] = []
    start = datetime.combine(day, opens_at, tzinfo=tz)
    end_of_day = datetime.combine(day, closes_at, tzinfo=tz)
    while start + timedelta(minutes=slot_minutes) <= end_of_day:
        end = start + timedelta(minutes=slot_minutes)
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
    moment = datetime.combine(day, point.opens_at, tzinfo=timezone.get_current_timezone())
    situation = policy.situations([point], moment)[point.pk]
    level = situation.risk_level or policy.current_policy(moment).unassessed_county_level
    factor = policy.current_policy(moment).capacity_factor[level]
    plans = plan_slots(
        day=day,
        opens_at=point.opens_at,
        closes_at=point.closes_at,
        slot_minutes=settings.BOOKING_SLOT_MINUTES,
        windows_by_category=windows_by_category,
        zone_cap_by_category={c: sum(caps.values()) for c, caps in zone_caps.items()},
        shortest_service_by_category=shortest,
        capacity_factor=factor,
        priority_share=settings.BOOKING_PRIORITY_SHARE,
        tz=timezone.get_current_timezone(),
    )
    release = timedelta(hours=settings.BOOKING_PRIORITY_RELEASE_HOURS)
    with transaction.atomic():
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
                Slot.objects.filter(pk=slot.pk).update(
                    capacity_minutes=_greatest(plan.capacity_minutes, "booked_minutes"),
                    capacity_people=_greatest(plan.capacity_people, "booked_people"),
                    priority_reserved_minutes=plan.priority_reserved_minutes,
                )
    return len(plans)


def _greatest(value: int, column: str) -> Any:
    from django.db.models import Value
    from django.db.models.functions import Greatest

    return Greatest(Value(value), F(column))


def free_slots(
    point: ServicePoint,
    category_id: int,
    applicant_class: str,
    *,
    minutes: int = 1,
    limit: int = 50,
    after: datetime | None = None,
) -> list[Slot]:
    """Future slots with room for `minutes` for this class of applicant."""
    now = timezone.now()
    slots = Slot.objects.filter(
        service_point=point,
        category_id=category_id,
        starts_at__gt=after or now,
        booked_minutes__lte=F("capacity_minutes") - minutes,
        booked_people__lt=F("capacity_people"),
    ).order_by("starts_at")
    if applicant_class not in PRIORITY_CLASSES:
        slots = slots.filter(
            Q(priority_release_at__lte=now)
            | Q(
                booked_general_minutes__lte=F("capacity_minutes")
                - F("priority_reserved_minutes")
                - minutes
            )
        )
    return list(slots[:limit])


# --- booking ---------------------------------------------------------------------------------


def _set_lock_timeout() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{int(settings.BOOKING_LOCK_TIMEOUT_MS)}ms'")


def _take_capacity(slot_id: int, minutes: int, applicant_class: str, now: datetime) -> bool:
    """The one conditional UPDATE that takes capacity. True when exactly one row changed."""
    room = Q(booked_minutes__lte=F("capacity_minutes") - minutes) & Q(
        booked_people__lt=F("capacity_people")
    )
    updates: dict[str, Any] = {
        "booked_minutes": F("booked_minutes") + minutes,
        "booked_people": F("booked_people") + 1,
    }
    if applicant_class not in PRIORITY_CLASSES:
        room &= Q(priority_release_at__lte=now) | Q(
            booked_general_minutes__lte=F("capacity_minutes")
            - F("priority_reserved_minutes")
            - minutes
        )
        updates["booked_general_minutes"] = F("booked_general_minutes") + minutes
    changed = Slot.objects.filter(room, pk=slot_id).update(**updates)
    return changed == 1


def _give_back(slot_id: int, minutes: int, general_minutes: int) -> None:
    Slot.objects.filter(pk=slot_id).update(
        booked_minutes=F("booked_minutes") - minutes,
        booked_people=F("booked_people") - 1,
        booked_general_minutes=F("booked_general_minutes") - general_minutes,
    )


def _decisions(
    point: ServicePoint, businesses: Sequence[Business], applicant_class: str, at: datetime
) -> list[tuple[Business, Decision]]:
    situation = policy.situation_of(point, at)
    engine = policy.engine(at)
    return [
        (b, engine.decide(situation, policy.business_facts(b), applicant_class)) for b in businesses
    ]


_local_businesses = localcache.ttl_cache(maxsize=1)
_local_open_points = localcache.ttl_cache(maxsize=4096)


def _businesses(codes: Sequence[str]) -> list[Business]:
    by_code: dict[str, Business] = localcache.get_or_set(
        _local_businesses,
        "all",
        lambda: {
            b.code: b for b in Business.objects.filter(active=True).select_related("category")
        },
    )
    return [by_code[c] for c in codes if c in by_code]


def _open_points_nearby(
    city: Any, business: Business, applicant_class: str
) -> list[tuple[str, str]]:
    """(code, name) of open service points in the city; cached briefly, since every refusal
    in a rush asks the same question."""

    def compute() -> list[tuple[str, str]]:
        answer = policy.open_services(city, business, applicant_class)
        return [(option.point.code, option.point.name) for option in answer.open]

    return localcache.get_or_set(
        _local_open_points, (city.pk, business.pk, applicant_class), compute
    )  # type: ignore[no-any-return]


def alternatives_for(
    point: ServicePoint,
    businesses: Sequence[Business],
    applicant_class: str,
    *,
    minutes: int,
    exclude_slot: int | None = None,
) -> list[Alternative]:
    """Another slot here, another open service point nearby, or the online channel."""
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
    city = point.region.parent
    if city is not None:
        for code, name in _open_points_nearby(city, businesses[0], applicant_class):
            if code != point.code:
                found.append(Alternative("service_point", name, None, code))
            if len(found) >= 6:
                break
    if any(b.online for b in businesses):
        found.append(Alternative("online", _("This business can be done online.")))
    return found


def _refusal_reasons(decisions: Iterable[tuple[Business, Decision]]) -> list[dict[str, str]]:
    return [
        {"business": b.code, "rule": r.rule, "zh": r.zh, "en": r.en}
        for b, d in decisions
        if not d.open
        for r in d.reasons
    ]


def no_show_ban_until(digest: str, now: datetime | None = None) -> datetime | None:
    """N no-shows within the window bar the holder for M days from the last one."""
    moment = now or timezone.now()
    since = moment - timedelta(days=settings.BOOKING_NO_SHOW_WINDOW_DAYS)
    marks = list(
        BookingEvent.objects.filter(
            kind=BookingEventKind.NO_SHOW, booking__id_digest=digest, at__gte=since
        )
        .order_by("-at")
        .values_list("at", flat=True)[: settings.BOOKING_NO_SHOW_LIMIT]
    )
    if len(marks) < settings.BOOKING_NO_SHOW_LIMIT:
        return None
    until = marks[0] + timedelta(days=settings.BOOKING_BAN_DAYS)
    return until if until > moment else None


def book(
    holder: Any,
    slot_id: int,
    business_codes: Sequence[str],
    id_number: str,
    applicant_class: str = "GENERAL",
    *,
    notify: bool = True,
) -> Booking:
    """Book a slot for one or more businesses at its service point, first come first served.
    Refusals (policy, full, duplicate, barred) raise BookingRefused with reasons and alternatives."""
    number = _verified_id(id_number)
    digest = id_digest(number)
    slot = (
        Slot.objects.select_related("service_point__region__parent", "category")
        .filter(pk=slot_id)
        .first()
    )
    if slot is None:
        raise BookingRefused("slot.unknown", _("There is no such slot."))
    now = timezone.now()
    point = slot.service_point
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
    decisions = _decisions(point, businesses, applicant_class, slot.starts_at)
    if not all(d.open for _b, d in decisions):
        raise BookingRefused(
            "policy.closed",
            _("The policy does not offer this business here to you at that time."),
            reasons=_refusal_reasons(decisions),
            alternatives=alternatives_for(point, businesses, applicant_class, minutes=minutes),
        )
    barred = no_show_ban_until(digest, now)
    if barred is not None:
        raise BookingRefused(
            "holder.barred",
            _("Too many missed appointments: booking is possible again from %(date)s.")
            % {"date": timezone.localtime(barred).strftime("%Y-%m-%d")},
        )
    if not _looks_free(slot, minutes, applicant_class, now):
        raise _full(point, businesses, applicant_class, minutes, slot)
    try:
        with transaction.atomic():
            _set_lock_timeout()
            booking = Booking.objects.create(
                token=secrets.token_urlsafe(32),
                holder=holder,
                slot=slot,
                id_digest=digest,
                id_masked=mask_resident_id(number),
                applicant_class=applicant_class,
                minutes=minutes,
            )
            BookingItem.objects.bulk_create(
                [BookingItem(booking=booking, business=b, id_digest=digest) for b in businesses]
            )
            if not _take_capacity(slot.pk, minutes, applicant_class, now):
                raise _SlotFull
            BookingEvent.objects.create(booking=booking, kind=BookingEventKind.BOOKED)
    except _SlotFull:
        raise _full(point, businesses, applicant_class, minutes, slot) from None
    except IntegrityError as exc:
        raise BookingRefused(
            "booking.duplicate",
            _("This ID number already has an active booking for one of these businesses."),
        ) from exc
    except OperationalError as exc:
        if _is_lock_timeout(exc):
            raise Busy from exc
        raise
    if notify and holder.mobile:
        transaction.on_commit(lambda: _notify_booked(booking, holder.mobile))
    booking.business_codes = [b.code for b in businesses]  # type: ignore[attr-defined]
    return booking


class _SlotFull(Exception):
    pass


def _looks_free(slot: Slot, minutes: int, applicant_class: str, now: datetime) -> bool:
    """A cheap pre-check on the row just read; the conditional UPDATE still decides."""
    if (
        slot.booked_minutes + minutes > slot.capacity_minutes
        or slot.booked_people >= slot.capacity_people
    ):
        return False
    if applicant_class in PRIORITY_CLASSES or slot.priority_release_at <= now:
        return True
    return (
        slot.booked_general_minutes + minutes
        <= slot.capacity_minutes - slot.priority_reserved_minutes
    )


def _full(
    point: ServicePoint,
    businesses: Sequence[Business],
    applicant_class: str,
    minutes: int,
    slot: Slot,
) -> BookingRefused:
    return BookingRefused(
        "slot.full",
        _("This slot is fully booked."),
        alternatives=alternatives_for(
            point, businesses, applicant_class, minutes=minutes, exclude_slot=slot.pk
        ),
    )


def _is_lock_timeout(exc: OperationalError) -> bool:
    text = str(exc).lower()
    return (
        "lock timeout" in text
        or "lock_timeout" in text
        or "database is locked" in text
        or "canceling statement" in text
    )


def _when(slot: Slot) -> str:
    return timezone.localtime(slot.starts_at).strftime("%m月%d日 %H:%M")


def _notify_booked(booking: Booking, mobile: str) -> None:
    message = send_sms(
        mobile,
        f"【交管服务】预约成功：{booking.slot.service_point.name_zh} {_when(booking.slot)}，请凭预约码按时到场。",
        kind="booking.booked",
    )
    BookingEvent.objects.filter(booking=booking, kind=BookingEventKind.BOOKED).update(
        notice=message
    )


def _notice(booking: Booking, text: str, kind: str) -> SmsMessage | None:
    mobile = getattr(booking.holder, "mobile", None)
    return send_sms(mobile, text, kind=kind) if mobile else None


# --- cancel, reschedule, no-show -------------------------------------------------------------


def _release_later(
    slot_id: int, minutes: int, general_minutes: int, now: datetime
) -> CapacityRelease:
    """The anti-trading delay: the place returns at a random moment within the delay."""
    delay = settings.BOOKING_RELEASE_DELAY_SECONDS
    offset = secrets.randbelow(delay + 1) if delay else 0
    release = CapacityRelease.objects.create(
        slot_id=slot_id,
        minutes=minutes,
        general_minutes=general_minutes,
        release_at=now + timedelta(seconds=offset),
    )
    if offset == 0:
        release_due_capacity(now)
    else:
        from trafficdesk.booking.tasks import enqueue_after, release_capacity_task

        transaction.on_commit(lambda: enqueue_after(release_capacity_task, release.release_at))
    return release


def release_due_capacity(now: datetime | None = None) -> int:
    """Return the capacity of releases that are due. Each release is claimed by a conditional
    UPDATE, so running this twice (or in two workers) returns capacity once."""
    moment = now or timezone.now()
    done = 0
    for release in CapacityRelease.objects.filter(
        released_at__isnull=True, release_at__lte=moment
    ).order_by("id")[:5000]:
        with transaction.atomic():
            if (
                CapacityRelease.objects.filter(pk=release.pk, released_at__isnull=True).update(
                    released_at=moment
                )
                != 1
            ):
                continue
            _give_back(release.slot_id, release.minutes, release.general_minutes)
            done += 1
    return done


def _general_minutes(booking: Booking) -> int:
    return 0 if booking.applicant_class in PRIORITY_CLASSES else booking.minutes


def _check_holder_or_staff(actor: Any, booking: Booking) -> None:
    if actor.pk == booking.holder_id:
        return
    require_role(actor, Role.CLERK, Role.HALL_MANAGER, Role.REGIONAL_ADMIN)
    ensure_can_act_in(actor, booking.slot.service_point.region, action="booking.change")


def cancel(actor: Any, booking: Booking, *, reason: str = "", notify: bool = True) -> Booking:
    """Cancel an active booking; its capacity returns after the anti-trading delay."""
    _check_holder_or_staff(actor, booking)
    now = timezone.now()
    with transaction.atomic():
        changed = Booking.objects.filter(pk=booking.pk, status=BookingStatus.ACTIVE).update(
            status=BookingStatus.CANCELLED,
            cancel_reason=reason[:300] or _("cancelled by the holder"),
        )
        if changed != 1:
            raise BookingRefused(
                "booking.not_active", _("Only an active booking can be cancelled.")
            )
        BookingItem.objects.filter(booking=booking).update(active=False)
        _release_later(booking.slot_id, booking.minutes, _general_minutes(booking), now)
        event = BookingEvent.objects.create(
            booking=booking, kind=BookingEventKind.CANCELLED, detail=reason[:300]
        )
        if actor.pk != booking.holder_id:
            record(actor, "booking.cancel", target=booking, summary=reason[:200])
        if notify:
            event.notice = _notice(
                booking, f"【交管服务】您{_when(booking.slot)}的预约已取消。", "booking.cancelled"
            )
            event.save(update_fields=["notice"])
    booking.refresh_from_db()
    return booking


def reschedule(actor: Any, booking: Booking, new_slot_id: int) -> Booking:
    """Move an active booking to another slot of the same group at the same service point."""
    _check_holder_or_staff(actor, booking)
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
    businesses = [item.business for item in booking.items.select_related("business__category")]
    decisions = _decisions(
        new_slot.service_point, businesses, booking.applicant_class, new_slot.starts_at
    )
    if not all(d.open for _b, d in decisions):
        raise BookingRefused(
            "policy.closed",
            _("The policy does not offer this business then."),
            reasons=_refusal_reasons(decisions),
        )
    old_slot = booking.slot
    with transaction.atomic():
        _set_lock_timeout()
        if (
            Booking.objects.filter(
                pk=booking.pk, status=BookingStatus.ACTIVE, slot=old_slot
            ).update(slot=new_slot)
            != 1
        ):
            raise BookingRefused(
                "booking.not_active", _("Only an active booking can be rescheduled.")
            )
        if not _take_capacity(new_slot.pk, booking.minutes, booking.applicant_class, now):
            raise BookingRefused("slot.full", _("This slot is fully booked."))
        _release_later(old_slot.pk, booking.minutes, _general_minutes(booking), now)
        event = BookingEvent.objects.create(
            booking=booking, kind=BookingEventKind.RESCHEDULED, from_slot=old_slot
        )
        event.notice = _notice(
            booking, f"【交管服务】您的预约已改至{_when(new_slot)}。", "booking.rescheduled"
        )
        event.save(update_fields=["notice"])
    booking.refresh_from_db()
    return booking


def mark_no_show(actor: Any, booking: Booking) -> Booking:
    """The hall marks a booking whose holder did not come; enough of them bar the holder."""
    require_role(actor, Role.CLERK, Role.HALL_MANAGER)
    ensure_can_act_in(actor, booking.slot.service_point.region, action="booking.no_show")
    with transaction.atomic():
        if (
            Booking.objects.filter(pk=booking.pk, status=BookingStatus.ACTIVE).update(
                status=BookingStatus.NO_SHOW
            )
            != 1
        ):
            raise BookingRefused(
                "booking.not_active", _("Only an active booking can be marked as a no-show.")
            )
        BookingItem.objects.filter(booking=booking).update(active=False)
        BookingEvent.objects.create(booking=booking, kind=BookingEventKind.NO_SHOW)
        record(actor, "booking.no_show", target=booking)
    booking.refresh_from_db()
    return booking


def active_bookings_for(holder: Any) -> Any:
    return (
        Booking.objects.filter(holder=holder)
        .select_related("slot__service_point", "slot__category")
        .prefetch_related("items__business")
        .order_by("-created_at")
    )


__all__ = [
    "ACTIVE_STATUSES",
    "Alternative",
    "BookingRefused",
    "Busy",
    "book",
    "cancel",
    "free_slots",
    "generate_slots",
    "mark_no_show",
    "plan_slots",
    "release_due_capacity",
    "reschedule",
]
