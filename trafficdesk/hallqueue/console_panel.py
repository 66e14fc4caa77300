"""The clerk's window console (views.console and views.console_action): which window it
opens, what its live panel shows, and what each action does and says. Who may do what stays
with the access module and the hall queue's services; this module only arranges the page."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from trafficdesk.accounts import access
from trafficdesk.accounts.models import User
from trafficdesk.audit.services import record_view
from trafficdesk.booking.models import Booking, PriorityClaim
from trafficdesk.catalog.models import Business
from trafficdesk.core.actions import Action
from trafficdesk.core.validators import mask_mobile, mask_name
from trafficdesk.core.vocabulary import DEFAULT_CLASS
from trafficdesk.hallqueue import services
from trafficdesk.hallqueue.models import Ticket
from trafficdesk.sites.models import Window

#: The session's copy of the chosen window (User.last_window is the one that lasts).
SESSION_KEY = "hall_window"
#: The service time after which the timer turns amber, when a business names none.
DEFAULT_SERVICE_MINUTES = 15
#: How many of the next tickets the console lists.
PREVIEW_LENGTH = 5


@dataclass(frozen=True)
class Notice:
    """What the console says after an action (success, info or error)."""

    level: str
    text: str


@dataclass(frozen=True)
class BookingFacts:
    """The current ticket's booking as the clerk sees it: personal data masked."""

    number: str
    starts_at: datetime
    ends_at: datetime
    late_minutes: int
    id_masked: str
    name_masked: str
    mobile_masked: str


def number(value: object) -> int | None:
    """A positive id from a form or query value, else None (bad input is not found)."""
    text = str(value or "")
    return int(text) if text.isdigit() else None


# --- the window ----------------------------------------------------------------------------


def my_windows(user: User) -> QuerySet[Window]:
    """The windows this clerk may serve at: their service point's (access.scope with
    HALL_SERVE) and, when they are assigned some, only those (services.assigned_window_ids,
    which the services also enforce for every action, page or API)."""
    windows = access.scope(
        user,
        Window.objects.filter(service_point_id=user.service_point_id).select_related(
            "service_point__region", "zone"
        ),
        Action.HALL_SERVE,
    )
    assigned = services.assigned_window_ids(user)
    if assigned:
        windows = windows.filter(pk__in=assigned)
    return windows.order_by("number")


def my_window(user: User, window_id: int | None) -> Window | None:
    """One of the clerk's windows (my_windows), or None."""
    if window_id is None:
        return None
    return my_windows(user).filter(pk=window_id).prefetch_related("businesses").first()


def remember(session: SessionBase, user: User, window: Window) -> None:
    """Open this window next time, in this session and after the next login."""
    if session.get(SESSION_KEY) != window.pk:  # no session write on every live re-read
        session[SESSION_KEY] = window.pk
    if user.last_window_id != window.pk:
        User.objects.filter(pk=user.pk).update(last_window=window)
        user.last_window_id = window.pk


def _remembered(session: SessionBase, user: User) -> list[int]:
    found = [user.last_window_id, number(session.get(SESSION_KEY))]
    return [pk for pk in found if pk is not None]


def closed_notice(window: Window) -> Notice:
    return Notice(
        "error",
        _("Window %(number)s is closed; ask the hall manager to open it.")
        % {"number": window.number},
    )


def opened_window(
    session: SessionBase, user: User, asked: int | None, windows: QuerySet[Window]
) -> tuple[Window | None, Notice | None]:
    """The window the console opens: the one asked for (open, or the one already being
    served at), else the remembered one (User.last_window, then the session's)."""
    remembered = _remembered(session, user)
    if asked is not None:
        window = windows.filter(pk=asked).first()
        if window is None:
            return None, Notice("error", _("Choose one of your windows."))
        if not window.is_open and asked not in remembered:
            return None, closed_notice(window)
        remember(session, user, window)
        return window, None
    for candidate in remembered:
        window = windows.filter(pk=candidate).first()
        if window is not None:
            remember(session, user, window)
            return window, None
    return None, None


def chosen_window(
    session: SessionBase, user: User, window_id: int | None
) -> tuple[Window | None, Notice | None]:
    """The clerk chooses a window: one of theirs, and open."""
    window = my_window(user, window_id)
    if window is None:
        return None, Notice("error", _("Choose one of your windows."))
    if not window.is_open:
        return None, closed_notice(window)
    remember(session, user, window)
    return window, None


# --- the live panel ------------------------------------------------------------------------


def _booking_facts(ticket: Ticket) -> BookingFacts | None:
    booking = (
        Booking.objects.select_related("slot", "holder").filter(pk=ticket.booking_id).first()
        if ticket.booking_id
        else None
    )
    if booking is None:
        return None
    late = (ticket.arrived_at - booking.slot.starts_at).total_seconds() // 60
    holder = booking.holder
    return BookingFacts(
        number=booking.spaced_number,
        starts_at=booking.slot.starts_at,
        ends_at=booking.slot.ends_at,
        late_minutes=max(0, int(late)),
        id_masked=booking.id_masked,
        name_masked=mask_name(holder.get_full_name()) if holder.get_full_name() else "",
        mobile_masked=mask_mobile(holder.mobile or ticket.mobile)
        if (holder.mobile or ticket.mobile)
        else "",
    )


def _transfer_choices(ticket: Ticket) -> QuerySet[Business]:
    """The businesses an open window of this hall serves, other than the ticket's."""
    return (
        Business.objects.filter(
            windows__service_point_id=ticket.service_point_id, windows__is_open=True
        )
        .exclude(pk=ticket.business_id)
        .distinct()
        .order_by("code")
    )


def _serving(ticket: Ticket, now: datetime) -> dict[str, Any]:
    elapsed = int((now - ticket.called_at).total_seconds()) if ticket.called_at else 0
    minutes = ticket.business.service_minutes or DEFAULT_SERVICE_MINUTES
    claim = (
        PriorityClaim.objects.select_related("vehicle", "enterprise")
        .filter(booking_id=ticket.booking_id)
        .first()
        if ticket.booking_id
        else None
    )
    return {
        "elapsed": max(0, elapsed),
        "elapsed_text": "{:02d}:{:02d}".format(*divmod(max(0, elapsed), 60)),
        "typical_seconds": minutes * 60,
        "typical_minutes": minutes,
        "booking": _booking_facts(ticket),
        "claim": claim,
        "claims_to_verify": ticket.applicant_class != DEFAULT_CLASS,
        "transfer_to": _transfer_choices(ticket),
    }


def panel(user: User, window: Window, notice: Notice | None = None) -> dict[str, Any]:
    """What the live panel shows: the ticket being served, the next ones, the hall's counts."""
    now = timezone.now()
    current = services.current_ticket(user, window)
    context: dict[str, Any] = {
        "window": window,
        "current": current,
        "notice": notice,
        "now": now,
        "preview": services.queue_preview(window, PREVIEW_LENGTH, now),
        "preview_by_class": services.waiting_for_window_by_class(window, now),
        "metrics": services.metrics(window.service_point),
    }
    if current is not None:
        context.update(_serving(current, now))
    return context


# --- the actions ---------------------------------------------------------------------------

TicketAction = Callable[[User, Ticket, Mapping[str, str]], str]


def _recall(user: User, ticket: Ticket, data: Mapping[str, str]) -> str:
    services.recall(user, ticket)
    return _("Called %(label)s again.") % {"label": ticket.label}


def _complete(user: User, ticket: Ticket, data: Mapping[str, str]) -> str:
    services.complete(user, ticket)
    return _("%(label)s is done.") % {"label": ticket.label}


def _skip(user: User, ticket: Ticket, data: Mapping[str, str]) -> str:
    services.skip(user, ticket)
    return _("%(label)s did not come: marked as a no-show.") % {"label": ticket.label}


def _claim(confirm: bool) -> TicketAction:
    def decide(user: User, ticket: Ticket, data: Mapping[str, str]) -> str:
        services.verify_claim(user, ticket, confirm=confirm, reason=data.get("reason", ""))
        if confirm:
            return _("Priority proven for %(label)s.") % {"label": ticket.label}
        return _("%(label)s is served as general public.") % {"label": ticket.label}

    return decide


def _transfer(user: User, ticket: Ticket, data: Mapping[str, str]) -> str:
    business = Business.objects.filter(code=data.get("business", "")).first()
    if business is None:
        raise services.QueueRefused("business.unknown", _("Choose a business."))
    services.transfer(user, ticket, business)
    return _("%(label)s went back to the queue for %(business)s.") % {
        "label": ticket.label,
        "business": business.name,
    }


TICKET_ACTIONS: dict[str, TicketAction] = {
    "recall": _recall,
    "complete": _complete,
    "skip": _skip,
    "claim-confirm": _claim(True),
    "claim-downgrade": _claim(False),
    "transfer": _transfer,
}
ACTIONS = frozenset({"call", *TICKET_ACTIONS})


def _call(user: User, window: Window) -> Notice:
    ticket = services.call_next(user, window)
    if ticket is None:
        return Notice("info", _("Nobody is waiting for this window."))
    if ticket.booking_id:
        # the panel now shows the booking's holder (name, ID number and mobile, masked)
        booking = Booking.objects.filter(pk=ticket.booking_id).first()
        if booking is not None:
            record_view(user, booking, ["name", "id_masked", "mobile"], "hall.console.call")
    return Notice("success", _("Called %(label)s.") % {"label": ticket.label})


def _window_ticket(window: Window, data: Mapping[str, str]) -> Ticket:
    ticket_id = number(data.get("ticket"))
    ticket = (
        Ticket.objects.select_related("service_point__region", "window")
        .filter(pk=ticket_id, window=window)
        .first()
        if ticket_id is not None
        else None
    )
    if ticket is None:
        raise services.QueueRefused("ticket.gone", _("This ticket is no longer at your window."))
    return ticket


def act(user: User, window: Window, action: str, data: Mapping[str, str]) -> Notice:
    """Do one of the console's ACTIONS at this window; a refusal is said, not raised."""
    try:
        if action == "call":
            return _call(user, window)
        ticket = _window_ticket(window, data)
        return Notice("success", TICKET_ACTIONS[action](user, ticket, data))
    except services.QueueRefused as refused:
        return Notice("error", refused.message)
