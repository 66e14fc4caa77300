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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trafficdesk.accounts import access
from trafficdesk.accounts.access import Actor
from trafficdesk.audit.services import record
from trafficdesk.booking import claims
from trafficdesk.booking import services as booking_services
from trafficdesk.booking.errors import BookingRefused
from trafficdesk.booking.models import Booking, PriorityClaim
from trafficdesk.booking.rules import check_in_opens
from trafficdesk.catalog.models import Business
from trafficdesk.core import live, localcache
from trafficdesk.core.actions import Action
from trafficdesk.core.errors import Refusal
from trafficdesk.core.locking import Busy, locking_statement, locking_transaction
from trafficdesk.core.vocabulary import CLASS_ORDER, DEFAULT_CLASS, BookingStatus
from trafficdesk.hallqueue.models import Call, Ticket, TicketCounter, TicketStatus, label_sql
from trafficdesk.hallqueue.rules import (
    Waiting,
    order,
    order_sql,
    percentile,
    window_may_serve,
)
from trafficdesk.notify.services import queue_sms, sms_text
from trafficdesk.policy import services as policy
from trafficdesk.sites.models import ServicePoint, Window, Zone

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
            "speech": SPEECH % (call.label, call.window_number),
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
    early = check_in_opens(booking.slot.starts_at, settings.HALL_EARLY_MINUTES)
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
                    sms_text(ROOM_INSIDE_SMS, ticket=ticket.label),
                    kind="hall.room",
                )
            queue_changed(ticket.service_point_id)
        admitted.append(ticket)
    return admitted


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
        "json_build_object('call', c.id, 'label', c.label, 'window', %s, 'window_id', %s,"
        " 'at', %s::text, 'speech', format(%s, c.label, %s))",
        [window.number, window.pk, at, SPEECH, window.number],
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


def _claim_in_steps(
    facts: WindowFacts, eligible: dict[str, tuple[int, ...]], now: datetime
) -> Ticket | None:
    window = facts.window
    state = Window.objects.filter(pk=window.pk).values_list("is_open", "revision").first()
    is_open, revision = state if state is not None else (None, None)
    if not is_open or revision != facts.revision:
        _closed_or_stale(facts, is_open, revision)
    waiting = Ticket.objects.filter(
        service_point_id=window.service_point_id, status=TicketStatus.WAITING
    ).filter(
        functools.reduce(
            operator.or_,
            (Q(applicant_class=member, business_id__in=ids) for member, ids in eligible.items()),
            Q(pk__in=[]),
        )
    )
    rows = waiting.values_list("id", "applicant_class", "on_time", "arrived_at", "business_id")
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


def verify_claim(actor: Actor, ticket: Ticket, *, confirm: bool, reason: str = "") -> Ticket:
    """At check-in or at the window, the clerk confirms the priority claim of the ticket's
    booking, or downgrades it to the general public with the reason: the booking is then
    served as general (booking.claims.downgrade) and the ticket's class follows, so that it
    waits in the general order."""
    access.check(actor, Action.CLAIM_VERIFY, ticket)
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
