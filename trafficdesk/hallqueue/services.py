"""The hall queue: check-in, zone flow limiting, calling, and the numbers behind the board.

Zone occupancy is a counter on the zone with a CHECK (present <= cap); a check-in takes a
place with one conditional UPDATE and goes onto the "waiting outside" list when none is left.
Every claim — a check-in of a booking, a window's call, a recall, a transfer, the end of a
visit — is a conditional UPDATE on the status, and exactly one row must change. Every
transaction that locks runs in core.locking.locking_transaction ("busy, retry" on timeout).
"""

from __future__ import annotations

import functools
import operator
import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Max, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Greatest
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from trafficdesk.accounts import access
from trafficdesk.accounts.access import Actor
from trafficdesk.accounts.models import User
from trafficdesk.audit.models import AuditEntry
from trafficdesk.audit.services import record
from trafficdesk.booking import claims, rebooking
from trafficdesk.booking import services as booking_services
from trafficdesk.booking.errors import BookingRefused
from trafficdesk.booking.models import Booking, PriorityClaim, Slot
from trafficdesk.booking.rules import check_in_opens
from trafficdesk.catalog.models import Business, BusinessCategory
from trafficdesk.core import live, localcache
from trafficdesk.core.actions import Action
from trafficdesk.core.errors import Refusal
from trafficdesk.core.identity import keyed_digest
from trafficdesk.core.locking import Busy, locking_statement, locking_transaction
from trafficdesk.core.validators import mask_mobile
from trafficdesk.core.vocabulary import (
    BOOKING_MOVES,
    CLASS_ORDER,
    DEFAULT_CLASS,
    BookingStatus,
    sources_of,
)
from trafficdesk.hallqueue.models import (
    Call,
    KioskDevice,
    Ticket,
    TicketCounter,
    TicketStatus,
    label_sql,
)
from trafficdesk.hallqueue.rules import (
    CALL_TEXT,
    CALL_TEXT_EN,
    ZH_DIGITS,
    Waiting,
    call_speech_en,
    call_speech_zh,
    number_words_zh,
    order,
    order_sql,
    percentile,
    window_may_serve,
)
from trafficdesk.notify.services import SMS_LANGUAGE, queue_sms, queue_sms_many, sms_text
from trafficdesk.policy import citizen
from trafficdesk.policy import services as policy
from trafficdesk.policy.rules import Decision
from trafficdesk.regions.models import Region
from trafficdesk.sites.models import ServicePoint, Window, Zone
from trafficdesk.sites.rules import AFTER_CLOSING, BEFORE_OPENING, LUNCH, walk_in_closed

ROOM_INSIDE_SMS = gettext_lazy("Number %(ticket)s: there is room in the hall now, please come in.")

PREFIX_BY_CATEGORY = {
    "PLATE_LICENCE": "A",
    "REGISTRATION": "B",
    "INSPECTION": "C",
    "LICENCE": "D",
    "EXAM": "E",
    "VIOLATION": "F",
    "ACCIDENT": "G",
}


class QueueRefused(Refusal):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code)


# --- live screens ------------------------------------------------------------------------------


def check_may_follow(actor: Actor, point: ServicePoint) -> None:
    """Staff who serve at this hall's windows, or watch it, may follow its live events."""
    if not access.allows(actor, Action.HALL_SERVE, point):
        access.check(actor, Action.HALL_WATCH, point)


def queue_changed(point_id: int) -> None:
    """Tell the hall's consoles and manager screen that the queue changed (at commit)."""
    live.publish(live.hall_channel(point_id), "queue", {})


def announce(call: Call, window_id: int | None, *, recall: bool = False) -> None:
    """Put a call on the hall's boards (at commit) and refresh its consoles. `speech` is the
    sentence shown; `spoken` and `spoken_en` are what the board says (rules.call_speech_zh);
    `recall` marks a recall (重呼), which the board shows on the ticket's row, not as a new row.
    The claiming statement on PostgreSQL builds the same payload (_call_event_sql)."""
    label, number = call.label, call.window_number
    live.publish(
        live.hall_channel(call.service_point_id),
        "call",
        {
            "call": call.pk,
            "label": label,
            "window": number,
            "window_id": window_id,
            "at": timezone.localtime(call.at).strftime("%H:%M:%S"),
            "speech": SPEECH % (label, number),
            "spoken": call_speech_zh(label, number),
            "spoken_en": call_speech_en(label, number),
            "recall": recall,
        },
    )


def _call_event_sql(window_number: int, window_id: int, at: str) -> tuple[str, list[Any]]:
    """announce()'s payload as a json expression over the inserted call `c` (a first call,
    never a recall): the ticket read character by character as rules.ticket_words_zh does."""
    spaced = "trim(regexp_replace(%s, '(.)', '\\1 ', 'g'))"
    zh_ticket = spaced % f"translate(c.label, '0123456789', '{ZH_DIGITS}')"
    return (
        "json_build_object('call', c.id, 'label', c.label, 'window', %s, 'window_id', %s,"
        " 'at', %s::text, 'speech', format(%s, c.label, %s),"
        f" 'spoken', format(%s, {zh_ticket}, %s),"
        f" 'spoken_en', format(%s, {spaced % 'c.label'}, %s), 'recall', false)",
        [
            window_number,
            window_id,
            at,
            SPEECH,
            window_number,
            CALL_TEXT,
            " ".join(number_words_zh(window_number)),
            CALL_TEXT_EN,
            window_number,
        ],
    )


# --- numbering and zones -------------------------------------------------------------------


def _next_number(point: ServicePoint, day: Any, prefix: str) -> int:
    counter, _created = TicketCounter.objects.select_for_update().get_or_create(
        service_point=point, day=day, prefix=prefix
    )
    TicketCounter.objects.filter(pk=counter.pk).update(last=F("last") + 1)
    return counter.last + 1


def _zone_for(point: ServicePoint, business: Business) -> Zone:
    """The zone of the open windows that serve this business, the emptiest first."""
    zones = list(
        Zone.objects.filter(
            service_point=point,
            is_open=True,
            windows__service_point=point,  # never through a window of another point
            windows__is_open=True,
            windows__businesses=business,
        )
        .distinct()
        .order_by(F("present") - F("occupancy_cap"), "id")
    )
    if not zones:
        raise QueueRefused("no_window", _("No open window serves this business here today."))
    return zones[0]


def _enter_zone(zone_id: int) -> bool:
    """Take one place in the zone; False when it is full. Never exceeds the cap."""
    return (
        Zone.objects.filter(pk=zone_id, present__lt=F("occupancy_cap")).update(
            present=F("present") + 1
        )
        == 1
    )


def _leave_zone(zone_id: int) -> None:
    Zone.objects.filter(pk=zone_id, present__gt=0).update(present=F("present") - 1)


def _issue(
    point: ServicePoint,
    business: Business,
    applicant_class: str,
    *,
    booking: Booking | None,
    on_time: bool,
    mobile: str,
    now: datetime,
) -> Ticket:
    zone = _zone_for(point, business)
    day = timezone.localdate(now)
    prefix = PREFIX_BY_CATEGORY.get(business.category.code, "Z")
    with locking_transaction():
        if booking is not None and not booking_services.check_in(booking):
            raise QueueRefused("booking.checked_in", _("This booking has already been checked in."))
        if booking is not None:  # its earlier ticket, ended by a change of the rules, lets go
            Ticket.objects.filter(booking=booking, status=TicketStatus.ENDED_BY_POLICY).update(
                booking=None
            )
        number = _next_number(point, day, prefix)
        inside = _enter_zone(zone.pk)
        ticket = Ticket.objects.create(
            service_point=point,
            zone=zone,
            business=business,
            day=day,
            prefix=prefix,
            number=number,
            applicant_class=applicant_class,
            booking=booking,
            on_time=on_time,
            mobile=mobile or "",
            status=TicketStatus.WAITING if inside else TicketStatus.OUTSIDE,
            arrived_at=now,
            admitted_at=now if inside else None,
        )
        queue_changed(point.pk)
    return ticket


def too_early_message(starts_at: datetime, opens_at: datetime, now: datetime) -> str:
    """Why a booking cannot check in yet, naming the day when it is not today: "您的预约是
    12月3日 09:30，请当天 09:00 后签到" (the kiosk and the API say the same)."""
    start, opens = timezone.localtime(starts_at), timezone.localtime(opens_at)
    values = {"time": start.strftime("%H:%M"), "opens": opens.strftime("%H:%M")}
    if start.date() == timezone.localtime(now).date():
        return _("Your booking is today at %(time)s; please check in from %(opens)s.") % values
    day = date_format(start, pgettext("PHP date format: a day of the year", "F j"))
    return _(
        "Your booking is on %(day)s at %(time)s; please check in on that day from %(opens)s."
    ) % {**values, "day": day}


def not_active_message(booking: Booking) -> str:
    """Why a booking that is no longer active cannot check in, in plain words."""
    ended = ended_ticket_of(booking)
    if booking.status == BookingStatus.CANCELLED and ended is not None:
        business = booking.items.all()[0].business
        return _(
            "Your number %(ticket)s here ended after a change of the epidemic rules, and this "
            "booking is cancelled without penalty: there was no other time for it. %(way)s"
        ) % {
            "ticket": ended.label,
            "way": way_forward_words(
                ended.service_point, business, booking.applicant_class, timezone.now()
            ),
        }
    if booking.status == BookingStatus.CHECKED_IN:
        return _(
            "This booking has already been checked in. If you lost your ticket, please ask at the desk."
        )
    return _(
        "This booking cannot be checked in: it is %(status)s. Please check your SMS or ask at the desk."
    ) % {"status": booking.get_status_display()}


def ended_ticket_of(booking: Booking) -> Ticket | None:
    """The booking's ticket if a change of the rules ended it (it stays linked until the
    booking checks in again, wherever it was moved to)."""
    return (
        Ticket.objects.select_related("service_point__region")
        .filter(booking=booking, status=TicketStatus.ENDED_BY_POLICY)
        .first()
    )


def elsewhere_message(booking: Booking, point: ServicePoint) -> str:
    """Where a booking presented at another hall is for, and when (moved there after a change
    of the rules, it says so)."""
    values = {
        "place": booking.slot.service_point.name,
        "when": timezone.localtime(booking.slot.starts_at).strftime("%m-%d %H:%M"),
    }
    ended = ended_ticket_of(booking)
    if ended is not None and booking.status == BookingStatus.ACTIVE:
        return _(
            "Your number %(ticket)s here ended after a change of the epidemic rules; your "
            "booking is moved to %(place)s, %(when)s. Please check in there at that time."
        ) % {**values, "ticket": ended.label}
    return _("This booking is for %(place)s, %(when)s; please check in there.") % values


def check_in_booking(point: ServicePoint, token: str, now: datetime | None = None) -> Ticket:
    """Check in with the booking's QR token (kiosk or clerk)."""
    moment = now or timezone.now()
    booking = (
        Booking.objects.select_related("slot", "holder")
        .prefetch_related("items__business__category")
        .filter(token=token)
        .first()
    )
    if booking is None:
        raise QueueRefused("booking.unknown", _("This code is not a booking."))
    if booking.slot.service_point_id != point.pk:
        raise QueueRefused("booking.elsewhere", elsewhere_message(booking, point))
    if booking.status != BookingStatus.ACTIVE:
        raise QueueRefused("booking.not_active", not_active_message(booking))
    if moment > booking.slot.ends_at:
        raise QueueRefused(
            "booking.late",
            _("The booked time has passed; take a walk-in ticket if walk-ins are allowed."),
        )
    early = check_in_opens(booking.slot.starts_at, settings.HALL_EARLY_MINUTES)
    if moment < early:
        raise QueueRefused(
            "booking.early", too_early_message(booking.slot.starts_at, early, moment)
        )
    business = booking.items.all()[0].business
    decision = policy.decide_for(point, business, booking.applicant_class, moment)
    if not decision.open:  # a change of the rules since it was booked (a ticket would strand)
        raise closed_here(point, business, booking.applicant_class, decision, moment, booked=True)
    return _issue(
        point,
        business,
        booking.applicant_class,
        booking=booking,
        on_time=True,
        mobile=booking.holder.mobile or "",
        now=moment,
    )


def _next_tickets(local: datetime, at: datetime | None) -> str:
    """When tickets are issued again, in plain words ("明天 09:00 起可取号")."""
    if at is None:
        return _("no day is known yet when tickets are issued again")
    values = {"time": at.strftime("%H:%M")}
    if at.date() == local.date():
        return _("tickets again from %(time)s today") % values
    if at.date() == local.date() + timedelta(days=1):
        return _("tickets again from %(time)s tomorrow") % values
    day = date_format(at, pgettext("PHP date format: a day of the year", "F j"))
    return _("tickets again from %(time)s on %(day)s") % {**values, "day": day}


def walk_in_hours_refusal(point: ServicePoint, moment: datetime) -> QueueRefused | None:
    """Why this hall issues no walk-in ticket at `moment` (outside its opening hours or in its
    lunch break, sites.rules.walk_in_closed), with when it issues them again; or None."""
    local = timezone.localtime(moment)
    lunch = (
        (point.lunch_starts_at, point.lunch_ends_at)
        if point.lunch_starts_at is not None and point.lunch_ends_at is not None
        else None
    )
    closed = walk_in_closed(local, point.opens_at, point.closes_at, lunch)
    if closed is None:
        return None
    why, again = closed
    later = _next_tickets(local, again)
    if why == BEFORE_OPENING:
        message = _("This hall does not issue tickets yet; %(next)s.") % {"next": later}
    elif why == LUNCH:
        message = _("This hall does not issue tickets over the lunch break; %(next)s.") % {
            "next": later
        }
    elif why == AFTER_CLOSING:
        message = _("This hall stopped issuing tickets at %(closed)s today; %(next)s.") % {
            "closed": point.closes_at.strftime("%H:%M"),
            "next": later,
        }
    else:
        message = _("This hall issues no tickets today; %(next)s.") % {"next": later}
    return QueueRefused("hall.closed", message)


def walk_in(
    point: ServicePoint,
    business: Business,
    applicant_class: str = DEFAULT_CLASS,
    *,
    mobile: str = "",
    now: datetime | None = None,
) -> Ticket:
    """A walk-in ticket, inside the hall's opening hours (not over its lunch break), where the
    policy allows walk-ins for this business and class."""
    moment = now or timezone.now()
    closed = walk_in_hours_refusal(point, moment)
    if closed is not None:
        raise closed
    decision = policy.decide_for(point, business, applicant_class, moment)
    if not decision.open:
        raise closed_here(point, business, applicant_class, decision, moment)
    if decision.appointment_required:
        raise QueueRefused(
            "policy.appointment", _("By appointment only at this risk level; book a slot first.")
        )
    return _issue(
        point, business, applicant_class, booking=None, on_time=False, mobile=mobile, now=moment
    )


def admit_waiting_outside(zone_id: int, now: datetime | None = None) -> list[Ticket]:
    """Let people waiting outside in, in order of arrival, while there is room; tell them by SMS."""
    moment = now or timezone.now()
    admitted = []
    for ticket in Ticket.objects.filter(zone_id=zone_id, status=TicketStatus.OUTSIDE).order_by(
        "arrived_at", "id"
    ):
        with locking_transaction():
            if not _enter_zone(zone_id):
                break
            if (
                Ticket.objects.filter(pk=ticket.pk, status=TicketStatus.OUTSIDE).update(
                    status=TicketStatus.WAITING, admitted_at=moment
                )
                != 1
            ):
                _leave_zone(zone_id)
                continue
            if ticket.mobile:
                queue_sms(
                    ticket.mobile,
                    sms_text(ROOM_INSIDE_SMS, ticket=ticket.label),
                    kind="hall.room",
                    region_id=ticket.service_point.region_id,
                )
            queue_changed(ticket.service_point_id)
        admitted.append(ticket)
    return admitted


# --- a change of the rules that closes a business: nobody is left in a queue ------------------

#: Tickets in a queue, inside the zone or waiting outside it: those a change of the rules ends
#: when their business is no longer offered to them here (a ticket at a window is not).
QUEUED: tuple[TicketStatus, ...] = (TicketStatus.WAITING, TicketStatus.OUTSIDE)

ENDED_SMS = gettext_lazy(
    "After a change of the epidemic rules, %(hall)s no longer offers this business to you: "
    "your number %(ticket)s has ended. %(way)s"
)
ENDED_MOVED_SMS = gettext_lazy(
    "After a change of the epidemic rules, %(hall)s no longer offers this business to you: "
    "your number %(ticket)s has ended, and your booking is moved to %(place)s %(when)s. "
    "Please check in there at that time."
)
ENDED_CANCELLED_SMS = gettext_lazy(
    "After a change of the epidemic rules, %(hall)s no longer offers this business to you: "
    "your number %(ticket)s has ended, and your booking is cancelled without penalty: there "
    "is no other time for it now. %(way)s"
)


def way_forward_words(
    point: ServicePoint, business: Business, applicant_class: str, at: datetime
) -> str:
    """The citizen's ways forward from this point (policy.citizen.ways_forward) in a sentence
    or two, in the active language: the nearest place that still offers the business and
    the online service; else when it opens here again and the office's phone number."""
    ways = citizen.ways_forward(point, business, applicant_class, at=at)
    place = next((w for w in ways if w.kind == "service_point"), None)
    said = []
    if place is not None:
        said.append(
            _("The nearest place that still offers it: %(place)s.") % {"place": place.label}
        )
    if any(w.kind == "online" for w in ways):
        said.append(_("It can also be done online, on the traffic police website."))
    if not said:
        said = [f"{w.label.rstrip('.')}." for w in ways if w.kind in ("next_open", "phone")]
    return " ".join(said) or str(_DESK_WAY)


_DESK_WAY = gettext_lazy("Please ask at the information desk.")


def closed_here(
    point: ServicePoint,
    business: Business,
    applicant_class: str,
    decision: Decision,
    now: datetime,
    *,
    booked: bool = False,
) -> QueueRefused:
    """The kiosk's (and the API's) answer when the policy does not offer this business here
    to this applicant now: why in one plain sentence, and the ways forward."""
    why = citizen.plain_reason(decision, point.kind)
    way = way_forward_words(point, business, applicant_class, now)
    if booked:
        message = _("%(why)s This booking cannot be checked in here now. %(way)s")
    else:
        message = _("%(why)s No ticket can be given for this business here now. %(way)s")
    return QueueRefused("policy.closed", message % {"why": why, "way": way})


@dataclass
class EndedTickets:
    """What end_stranded_tickets did: tickets ended, their bookings moved or cancelled, and
    bookings whose time had begun (not checked in yet) moved or cancelled."""

    ended: int = 0
    moved: int = 0
    cancelled: int = 0
    begun_moved: int = 0
    begun_cancelled: int = 0


def stranded_tickets(region: Region | None, now: datetime) -> dict[int, list[int]]:
    """The queued tickets, by service point, whose business the policy in force no longer
    offers to their class at their point (the decision booking asks: Engine.decide over the
    point's situation), so that no window may call them."""
    queued = Ticket.objects.filter(status__in=QUEUED)
    if region is not None:
        queued = queued.filter(region.subtree_q("service_point__region"))
    rows = list(queued.values_list("id", "service_point_id", "business_id", "applicant_class"))
    if not rows:
        return {}
    points = ServicePoint.objects.select_related("region").filter(pk__in={r[1] for r in rows})
    situations = policy.situations(points, now)
    decider = policy.engine(now)
    facts = {
        b.pk: policy.business_facts(b)
        for b in Business.objects.select_related("category").filter(pk__in={r[2] for r in rows})
    }
    found: dict[int, list[int]] = defaultdict(list)
    for ticket_id, point_id, business_id, applicant_class in rows:
        if not decider.decide(situations[point_id], facts[business_id], applicant_class).open:
            found[point_id].append(ticket_id)
    return dict(found)


def end_stranded_tickets(region: Region | None = None, now: datetime | None = None) -> EndedTickets:
    """After a change of the rules (risk level, phase, policy version: hallqueue.tasks): end
    every queued ticket whose business is no longer offered to it where it waits. Each hall is
    one transaction: the tickets end (a terminal status), their places in the zone are freed,
    the screens are told, a checked-in booking is moved to the earliest equivalent open slot
    or cancelled without penalty (booking.rebooking), and every holder with a mobile gets
    one SMS with the way forward. Tickets at a window are not touched. Running it again
    changes nothing."""
    moment = now or timezone.now()
    result = EndedTickets()
    for point_id, ticket_ids in sorted(stranded_tickets(region, moment).items()):
        point = ServicePoint.objects.select_related("region").get(pk=point_id)
        done, freed = _end_at_point(point, ticket_ids, moment)
        result.ended += done.ended
        result.moved += done.moved
        result.cancelled += done.cancelled
        for zone_id in freed:  # someone waiting outside for a business still open comes in
            admit_waiting_outside(zone_id, moment)
    begun = rebooking.rebook_visits(_begun_visits_closed(region, moment), now=moment)
    result.begun_moved = sum(1 for slot in begun.values() if slot is not None)
    result.begun_cancelled = len(begun) - result.begun_moved
    return result


def _begun_visits_closed(region: Region | None, now: datetime) -> list[int]:
    """Bookings whose time has begun and not ended, not checked in yet (the holder may be on
    the way), at a point that no longer offers one of their businesses to them now: the
    rebooking of future bookings (booking.rebooking.rebook_affected) leaves them out."""
    bookings = Booking.objects.filter(
        status=BookingStatus.ACTIVE, slot__starts_at__lte=now, slot__ends_at__gt=now
    )
    if region is not None:
        bookings = bookings.filter(region.subtree_q("slot__service_point__region"))
    rows = list(
        bookings.filter(items__active=True).values_list(
            "id", "slot__service_point_id", "items__business_id", "applicant_class"
        )
    )
    if not rows:
        return []
    points = ServicePoint.objects.select_related("region").filter(pk__in={r[1] for r in rows})
    situations = policy.situations(points, now)
    decider = policy.engine(now)
    facts = {
        b.pk: policy.business_facts(b)
        for b in Business.objects.select_related("category").filter(pk__in={r[2] for r in rows})
    }
    return sorted(
        {
            booking_id
            for booking_id, point_id, business_id, applicant_class in rows
            if not decider.decide(situations[point_id], facts[business_id], applicant_class).open
        }
    )


class _EndedWords:
    """The SMS of one hall's ended tickets, in SMS_LANGUAGE; the ways forward are worked out
    once per business and class."""

    def __init__(self, point: ServicePoint, now: datetime) -> None:
        self.point = point
        self.now = now
        self._ways: dict[tuple[int, str], str] = {}
        self._places: dict[int, str] = {}

    def _way(self, ticket: Ticket) -> str:
        key = (ticket.business_id, ticket.applicant_class)
        if key not in self._ways:
            with translation.override(SMS_LANGUAGE):
                self._ways[key] = way_forward_words(
                    self.point, ticket.business, ticket.applicant_class, self.now
                )
        return self._ways[key]

    def _place(self, point_id: int) -> str:
        if point_id not in self._places:
            self._places[point_id] = (
                ServicePoint.objects.filter(pk=point_id).values_list("name_zh", flat=True).get()
            )
        return self._places[point_id]

    def ended(self, ticket: Ticket) -> str:
        return sms_text(
            ENDED_SMS, hall=self.point.name_zh, ticket=ticket.label, way=self._way(ticket)
        )

    def booking(self, ticket: Ticket, slot: Slot | None) -> str:
        if slot is None:
            return sms_text(
                ENDED_CANCELLED_SMS,
                hall=self.point.name_zh,
                ticket=ticket.label,
                way=self._way(ticket),
            )
        return sms_text(
            ENDED_MOVED_SMS,
            hall=self.point.name_zh,
            ticket=ticket.label,
            place=self._place(slot.service_point_id),
            when=timezone.localtime(slot.starts_at).strftime("%m月%d日 %H:%M"),
        )


def _end_at_point(
    point: ServicePoint, ticket_ids: list[int], now: datetime
) -> tuple[EndedTickets, list[int]]:
    """One hall's stranded tickets, in one transaction: lock them (in id order) and end those
    still queued, free their zone places, move their checked-in bookings back to booked and
    rebook them, write the SMS, tell the screens. Returns what it did and the zones that got
    places back."""
    result = EndedTickets()
    words = _EndedWords(point, now)
    with locking_transaction():
        tickets = list(
            Ticket.objects.select_for_update()
            .filter(pk__in=sorted(ticket_ids), status__in=QUEUED)
            .select_related("business__category")
            .order_by("id")
        )
        if not tickets:
            return result, []
        ended = Ticket.objects.filter(pk__in=[t.pk for t in tickets], status__in=QUEUED).update(
            status=TicketStatus.ENDED_BY_POLICY, completed_at=now
        )
        if ended != len(tickets):  # cannot happen under the row locks; never end half
            raise Busy
        freed = Counter(t.zone_id for t in tickets if t.status == TicketStatus.WAITING)
        for zone_id, places in sorted(freed.items()):
            Zone.objects.filter(pk=zone_id).update(present=Greatest(F("present") - places, 0))
        by_booking = {t.booking_id: t for t in tickets if t.booking_id is not None}
        Booking.objects.filter(
            pk__in=sorted(by_booking), status__in=sources_of(BOOKING_MOVES, BookingStatus.ACTIVE)
        ).update(status=BookingStatus.ACTIVE)
        outcome = rebooking.rebook_visits(
            by_booking, now=now, wording=lambda row, slot: words.booking(by_booking[row.id], slot)
        )
        queue_sms_many(
            [
                (t.mobile, words.ended(t), "hall.ended")
                for t in tickets
                if t.mobile and t.booking_id not in outcome
            ]
        )
        queue_changed(point.pk)
        record(
            access.SYSTEM,
            "hall.ended_by_policy",
            target=point,
            summary=f"{len(tickets)} tickets ended after a change of the rules",
            detail={"tickets": [t.label for t in tickets]},
        )
    result.ended = len(tickets)
    result.moved = sum(1 for slot in outcome.values() if slot is not None)
    result.cancelled = len(outcome) - result.moved
    return result, sorted(freed)


# --- calling -----------------------------------------------------------------------------------

#: What the board says for a call; the same template in Python and in the claiming statement.
SPEECH = "请 %s 号到 %s 号窗口办理"


@dataclass(frozen=True)
class WindowFacts:
    """What a console's call needs to know about its window, read at most once a
    LOCAL_CACHE_SECONDS per process: the window (with its point and region, for access and
    answers), its revision, and the businesses it serves. Whether it is open, and whether this
    copy is still current (the revision), the claiming statement itself checks."""

    window: Window
    revision: int
    businesses: dict[int, Business]


_local_windows = localcache.ttl_cache(maxsize=4096)
_local_eligible = localcache.ttl_cache(maxsize=4096)


def _window_facts(window_id: int) -> WindowFacts | None:
    found = localcache.peek(_local_windows, window_id)
    if found is not None:
        return found  # type: ignore[no-any-return]
    window = Window.objects.select_related("service_point__region").filter(pk=window_id).first()
    if window is None:
        return None
    businesses = {b.pk: b for b in window.businesses.select_related("category")}
    facts = WindowFacts(window, window.revision, businesses)
    localcache.put(_local_windows, window_id, facts)
    return facts


def _forget_window(window_id: int) -> None:
    localcache.drop(_local_windows, window_id)


def _eligible(facts: WindowFacts, now: datetime) -> dict[str, tuple[int, ...]]:
    """Per applicant class, the businesses this window may serve to it now (the policy in
    force, the county's situation, the window's kind)."""
    point = facts.window.service_point
    situation = policy.situation_of(point, now)
    engine = policy.engine(now)
    key = (facts.window.pk, facts.revision, id(engine), situation)  # engines live on
    found = localcache.peek(_local_eligible, key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    first = engine.policy.priority_classes
    eligible: dict[str, list[int]] = {}
    for business_id, business in facts.businesses.items():
        business_facts = policy.business_facts(business)
        for member in CLASS_ORDER:
            decision = engine.decide(situation, business_facts, member)
            if window_may_serve(facts.window.kind, decision.window_kinds, member, first):
                eligible.setdefault(member, []).append(business_id)
    result = {member: tuple(ids) for member, ids in eligible.items()}
    localcache.put(_local_eligible, key, result)
    return result


class _Stale(Exception):
    """The window changed since this process read it: read it again."""


class _Contended(Exception):
    """Every ticket that could come next was being claimed by other windows at that moment."""


def call_next(actor: Actor, window: Window | int, now: datetime | None = None) -> Ticket | None:
    """Claim the next ticket for this window, by the rule order (rules.order), or None when
    nobody waits for it. One claiming statement on PostgreSQL (SKIP LOCKED: windows calling at
    once take different tickets, nobody waits for another's lock); on SQLite the same steps in
    one IMMEDIATE transaction."""
    window_id = window if isinstance(window, int) else int(window.pk)
    moment = now or timezone.now()
    for _attempt in range(5):
        facts = _window_facts(window_id)
        if facts is None:
            raise QueueRefused("window.unknown", _("There is no such window."))
        access.check(actor, Action.HALL_SERVE, facts.window)
        check_window_assigned(actor, window_id)
        eligible = _eligible(facts, moment)
        try:
            if connection.vendor == "postgresql":
                with locking_statement():
                    return _claim_in_one_statement(facts, eligible, moment)
            with locking_transaction():
                return _claim_in_steps(facts, eligible, moment)
        except _Stale:
            _forget_window(window_id)
        except _Contended:
            continue
    raise Busy


def _closed_or_stale(facts: WindowFacts, is_open: bool | None, revision: int | None) -> None:
    if is_open is None:
        _forget_window(facts.window.pk)
        raise QueueRefused("window.unknown", _("There is no such window."))
    if revision != facts.revision:
        raise _Stale
    if not is_open:
        raise QueueRefused("window.closed", _("This window is closed."))


_TICKET_COLUMNS = [f.column for f in Ticket._meta.concrete_fields]
_TICKET_FIELDS = [f.attname for f in Ticket._meta.concrete_fields]


#: Within one class and one booked/walk-in group the rule order is arrival order (ageing
#: lifts whole groups alike), so the first few of each eligible group hold the next ticket
#: even while as many other windows are claiming from the same group at once.
HEADS_PER_GROUP = 32


def _heads_sql(point_id: int, eligible: dict[str, tuple[int, ...]]) -> tuple[str, list[Any]]:
    """The first HEADS_PER_GROUP waiting tickets of every eligible group (class, booked or
    walk-in), each group an index range scan (ticket_queue_heads), whatever the length of the
    queue; the groups go as three arrays, so the statement's text never changes."""
    classes, on_times, businesses = [], [], []
    for member, business_ids in eligible.items():
        for on_time in (True, False):
            classes.append(member)
            on_times.append(on_time)
            businesses.append(",".join(str(b) for b in business_ids))
    sql = (
        "SELECT x.id FROM unnest(%s::text[], %s::boolean[], %s::text[]) AS g(cls, on_time, ids)"
        " CROSS JOIN LATERAL (SELECT h.id FROM hallqueue_ticket h"
        " WHERE h.service_point_id = %s AND h.status = %s AND h.applicant_class = g.cls"
        " AND h.on_time = g.on_time AND h.business_id = ANY(string_to_array(g.ids, ',')::int[])"
        " ORDER BY h.arrived_at, h.id LIMIT %s) AS x"
    )
    return sql, [classes, on_times, businesses, point_id, TicketStatus.WAITING, HEADS_PER_GROUP]


def _claim_in_one_statement(
    facts: WindowFacts, eligible: dict[str, tuple[int, ...]], now: datetime
) -> Ticket | None:
    window = facts.window
    channel = live.hall_channel(window.service_point_id)
    heads, heads_params = _heads_sql(window.service_point_id, eligible)
    order_by, order_params = order_sql("t", now, settings.HALL_AGEING_MINUTES)
    at = timezone.localtime(now).strftime("%H:%M:%S")
    event_sql, event_params = live.event_part(
        channel,
        "call",
        *_call_event_sql(window.number, window.pk, at),
        "c",
    )
    notify, notify_params = live.notify_sql("e", channel, "call")
    took = ", ".join(f"took.{c}" for c in _TICKET_COLUMNS)
    sql = (
        "WITH w AS (SELECT is_open, revision FROM sites_window WHERE id = %s),"  # noqa: S608 - names and placeholders only; values are bound # nosec B608
        f" heads AS ({heads}),"
        " pick AS (SELECT t.id FROM hallqueue_ticket t"
        # the heads as an array: read by primary key (an IN over the CTE was planned as a
        # hash join over every waiting ticket of the hall: 5 ms with 20,000 waiting)
        " WHERE (SELECT is_open AND revision = %s FROM w)"
        " AND t.id = ANY(ARRAY(SELECT id FROM heads))"
        f" AND t.status = %s ORDER BY {order_by} LIMIT 1 FOR UPDATE SKIP LOCKED),"
        " took AS (UPDATE hallqueue_ticket t SET status = %s, window_id = %s, called_at = %s"
        " FROM pick WHERE t.id = pick.id AND t.status = %s RETURNING t.*),"
        " c AS (INSERT INTO hallqueue_call (ticket_id, service_point_id, window_number, label, at)"
        f" SELECT took.id, took.service_point_id, %s, {label_sql('took')}, %s FROM took"
        " RETURNING id, label),"
        f" e AS ({event_sql})"
        f" SELECT w.is_open, w.revision, e.id, e.data, {notify},"
        " CASE WHEN took.id IS NULL THEN EXISTS (SELECT 1 FROM heads) END,"
        " (SELECT name_zh FROM sites_zone z WHERE z.id = took.zone_id), "
        f"{took} FROM w LEFT JOIN took ON TRUE LEFT JOIN c ON TRUE LEFT JOIN e ON TRUE"
    )
    params = [
        window.pk,
        *heads_params,
        facts.revision,
        TicketStatus.WAITING,
        *order_params,
        TicketStatus.CALLED,
        window.pk,
        now,
        TicketStatus.WAITING,
        window.number,
        now,
        *event_params,
        *notify_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        _closed_or_stale(facts, None, None)
    is_open, revision, event_id, event_data, _notified, others_claiming, zone_name, *values = row
    if values[0] is None:
        _closed_or_stale(facts, is_open, revision)
        if others_claiming:  # every head was being claimed by other windows: try again
            raise _Contended
        return None
    live.published(int(event_id), channel, "call", event_data)
    return _called_ticket(facts, values, zone_name)


def _called_ticket(facts: WindowFacts, values: list[Any], zone_name: str) -> Ticket:
    """The claimed row as a Ticket, with the window, business and zone name attached (what
    the answers show), without reading them again."""
    ticket = Ticket.from_db(connection.alias, _TICKET_FIELDS, values)
    ticket.window = facts.window
    ticket.business = facts.businesses[ticket.business_id]
    ticket.zone = Zone.from_db(connection.alias, ["id", "name_zh"], [ticket.zone_id, zone_name])
    return ticket


#: A waiting ticket's fields that rules.order needs (rules.Waiting, in its order).
_WAITING_FIELDS = ("id", "applicant_class", "on_time", "arrived_at", "business_id")


def _waiting_for(facts: WindowFacts, eligible: dict[str, tuple[int, ...]]) -> QuerySet[Ticket]:
    """The tickets waiting in this window's hall in a class and business it may serve now
    (call_next in steps, and queue_preview)."""
    return Ticket.objects.filter(
        service_point_id=facts.window.service_point_id, status=TicketStatus.WAITING
    ).filter(
        functools.reduce(
            operator.or_,
            (Q(applicant_class=member, business_id__in=ids) for member, ids in eligible.items()),
            Q(pk__in=[]),
        )
    )


def _claim_in_steps(
    facts: WindowFacts, eligible: dict[str, tuple[int, ...]], now: datetime
) -> Ticket | None:
    window = facts.window
    state = Window.objects.filter(pk=window.pk).values_list("is_open", "revision").first()
    is_open, revision = state if state is not None else (None, None)
    if not is_open or revision != facts.revision:
        _closed_or_stale(facts, is_open, revision)
    rows = _waiting_for(facts, eligible).values_list(*_WAITING_FIELDS)
    ordered = order((Waiting(*row) for row in rows), now, settings.HALL_AGEING_MINUTES)
    if not ordered:
        return None
    chosen = ordered[0].ticket_id
    claimed = Ticket.objects.filter(pk=chosen, status=TicketStatus.WAITING).update(
        status=TicketStatus.CALLED, window=window, called_at=now
    )
    if claimed != 1:  # cannot happen under SQLite's single writer; never claim twice
        raise Busy
    ticket = Ticket.objects.select_related("business", "zone").get(pk=chosen)
    ticket.window = window
    call = Call.objects.create(
        ticket=ticket,
        service_point_id=window.service_point_id,
        window_number=window.number,
        label=ticket.label,
    )
    announce(call, window.pk)
    return ticket


_local_points = localcache.ttl_cache(maxsize=4096)


def _point_facts(point_id: int) -> ServicePoint:
    """A service point with its region (what access decides by), read at most once a
    LOCAL_CACHE_SECONDS per process."""
    return localcache.get_or_set(  # type: ignore[no-any-return]
        _local_points,
        point_id,
        lambda: ServicePoint.objects.select_related("region").get(pk=point_id),
    )


def ticket_for_staff(ticket_id: int) -> Ticket | None:
    """A ticket for a window's action (complete, skip, recall, transfer), read in one plain
    statement with its zone's name; its point, window and business come from this process's
    short-lived copies (the actions' conditional UPDATEs check the state that matters)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT z.name_zh, {', '.join(f't.{c}' for c in _TICKET_COLUMNS)}"  # noqa: S608 - column names only # nosec B608
            " FROM hallqueue_ticket t JOIN sites_zone z ON z.id = t.zone_id WHERE t.id = %s",
            [ticket_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    zone_name, *values = row
    ticket = Ticket.from_db(connection.alias, _TICKET_FIELDS, values)
    ticket.service_point = _point_facts(ticket.service_point_id)
    ticket.zone = Zone.from_db(connection.alias, ["id", "name_zh"], [ticket.zone_id, zone_name])
    facts = _window_facts(ticket.window_id) if ticket.window_id else None
    if facts is not None and facts.window.service_point_id == ticket.service_point_id:
        ticket.window = facts.window
        if ticket.business_id in facts.businesses:
            ticket.business = facts.businesses[ticket.business_id]
    return ticket


def _own_ticket(actor: Actor, ticket: Ticket, *statuses: str) -> None:
    access.check(actor, Action.HALL_SERVE, ticket)
    check_window_assigned(actor, ticket.window_id)
    if ticket.status not in statuses:
        raise QueueRefused(
            "ticket.state",
            _("Ticket %(label)s is %(status)s.")
            % {"label": ticket.label, "status": ticket.get_status_display()},
        )


def _finished_elsewhere(ticket: Ticket) -> QueueRefused:
    return QueueRefused(
        "ticket.state",
        _("Ticket %(label)s has just been finished or moved.") % {"label": ticket.label},
    )


def _claim_called(ticket: Ticket, **changes: Any) -> None:
    """Change a ticket that is still called at the window that called it: exactly one row,
    or a refusal that says it has just been finished or moved."""
    if ticket.window_id is None or (
        Ticket.objects.filter(
            pk=ticket.pk, status=TicketStatus.CALLED, window_id=ticket.window_id
        ).update(**changes)
        != 1
    ):
        raise _finished_elsewhere(ticket)


def recall(actor: Actor, ticket: Ticket) -> Ticket:
    _own_ticket(actor, ticket, TicketStatus.CALLED)
    with locking_transaction():
        _claim_called(ticket, recalls=F("recalls") + 1)
        call = Call.objects.create(
            ticket=ticket,
            service_point_id=ticket.service_point_id,
            window_number=ticket.window.number if ticket.window else 0,
            label=ticket.label,
        )
        announce(call, ticket.window_id, recall=True)
    ticket.refresh_from_db()
    return ticket


def _finish(ticket: Ticket, status: str, now: datetime) -> None:
    """End a called ticket's visit: its status, its place in the zone, its booking; then let
    someone waiting outside in. Exactly one row must change, else it was finished already."""
    if connection.vendor == "postgresql" and ticket.booking_id is None:
        with locking_statement():
            outside = _finish_in_one_statement(ticket, status, now)
    else:
        with locking_transaction():
            outside = _finish_in_steps(ticket, status, now)
    ticket.status, ticket.completed_at = status, now
    if outside:
        admit_waiting_outside(ticket.zone_id, now)


def _already_finished() -> QueueRefused:
    return QueueRefused("ticket.state", _("This ticket is already finished."))


def _finish_in_steps(ticket: Ticket, status: str, now: datetime) -> bool:
    if (
        Ticket.objects.filter(pk=ticket.pk, status=TicketStatus.CALLED).update(
            status=status, completed_at=now
        )
        != 1
    ):
        raise _already_finished()
    _leave_zone(ticket.zone_id)
    queue_changed(ticket.service_point_id)
    if ticket.booking_id and status == TicketStatus.DONE:
        booking_services.served(ticket.booking_id)
    elif ticket.booking_id and status == TicketStatus.SKIPPED:
        booking_services.missed_at_the_window(ticket.booking_id)
    return Ticket.objects.filter(zone_id=ticket.zone_id, status=TicketStatus.OUTSIDE).exists()


def _finish_in_one_statement(ticket: Ticket, status: str, now: datetime) -> bool:
    """PostgreSQL, a ticket without a booking: the status, the zone place and the screens'
    event in one statement, which also says whether anyone waits outside."""
    channel = live.hall_channel(ticket.service_point_id)
    event_sql, event_params = live.event_part(channel, "queue", "'{}'::json", [], "done")
    notify, notify_params = live.notify_sql("e", channel, "queue")
    sql = (
        "WITH done AS (UPDATE hallqueue_ticket SET status = %s, completed_at = %s"  # noqa: S608 - names and placeholders only; values are bound # nosec B608
        " WHERE id = %s AND status = %s RETURNING zone_id),"
        " z AS (UPDATE sites_zone SET present = present - 1"
        " WHERE id = (SELECT zone_id FROM done) AND present > 0),"
        f" e AS ({event_sql})"
        " SELECT EXISTS (SELECT 1 FROM hallqueue_ticket o WHERE o.zone_id = done.zone_id"
        f" AND o.status = %s), e.id, e.data, {notify} FROM done LEFT JOIN e ON TRUE"
    )
    params = [status, now, ticket.pk, TicketStatus.CALLED, *event_params, TicketStatus.OUTSIDE]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *notify_params])
        row = cursor.fetchone()
    if row is None:
        raise _already_finished()
    outside, event_id, event_data, _notified = row
    live.published(int(event_id), channel, "queue", event_data)
    return bool(outside)


def complete(actor: Actor, ticket: Ticket, now: datetime | None = None) -> Ticket:
    _own_ticket(actor, ticket, TicketStatus.CALLED)
    _finish(ticket, TicketStatus.DONE, now or timezone.now())
    return ticket


def skip(actor: Actor, ticket: Ticket, now: datetime | None = None) -> Ticket:
    """The called person did not come to the window."""
    _own_ticket(actor, ticket, TicketStatus.CALLED)
    _finish(ticket, TicketStatus.SKIPPED, now or timezone.now())
    record(actor, "hall.skip", target=ticket, summary=ticket.label)
    return ticket


def transfer(actor: Actor, ticket: Ticket, business: Business) -> Ticket:
    """Send a called ticket back to the queue for another business, keeping its arrival time."""
    _own_ticket(actor, ticket, TicketStatus.CALLED)
    served = Window.objects.filter(
        service_point_id=ticket.service_point_id, is_open=True, businesses=business
    )
    if not served.exists():
        raise QueueRefused("no_window", _("No open window serves that business here."))
    with locking_transaction():
        _claim_called(
            ticket, status=TicketStatus.WAITING, business=business, window=None, called_at=None
        )
        queue_changed(ticket.service_point_id)
        record(actor, "hall.transfer", target=ticket, summary=f"{ticket.label} → {business.code}")
    ticket.refresh_from_db()
    return ticket


def current_ticket(actor: Actor, window: Window) -> Ticket | None:
    """The ticket this window has called and not finished (for a console that lost the
    answer to call-next)."""
    access.check(actor, Action.HALL_SERVE, window)
    check_window_assigned(actor, window.pk)
    return (
        Ticket.objects.filter(window=window, status=TicketStatus.CALLED)
        .select_related("zone", "business", "window")
        .order_by("-called_at")
        .first()
    )


# --- the kiosk's ticket ----------------------------------------------------------------------


def people_ahead(ticket: Ticket, now: datetime | None = None) -> int:
    """How many people the windows serving this ticket's business would call before it, by
    the call order (rules.order: class with ageing, booked on time before walk-in, arrival).
    Only tickets of the same business count. A ticket waiting outside (zone full) is called
    only after it is let in, so every ticket already inside counts ahead of it, and so do
    the ones outside that come before it in the order."""
    moment = now or timezone.now()
    statuses = [TicketStatus.WAITING]
    if ticket.status == TicketStatus.OUTSIDE:
        statuses.append(TicketStatus.OUTSIDE)
    rows = (
        Ticket.objects.filter(
            service_point_id=ticket.service_point_id,
            business_id=ticket.business_id,
            status__in=statuses,
        )
        .exclude(pk=ticket.pk)
        .values_list("id", "applicant_class", "on_time", "arrived_at", "business_id", "status")
    )
    mine = Waiting(
        ticket.pk, ticket.applicant_class, ticket.on_time, ticket.arrived_at, ticket.business_id
    )
    inside = [Waiting(*row[:5]) for row in rows if row[5] == TicketStatus.WAITING]
    outside = [Waiting(*row[:5]) for row in rows if row[5] == TicketStatus.OUTSIDE]
    if ticket.status == TicketStatus.OUTSIDE:
        ordered = order([*outside, mine], moment, settings.HALL_AGEING_MINUTES)
        return len(inside) + ordered.index(mine)
    ordered = order([*inside, mine], moment, settings.HALL_AGEING_MINUTES)
    return ordered.index(mine)


def windows_serving(ticket: Ticket, now: datetime | None = None) -> int:
    """How many open windows of the hall may call this ticket now: they serve its business,
    and the policy in force lets them serve its class (as call_next decides)."""
    moment = now or timezone.now()
    window_ids = Window.objects.filter(
        service_point_id=ticket.service_point_id, is_open=True, businesses=ticket.business_id
    ).values_list("pk", flat=True)
    count = 0
    for window_id in window_ids:
        facts = _window_facts(window_id)
        if facts is not None and ticket.business_id in _eligible(facts, moment).get(
            ticket.applicant_class, ()
        ):
            count += 1
    return count


# --- the clerk's windows and what they will call next --------------------------------------

_local_assigned = localcache.ttl_cache(maxsize=4096)


def assigned_window_ids(actor: Actor) -> frozenset[int]:
    """The windows a user is assigned to serve at (User.windows); empty: any window of their
    service point (access.scope with HALL_SERVE decides which those are)."""
    user = access.as_user(actor)
    if user is None or user.pk is None:
        return frozenset()
    return localcache.get_or_set(  # type: ignore[no-any-return]
        _local_assigned,
        user.pk,
        lambda: frozenset(user.windows.values_list("pk", flat=True)),
    )


def check_window_assigned(actor: Actor, window_id: int | None) -> None:
    """Refuse a user assigned to some windows an action at another one: the console's page
    and the API both come through here (call_next, the ticket actions, current_ticket)."""
    assigned = assigned_window_ids(actor)
    if not assigned or window_id is None or window_id in assigned:
        return
    reason = _("You are not assigned to this window; choose one of your own windows.")
    access.denied.send(
        sender=Action, actor=actor, action=Action.HALL_SERVE, target=None, reason=reason
    )
    raise access.Denied(reason, Action.HALL_SERVE)


@receiver(m2m_changed, sender=User.windows.through, dispatch_uid="hallqueue-assigned-windows")
def _assigned_windows_changed(
    sender: type, instance: object, pk_set: set[int] | None = None, **kwargs: object
) -> None:
    if isinstance(instance, User):
        localcache.drop(_local_assigned, instance.pk)
    elif pk_set is None:
        localcache.clear_all()
    else:
        for user_id in pk_set:
            localcache.drop(_local_assigned, user_id)


def queue_preview(
    window: Window | int, limit: int = 5, now: datetime | None = None
) -> list[Ticket]:
    """The next tickets this window would call, in the order call_next takes them: the same
    eligibility (_eligible), the same waiting tickets (_waiting_for) and the same rule order
    (rules.order, which order_sql mirrors); on PostgreSQL only the group heads the claiming
    statement reads (_heads_sql: within a group the order is arrival order)."""
    facts = _window_facts(window if isinstance(window, int) else int(window.pk))
    if facts is None:
        return []
    moment = now or timezone.now()
    eligible = _eligible(facts, moment)
    waiting = _waiting_for(facts, eligible)
    if connection.vendor == "postgresql" and eligible:
        heads, params = _heads_sql(facts.window.service_point_id, eligible)
        # the statement's text is constant (names and placeholders); values are bound
        waiting = waiting.filter(pk__in=RawSQL(heads, tuple(params)))  # noqa: S611 # nosec B611
    rows = waiting.order_by().values_list(*_WAITING_FIELDS)
    ordered = order((Waiting(*row) for row in rows), moment, settings.HALL_AGEING_MINUTES)
    chosen = [each.ticket_id for each in ordered[: min(limit, HEADS_PER_GROUP)]]
    found = Ticket.objects.select_related("business").in_bulk(chosen)
    return [found[pk] for pk in chosen if pk in found]


def waiting_for_window_by_class(
    window: Window | int, now: datetime | None = None
) -> list[tuple[str, int]]:
    """How many wait for this window, per class (named in the reader's language), highest
    class first."""
    facts = _window_facts(window if isinstance(window, int) else int(window.pk))
    if facts is None:
        return []
    counts = dict(
        _waiting_for(facts, _eligible(facts, now or timezone.now()))
        .order_by()
        .values_list("applicant_class")
        .annotate(count=Count("id"))
        .values_list("applicant_class", "count")
    )
    return [(str(member.label), counts[member]) for member in CLASS_ORDER if counts.get(member)]


# --- metrics -----------------------------------------------------------------------------------


@dataclass
class HallMetrics:
    tickets: int
    waiting: int
    outside: int
    served: int
    wait_avg_min: float | None
    wait_p90_min: float | None
    service_avg_min: float | None
    service_p90_min: float | None
    waiting_by_class: dict[str, int]

    @property
    def waiting_by_class_labels(self) -> list[tuple[str, int]]:
        """(class name in the reader's language, count), highest class first."""
        return [
            (str(member.label), self.waiting_by_class[member])
            for member in CLASS_ORDER
            if self.waiting_by_class.get(member)
        ]


def metrics(point: ServicePoint, day: Any = None) -> HallMetrics:
    today = day or timezone.localdate()
    tickets = list(
        Ticket.objects.filter(service_point=point, day=today).values(
            "status", "applicant_class", "arrived_at", "called_at", "completed_at"
        )
    )
    waits = [
        (t["called_at"] - t["arrived_at"]).total_seconds() / 60 for t in tickets if t["called_at"]
    ]
    services_ = [
        (t["completed_at"] - t["called_at"]).total_seconds() / 60
        for t in tickets
        if t["called_at"] and t["completed_at"] and t["status"] == TicketStatus.DONE
    ]
    by_class: dict[str, int] = {}
    for t in tickets:
        if t["status"] in (TicketStatus.WAITING, TicketStatus.OUTSIDE):
            by_class[t["applicant_class"]] = by_class.get(t["applicant_class"], 0) + 1

    def avg(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 1) if values else None

    def p90(values: list[float]) -> float | None:
        found = percentile(values, 0.9)
        return round(found, 1) if found is not None else None

    return HallMetrics(
        tickets=len(tickets),
        waiting=sum(1 for t in tickets if t["status"] == TicketStatus.WAITING),
        outside=sum(1 for t in tickets if t["status"] == TicketStatus.OUTSIDE),
        served=sum(1 for t in tickets if t["status"] == TicketStatus.DONE),
        wait_avg_min=avg(waits),
        wait_p90_min=p90(waits),
        service_avg_min=avg(services_),
        service_p90_min=p90(services_),
        waiting_by_class=by_class,
    )


# --- the hall manager's overview -----------------------------------------------------------


@dataclass(frozen=True)
class WindowRow:
    """One window as the hall manager sees it: open or closed, the ticket at it and since
    when, and since when it has been idle (None while serving, or when closed)."""

    window: Window
    businesses: list[Business]
    serving: Ticket | None
    idle_since: datetime | None
    now: datetime

    @property
    def idle_minutes(self) -> int | None:
        if self.idle_since is None:
            return None
        return max(0, int((self.now - self.idle_since).total_seconds() // 60))

    @property
    def idle_hours_and_minutes(self) -> tuple[int, int] | None:
        """The idle time as (hours, minutes), for reading at a glance ("4 小时 21 分钟")."""
        minutes = self.idle_minutes
        return None if minutes is None else divmod(minutes, 60)

    @property
    def serving_minutes(self) -> int | None:
        if self.serving is None or self.serving.called_at is None:
            return None
        return max(0, int((self.now - self.serving.called_at).total_seconds() // 60))


@dataclass(frozen=True)
class ZoneRow:
    zone: Zone

    @property
    def percent(self) -> int:
        cap = self.zone.occupancy_cap or 1
        return min(100, round(100 * self.zone.present / cap))

    @property
    def full(self) -> bool:
        return self.zone.present >= self.zone.occupancy_cap


@dataclass(frozen=True)
class OutsideRow:
    """A ticket waiting outside a full zone: what staff need, the mobile masked."""

    label: str
    business: str
    zone: str
    since: datetime
    mobile: str


@dataclass(frozen=True)
class WindowOverview:
    windows: list[WindowRow]
    zones: list[ZoneRow]
    outside: list[OutsideRow]
    now: datetime


def _opened_today(window_ids: list[int], since: datetime) -> dict[int, datetime]:
    """When each window was last opened since `since` (from the audit log), one statement."""
    rows = (
        AuditEntry.objects.filter(
            action="window.open",
            object_type="sites.window",
            object_id__in=[str(pk) for pk in window_ids],
            at__gte=since,
        )
        .values("object_id")
        .annotate(last=Max("at"))
    )
    return {int(row["object_id"]): row["last"] for row in rows}


def _last_finished(point: ServicePoint, since: datetime) -> dict[int, datetime]:
    """When each window of the point last finished a ticket since `since`, one statement."""
    rows = (
        Ticket.objects.filter(service_point=point, window__isnull=False, completed_at__gte=since)
        .values("window_id")
        .annotate(last=Max("completed_at"))
    )
    return {row["window_id"]: row["last"] for row in rows}


def _idle_since(
    window: Window,
    serving: Ticket | None,
    finished: datetime | None,
    opened: datetime | None,
    day_opens: datetime,
    now: datetime,
) -> datetime | None:
    """Idle since the last ticket finished, or since it was opened (today's opening time when
    it was opened before today); None while it serves or when closed."""
    if not window.is_open or serving is not None:
        return None
    known = [moment for moment in (finished, opened) if moment is not None]
    if known:
        return max(known)
    return day_opens if day_opens <= now else None


def window_overview(point: ServicePoint, now: datetime | None = None) -> WindowOverview:
    """The hall manager's live table: every window with what it serves, the ticket being
    served and the idle time; the zones' occupancy; who waits outside. Seven statements,
    whatever the number of windows or tickets."""
    moment = now or timezone.now()
    local = timezone.localtime(moment)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    day_opens = timezone.make_aware(
        datetime.combine(local.date(), point.opens_at), timezone.get_current_timezone()
    )
    windows = list(
        Window.objects.filter(service_point=point)
        .select_related("zone")
        .prefetch_related("businesses")
        .order_by("number")
    )
    serving = {
        t.window_id: t
        for t in Ticket.objects.filter(service_point=point, status=TicketStatus.CALLED)
        .exclude(window__isnull=True)
        .select_related("business")
        .order_by("called_at")
    }
    finished = _last_finished(point, midnight)
    opened = _opened_today([w.pk for w in windows], midnight)
    rows = [
        WindowRow(
            w,
            list(w.businesses.all()),
            serving.get(w.pk),
            _idle_since(
                w, serving.get(w.pk), finished.get(w.pk), opened.get(w.pk), day_opens, moment
            ),
            moment,
        )
        for w in windows
    ]
    zones = [ZoneRow(z) for z in Zone.objects.filter(service_point=point).order_by("id")]
    outside = [
        OutsideRow(t.label, t.business.name, t.zone.name, t.arrived_at, mask_mobile(t.mobile))
        for t in Ticket.objects.filter(service_point=point, status=TicketStatus.OUTSIDE)
        .select_related("business", "zone")
        .order_by("arrived_at", "id")
    ]
    return WindowOverview(rows, zones, outside, moment)


def calls_since(point_id: int, after_id: int, limit: int = 20) -> list[Call]:
    return list(
        Call.objects.filter(service_point_id=point_id, id__gt=after_id).order_by("id")[:limit]
    )


def recent_calls(point_id: int, limit: int = 10) -> list[Call]:
    return list(Call.objects.filter(service_point_id=point_id).order_by("-id")[:limit])


# --- the call display ----------------------------------------------------------------------


@dataclass(frozen=True)
class BoardCall:
    """A row of the call display: a ticket's latest call today (only labels and windows: the
    board is public)."""

    call: int
    label: str
    window: int
    at: str
    recall: bool


@dataclass(frozen=True)
class BoardWindow:
    number: int
    kind: str
    is_open: bool
    serving: str  # the label called there and not finished, or ""


@dataclass(frozen=True)
class BoardGroup:
    """A ticket prefix (a business category's queue): who waits, how far it has been called."""

    prefix: str
    categories: tuple[BusinessCategory, ...]
    waiting: int
    called_up_to: str  # the highest label called today, or ""

    @property
    def name(self) -> str:
        return "、".join(c.name for c in self.categories)


@dataclass(frozen=True)
class BoardState:
    windows: tuple[BoardWindow, ...]
    groups: tuple[BoardGroup, ...]

    @property
    def waiting(self) -> int:
        return sum(g.waiting for g in self.groups)


def _today_starts() -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(), datetime.min.time()))


def board_calls(point_id: int, limit: int = 10) -> list[BoardCall]:
    """Today's latest calls, one row per ticket (its newest call, so a recall moves the row
    up instead of adding one), marked as a recall when an earlier call of the ticket was to
    the same window."""
    rows = (
        Call.objects.filter(service_point_id=point_id, at__gte=_today_starts())
        .order_by("-id")
        .values_list("id", "ticket_id", "label", "window_number", "at")[: limit * 5]
    )
    newest: dict[int, BoardCall] = {}
    for call_id, ticket_id, label, window, at in rows:
        shown = newest.get(ticket_id)
        if shown is None:
            if len(newest) < limit:
                at_text = timezone.localtime(at).strftime("%H:%M:%S")
                newest[ticket_id] = BoardCall(call_id, label, window, at_text, False)
        elif shown.window == window and not shown.recall:
            newest[ticket_id] = BoardCall(shown.call, label, window, shown.at, True)
    return sorted(newest.values(), key=lambda c: -c.call)


_local_board = localcache.ttl_cache(maxsize=1024)


def board_state(point_id: int, version: int = 0) -> BoardState:
    """The windows (open or not, who each serves) and the waiting per ticket prefix, for the
    call display. Read once per process for each `version` (the last event the board has
    seen: a board that was told of a change reads the state after it) and LOCAL_CACHE_SECONDS
    at most, however many boards ask; only reads, never a write."""
    return localcache.get_or_set(  # type: ignore[no-any-return]
        _local_board, (point_id, version), lambda: _read_board_state(point_id)
    )


def _read_board_state(point_id: int) -> BoardState:
    today = timezone.localdate()
    serving = {
        window_id: f"{prefix}{number:03d}"
        for window_id, prefix, number in Ticket.objects.filter(
            service_point_id=point_id, status=TicketStatus.CALLED, window_id__isnull=False
        ).values_list("window_id", "prefix", "number")
    }
    windows = tuple(
        BoardWindow(number, kind, is_open, serving.get(pk, ""))
        for pk, number, kind, is_open in Window.objects.filter(service_point_id=point_id)
        .order_by("number")
        .values_list("pk", "number", "kind", "is_open")
    )
    waiting = dict(
        Ticket.objects.filter(
            service_point_id=point_id,
            day=today,
            status__in=(TicketStatus.WAITING, TicketStatus.OUTSIDE),
        )
        .values_list("prefix")
        .annotate(n=Count("id"))
        .values_list("prefix", "n")
    )
    called = dict(
        Ticket.objects.filter(service_point_id=point_id, day=today, called_at__isnull=False)
        .values_list("prefix")
        .annotate(top=Max("number"))
        .values_list("prefix", "top")
    )
    served = BusinessCategory.objects.filter(
        businesses__windows__service_point_id=point_id, businesses__windows__is_open=True
    ).distinct()
    by_prefix: dict[str, list[BusinessCategory]] = {}
    for category in served.order_by("code"):
        by_prefix.setdefault(PREFIX_BY_CATEGORY.get(category.code, "Z"), []).append(category)
    for prefix in waiting:
        by_prefix.setdefault(prefix, [])
    groups = tuple(
        BoardGroup(
            prefix,
            tuple(categories),
            int(waiting.get(prefix, 0)),
            f"{prefix}{called[prefix]:03d}" if prefix in called else "",
        )
        for prefix, categories in sorted(by_prefix.items())
    )
    return BoardState(windows, groups)


def verify_claim(actor: Actor, ticket: Ticket, *, confirm: bool, reason: str = "") -> Ticket:
    """At check-in or at the window, the clerk confirms the priority claim of the ticket's
    booking, or downgrades it to the general public with the reason: the booking is then
    served as general (booking.claims.downgrade) and the ticket's class follows, so that it
    waits in the general order."""
    access.check(actor, Action.CLAIM_VERIFY, ticket)
    if ticket.status == TicketStatus.CALLED:
        check_window_assigned(actor, ticket.window_id)
    claim = (
        PriorityClaim.objects.filter(booking_id=ticket.booking_id).first()
        if ticket.booking_id is not None
        else None
    )
    if claim is None:
        if ticket.applicant_class == DEFAULT_CLASS:
            raise QueueRefused("claim.none", _("This ticket claims no priority."))
        # a walk-in in a priority class (emergency at once): verified here, nowhere else
        if not confirm:
            _ticket_as_general(ticket, actor, reason)
        else:
            record(actor, "claim.confirm", target=ticket, summary=reason[:200])
        return ticket
    try:
        if confirm:
            claims.confirm(actor, claim, reason)
        else:
            claims.downgrade(actor, claim, reason)
            _ticket_as_general(ticket, actor, reason)
    except BookingRefused as refused:
        raise QueueRefused(refused.code, refused.message) from None
    return ticket


def _ticket_as_general(ticket: Ticket, actor: Actor, reason: str) -> None:
    if not reason.strip():
        raise QueueRefused("claim.reason", _("Say why the claim could not be proven."))
    with locking_transaction():
        Ticket.objects.filter(pk=ticket.pk).update(applicant_class=DEFAULT_CLASS)
        if ticket.booking_id is None:
            record(actor, "claim.downgrade", target=ticket, summary=reason[:200])
        queue_changed(ticket.service_point_id)
    ticket.applicant_class = DEFAULT_CLASS


# --- kiosks: only a registered kiosk (or the hall's staff) issues tickets ----------------------

#: What an unregistered or switched-off kiosk says, on its screen and in the API.
KIOSK_UNREGISTERED = gettext_lazy(
    "This kiosk is not registered or has been switched off; please contact the hall manager."
)
#: Only so often is a kiosk's "last used" written (one write per minute, not per ticket).
KIOSK_SEEN_EVERY = timedelta(minutes=1)
KIOSK_NAME_MAX = 40


class KioskRefused(Refusal):
    """The kiosk (or the person at it) may not issue tickets here: 403, with the way on."""

    status = 403


class KioskNameInvalid(Refusal):
    status = 422


def _kiosk_digest(secret: str) -> str:
    return keyed_digest(f"kiosk:{secret}")


def kiosks_of(point: ServicePoint) -> QuerySet[KioskDevice]:
    """The hall's kiosks, the ones in use first."""
    return KioskDevice.objects.filter(service_point=point).order_by(
        F("revoked_at").desc(nulls_first=True), "name", "id"
    )


def register_kiosk(actor: Actor, point: ServicePoint, name: str) -> tuple[KioskDevice, str]:
    """Register a kiosk of this hall (its hall manager, or a regional administrator over it).
    Returns the device and its one-time pairing code, shown once and kept only as a digest."""
    access.check(actor, Action.KIOSK_MANAGE, point)
    name = " ".join(str(name).split())
    if not name or len(name) > KIOSK_NAME_MAX:
        raise KioskNameInvalid(
            _("Give the kiosk a name of 1 to %(max)s characters, such as where it stands.")
            % {"max": KIOSK_NAME_MAX},
            "kiosk.name",
        )
    code = secrets.token_urlsafe(24)
    with locking_transaction():
        device = KioskDevice.objects.create(
            service_point=point,
            name=name,
            token_digest=_kiosk_digest(code),
            created_by=access.as_user(actor),
        )
        record(actor, "hall.kiosk_register", target=device, summary=name)
    return device, code


def revoke_kiosk(actor: Actor, device: KioskDevice) -> KioskDevice:
    """Switch a kiosk off: from now on it issues no ticket (audited; switching off twice is
    recorded once)."""
    access.check(actor, Action.KIOSK_MANAGE, device)
    with locking_transaction():
        switched = KioskDevice.objects.filter(pk=device.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if switched:
            record(actor, "hall.kiosk_revoke", target=device, summary=device.name)
    device.refresh_from_db()
    return device


def pair_kiosk(point: ServicePoint, code: str) -> tuple[KioskDevice, str]:
    """The kiosk screen opens its pairing link: the one-time code is exchanged for the
    kiosk's own token (the code opens nothing afterwards)."""
    token = secrets.token_urlsafe(32)
    with locking_transaction():
        device = (
            KioskDevice.objects.select_for_update()
            .filter(
                service_point=point,
                token_digest=_kiosk_digest(str(code)[:100]),
                paired_at__isnull=True,
                revoked_at__isnull=True,
            )
            .first()
        )
        if device is None:
            raise KioskRefused(
                _(
                    "This pairing link does not work any more: it was already used, or the "
                    "kiosk was switched off. Ask the hall manager to register the kiosk again."
                ),
                "kiosk.pairing",
            )
        device.token_digest = _kiosk_digest(token)
        device.paired_at = device.last_seen_at = timezone.now()
        device.save(update_fields=["token_digest", "paired_at", "last_seen_at"])
    return device, token


def kiosk_for_token(point: ServicePoint, token: str) -> KioskDevice | None:
    """The paired, not switched-off kiosk of THIS hall that holds `token`, else None."""
    if not token:
        return None
    device = KioskDevice.objects.filter(
        service_point=point,
        token_digest=_kiosk_digest(str(token)[:100]),
        paired_at__isnull=False,
        revoked_at__isnull=True,
    ).first()
    now = timezone.now()
    if device is not None and (
        device.last_seen_at is None or now - device.last_seen_at >= KIOSK_SEEN_EVERY
    ):
        KioskDevice.objects.filter(pk=device.pk).update(last_seen_at=now)
        device.last_seen_at = now
    return device


def check_may_issue(actor: Actor, point: ServicePoint, device: KioskDevice | None) -> None:
    """A ticket is issued by a registered kiosk of this hall, or by its staff (a clerk or the
    hall manager there); anyone else is told to ask the hall manager."""
    if device is not None and device.service_point_id == point.pk:
        return
    if access.allows(actor, Action.HALL_SERVE, point):
        return
    raise KioskRefused(KIOSK_UNREGISTERED, "kiosk.unregistered")
