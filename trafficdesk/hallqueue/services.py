"""The hall queue: check-in, zone flow limiting, calling, and the numbers behind the board.

Zone occupancy is a counter on the zone with a CHECK (present <= cap); a check-in takes a
place with one conditional UPDATE and goes onto the "waiting outside" list when none is left.
Every claim — a check-in of a booking, a window's call, a recall, a transfer, the end of a
visit — is a conditional UPDATE on the status, and exactly one row must change. Every
transaction that locks runs in core.locking.locking_transaction ("busy, retry" on timeout).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from trafficdesk.accounts import access
from trafficdesk.accounts.access import Actor
from trafficdesk.audit.services import record
from trafficdesk.booking import services as booking_services
from trafficdesk.booking.models import Booking
from trafficdesk.catalog.models import Business
from trafficdesk.core import live
from trafficdesk.core.actions import Action
from trafficdesk.core.errors import Refusal
from trafficdesk.core.locking import locking_transaction
from trafficdesk.core.vocabulary import CLASS_ORDER, DEFAULT_CLASS, BookingStatus
from trafficdesk.hallqueue.models import Call, Ticket, TicketCounter, TicketStatus
from trafficdesk.hallqueue.rules import Waiting, order, percentile, window_may_serve
from trafficdesk.notify.services import queue_sms
from trafficdesk.policy import services as policy
from trafficdesk.sites.models import ServicePoint, Window, Zone

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


def announce(call: Call, window_id: int | None) -> None:
    """Put a call on the hall's boards (at commit) and refresh its consoles."""
    live.publish(
        live.hall_channel(call.service_point_id),
        "call",
        {
            "call": call.pk,
            "label": call.label,
            "window": call.window_number,
            "window_id": window_id,
            "at": timezone.localtime(call.at).strftime("%H:%M:%S"),
            "speech": f"请 {call.label} 号到 {call.window_number} 号窗口办理",
        },
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
            service_point=point, is_open=True, windows__is_open=True, windows__businesses=business
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
        raise QueueRefused("booking.elsewhere", _("This booking is for another service point."))
    if booking.status != BookingStatus.ACTIVE:
        raise QueueRefused(
            "booking.not_active",
            _("This booking is %(status)s.") % {"status": booking.get_status_display()},
        )
    if moment > booking.slot.ends_at:
        raise QueueRefused(
            "booking.late",
            _("The booked time has passed; take a walk-in ticket if walk-ins are allowed."),
        )
    early = booking.slot.starts_at - timedelta(minutes=settings.HALL_EARLY_MINUTES)
    if moment < early:
        raise QueueRefused(
            "booking.early",
            _("Too early: check in from %(time)s.")
            % {"time": timezone.localtime(early).strftime("%H:%M")},
        )
    business = booking.items.all()[0].business
    return _issue(
        point,
        business,
        booking.applicant_class,
        booking=booking,
        on_time=True,
        mobile=booking.holder.mobile or "",
        now=moment,
    )


def walk_in(
    point: ServicePoint,
    business: Business,
    applicant_class: str = DEFAULT_CLASS,
    *,
    mobile: str = "",
    now: datetime | None = None,
) -> Ticket:
    """A walk-in ticket, where the policy allows walk-ins for this business and class."""
    moment = now or timezone.now()
    decision = policy.decide_for(point, business, applicant_class, moment)
    if not decision.open:
        reasons = "；".join(r.zh for r in decision.reasons)
        raise QueueRefused(
            "policy.closed", _("Not offered here now: %(reasons)s") % {"reasons": reasons}
        )
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
                    f"【交管服务】{ticket.label} 号，大厅已有空位，请进入等候区。",
                    kind="hall.room",
                )
            queue_changed(ticket.service_point_id)
        admitted.append(ticket)
    return admitted


# --- calling -----------------------------------------------------------------------------------


HEADS_PER_GROUP = 16


def _candidates(window: Window, now: datetime) -> list[Waiting]:
    """The few tickets that can come first: within one class and one booked/walk-in group the
    rule order is plain arrival order (ageing only moves whole groups), so the oldest few of
    each eligible group suffice, whatever the length of the queue."""
    served = {b.pk: b for b in window.businesses.all()}
    situation = policy.situation_of(window.service_point, now)
    engine = policy.engine(now)
    first = engine.policy.priority_classes
    eligible: dict[str, list[int]] = {}
    for business_id, business in served.items():
        facts = policy.business_facts(business)
        for member in CLASS_ORDER:
            decision = engine.decide(situation, facts, member)
            if window_may_serve(window.kind, decision.window_kinds, member, first):
                eligible.setdefault(member, []).append(business_id)
    result: list[Waiting] = []
    for applicant_class, business_ids in eligible.items():
        for on_time in (True, False):
            heads = (
                Ticket.objects.filter(
                    service_point_id=window.service_point_id,
                    status=TicketStatus.WAITING,
                    applicant_class=applicant_class,
                    on_time=on_time,
                    business_id__in=business_ids,
                )
                .order_by("arrived_at", "id")
                .values_list("id", "arrived_at", "business_id")[:HEADS_PER_GROUP]
            )
            result += [
                Waiting(tid, applicant_class, on_time, arrived, bid) for tid, arrived, bid in heads
            ]
    return result


def call_next(actor: Actor, window: Window, now: datetime | None = None) -> Ticket | None:
    """Claim the next ticket for this window. Races with other windows are settled by the
    conditional UPDATE: a lost race moves on to the next candidate."""
    access.check(actor, Action.HALL_SERVE, window)
    if not window.is_open:
        raise QueueRefused("window.closed", _("This window is closed."))
    moment = now or timezone.now()
    for candidate in order(_candidates(window, moment), moment, settings.HALL_AGEING_MINUTES):
        with locking_transaction():
            claimed = Ticket.objects.filter(
                pk=candidate.ticket_id, status=TicketStatus.WAITING
            ).update(status=TicketStatus.CALLED, window=window, called_at=moment)
            if claimed != 1:
                continue
            ticket = Ticket.objects.select_related("business").get(pk=candidate.ticket_id)
            call = Call.objects.create(
                ticket=ticket,
                service_point_id=window.service_point_id,
                window_number=window.number,
                label=ticket.label,
            )
            announce(call, window.pk)
        return ticket
    return None


def _own_ticket(actor: Actor, ticket: Ticket, *statuses: str) -> None:
    access.check(actor, Action.HALL_SERVE, ticket)
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
        announce(call, ticket.window_id)
    ticket.refresh_from_db()
    return ticket


def _finish(ticket: Ticket, status: str, now: datetime) -> None:
    with locking_transaction():
        if (
            Ticket.objects.filter(pk=ticket.pk, status=TicketStatus.CALLED).update(
                status=status, completed_at=now
            )
            != 1
        ):
            raise QueueRefused("ticket.state", _("This ticket is already finished."))
        _leave_zone(ticket.zone_id)
        queue_changed(ticket.service_point_id)
        if ticket.booking_id and status == TicketStatus.DONE:
            booking_services.served(ticket.booking_id)
        elif ticket.booking_id and status == TicketStatus.SKIPPED:
            booking_services.missed_at_the_window(ticket.booking_id)
    admit_waiting_outside(ticket.zone_id, now)


def complete(actor: Actor, ticket: Ticket, now: datetime | None = None) -> Ticket:
    _own_ticket(actor, ticket, TicketStatus.CALLED)
    _finish(ticket, TicketStatus.DONE, now or timezone.now())
    ticket.refresh_from_db()
    return ticket


def skip(actor: Actor, ticket: Ticket, now: datetime | None = None) -> Ticket:
    """The called person did not come to the window."""
    _own_ticket(actor, ticket, TicketStatus.CALLED)
    _finish(ticket, TicketStatus.SKIPPED, now or timezone.now())
    record(actor, "hall.skip", target=ticket, summary=ticket.label)
    ticket.refresh_from_db()
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
    return (
        Ticket.objects.filter(window=window, status=TicketStatus.CALLED)
        .select_related("zone", "business", "window")
        .order_by("-called_at")
        .first()
    )


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


def calls_since(point_id: int, after_id: int, limit: int = 20) -> list[Call]:
    return list(
        Call.objects.filter(service_point_id=point_id, id__gt=after_id).order_by("id")[:limit]
    )


def recent_calls(point_id: int, limit: int = 10) -> list[Call]:
    return list(Call.objects.filter(service_point_id=point_id).order_by("-id")[:limit])
