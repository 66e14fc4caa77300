from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

import segno
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from trafficdesk.accounts import access
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.accounts.models import User
from trafficdesk.booking import services as booking_services
from trafficdesk.booking.numbers import ALPHABET as BOOKING_NUMBER_ALPHABET
from trafficdesk.catalog.models import Business
from trafficdesk.core import live, ratelimits
from trafficdesk.core.actions import Action
from trafficdesk.core.errors import Refusal
from trafficdesk.core.ratelimits import RateLimited
from trafficdesk.core.vocabulary import DEFAULT_CLASS, ApplicantClass, parse_class
from trafficdesk.hallqueue import console_panel, kiosk_http, services
from trafficdesk.hallqueue.models import KioskDevice, Ticket, TicketStatus
from trafficdesk.hallqueue.rules import CLIPS_EN as BOARD_CLIPS_EN
from trafficdesk.hallqueue.rules import CLIPS_ZH as BOARD_CLIPS_ZH
from trafficdesk.hallqueue.rules import estimated_wait_minutes
from trafficdesk.sites import services as sites
from trafficdesk.sites.models import ServicePoint, Window

#: The kiosk clears a ticket or a refusal after this many seconds, and a half-typed start
#: screen after KIOSK_IDLE_SECONDS without a touch (kiosk.js).
KIOSK_RESET_SECONDS = 20
KIOSK_IDLE_SECONDS = 60


def _number(value: object) -> int | None:
    """A positive id from a form or query value, else None (bad input is not found)."""
    text = str(value or "")
    return int(text) if text.isdigit() else None


def _check_in(point: ServicePoint, code: str) -> Ticket:
    """Check in with what the kiosk was given: the booking number (typed, spaces allowed),
    or the QR code's token or link."""
    booking = booking_services.booking_for_code(code)
    if booking is None:
        raise services.QueueRefused(
            "booking.unknown",
            _(
                "No booking has this number. Check it on your booking SMS or page, or ask at the desk."
            ),
        )
    return services.check_in_booking(point, booking.token)


@dataclass(frozen=True)
class KioskTicket:
    """What the kiosk shows and prints for a ticket it has just issued."""

    ticket: Ticket
    ahead: int
    open_windows: int
    wait_minutes: int | None
    needs_verification: bool
    qr_svg: str


#: Refusals about a booking point to the SMS; every refusal points to the desk.
_BOOKING_HINT = gettext_lazy(
    "Your booking number and time are in the booking SMS. If it still does not work, "
    "please ask at the information desk."
)
_DESK_HINT = gettext_lazy("Please ask at the information desk; the staff will help you.")


def _refusal_hint(refusal: services.QueueRefused) -> str:
    return str(_BOOKING_HINT if refusal.code.startswith("booking.") else _DESK_HINT)


def _ticket_qr_svg(request: HttpRequest, ticket: Ticket) -> str:
    """The printed ticket's QR code: the hall's board, with the ticket's label (no personal
    data; there is no public page per ticket)."""
    board = reverse("hallqueue:board", args=[ticket.service_point.code])
    url = request.build_absolute_uri(f"{board}?{urlencode({'ticket': ticket.label})}")
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False)
    return buffer.getvalue().decode()


def _kiosk_ticket(request: HttpRequest, ticket: Ticket) -> KioskTicket:
    ahead = services.people_ahead(ticket)
    open_windows = services.windows_serving(ticket)
    return KioskTicket(
        ticket=ticket,
        ahead=ahead,
        open_windows=open_windows,
        wait_minutes=estimated_wait_minutes(ahead, ticket.business.service_minutes, open_windows),
        needs_verification=ticket.applicant_class != DEFAULT_CLASS,
        qr_svg=_ticket_qr_svg(request, ticket),
    )


def _kiosk_issue(point: ServicePoint, data: Any) -> Ticket:
    """Check in (a booking number or QR code was given) or take a walk-in ticket."""
    code = str(data.get("token", ""))[:300]
    if code.strip():
        return _check_in(point, code)
    business = (
        Business.objects.filter(code=str(data.get("business", ""))[:20])
        .select_related("category")
        .first()
    )
    if business is None:
        raise services.QueueRefused("business.unknown", _("Please choose a business first."))
    return services.walk_in(point, business, parse_class(data.get("class")))


def _kiosk_classes() -> list[tuple[str, str]]:
    """The applicant classes to choose from: the general public first, then the priorities."""
    general = [(v, str(label)) for v, label in ApplicantClass.choices if v == DEFAULT_CLASS]
    others = [(v, str(label)) for v, label in ApplicantClass.choices if v != DEFAULT_CLASS]
    return general + others


@never_cache
def kiosk(request: HttpRequest, point: str) -> HttpResponse:
    """The hall kiosk, full screen and on its own (no site navigation): scan the booking QR
    or type the booking number, or take a walk-in ticket; the ticket shows the people ahead
    and the wait, prints on an 80 mm printer with ?print=1, and the screen clears itself for
    the next person (kiosk.js)."""
    found = get_object_or_404(ServicePoint.objects.select_related("region"), code=point)
    device = kiosk_http.device(request, found)
    try:
        services.check_may_issue(request.user, found, device)
    except services.KioskRefused as exc:
        return _kiosk_locked(request, found, exc.message)
    businesses = (
        Business.objects.filter(windows__service_point=found, windows__is_open=True)
        .distinct()
        .order_by("code")
    )
    printing = request.GET.get("print") == "1"
    shown, refusal, status = None, None, 200
    if request.method == "POST":
        try:
            kiosk_http.count_ticket(request, device)
            shown = _kiosk_ticket(request, _kiosk_issue(found, request.POST))
        except services.QueueRefused as exc:
            refusal, status = exc, 409
        except RateLimited as exc:
            refusal, status = services.QueueRefused("kiosk.rate", str(exc.message)), 429
    start_url = reverse("hallqueue:kiosk", args=[found.code]) + ("?print=1" if printing else "")
    response = render(
        request,
        "hallqueue/kiosk.html",
        {
            "point": found,
            "businesses": businesses,
            "classes": _kiosk_classes(),
            "default_class": DEFAULT_CLASS,
            "shown": shown,
            "ticket": shown.ticket if shown else None,
            "refusal": refusal,
            "refusal_hint": _refusal_hint(refusal) if refusal else "",
            "typed": str(request.POST.get("token", ""))[:200] if refusal else "",
            "printing": printing,
            "start_url": start_url,
            "keys": BOOKING_NUMBER_ALPHABET,
            "reset_seconds": KIOSK_RESET_SECONDS,
            "idle_seconds": KIOSK_IDLE_SECONDS,
        },
        status=status,
    )
    if status == 429:
        response["Retry-After"] = str(ratelimits.KIOSK_PER_DEVICE.retry_after_seconds)
    if device is not None:
        kiosk_http.renew_cookie(request, response)
    return response


def _kiosk_locked(request: HttpRequest, point: ServicePoint, message: str) -> HttpResponse:
    """The screen of a kiosk that may not issue tickets here (never paired, switched off, or
    paired to another hall): what to do, and nothing to touch."""
    return render(
        request, "hallqueue/kiosk_locked.html", {"point": point, "message": message}, status=403
    )


@never_cache
def kiosk_pair(request: HttpRequest, point: str) -> HttpResponse:
    """The kiosk screen opens the pairing link the hall manager was shown (GET: one button,
    so that a link preview cannot use the one-time code up); the POST exchanges the code for
    the kiosk's token in its cookie and opens the kiosk."""
    found = get_object_or_404(ServicePoint, code=point)
    code = str(request.POST.get("code") or request.GET.get("code") or "")[:100]
    if request.method != "POST":
        return render(request, "hallqueue/kiosk_pair.html", {"point": found, "code": code})
    try:
        _device, token = services.pair_kiosk(found, code)
    except services.KioskRefused as exc:
        return _kiosk_locked(request, found, exc.message)
    response = redirect("hallqueue:kiosk", point=found.code)
    kiosk_http.keep_cookie(response, token)
    return response


def _pairing_link(request: HttpRequest, point: ServicePoint, code: str) -> tuple[str, str]:
    """The kiosk's one-time pairing link, and its QR code (SVG) to scan on the kiosk."""
    pair = reverse("hallqueue:kiosk-pair", args=[point.code])
    url = request.build_absolute_uri(f"{pair}?{urlencode({'code': code})}")
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False)
    return url, buffer.getvalue().decode()


@permission_required(Action.KIOSK_MANAGE)
@never_cache
def kiosks(request: HttpRequest, point: str) -> HttpResponse:
    """The hall's kiosks: register one (its pairing link is shown once, here), switch one off."""
    found = get_object_or_404(ServicePoint.objects.select_related("region"), code=point)
    access.check(request.user, Action.KIOSK_MANAGE, found)
    context: dict[str, Any] = {"point": found, "name_max": services.KIOSK_NAME_MAX}
    status = 200
    if request.method == "POST":
        if request.POST.get("do") == "revoke":
            device = get_object_or_404(
                KioskDevice, pk=_number(request.POST.get("kiosk")), service_point=found
            )
            services.revoke_kiosk(request.user, device)
            messages.success(request, _("%(name)s is switched off.") % {"name": device.name})
            return redirect("hallqueue:kiosks", point=found.code)
        name = str(request.POST.get("name", ""))[:200]
        try:
            device, code = services.register_kiosk(request.user, found, name)
        except Refusal as exc:
            context.update(problem=exc.message, typed=name)
            status = 422
        else:
            url, svg = _pairing_link(request, found, code)
            context.update(registered=device, pair_url=url, pair_qr=svg)
    context["kiosks"] = services.kiosks_of(found)
    return render(request, "hallqueue/kiosks.html", context, status=status)


def board(request: HttpRequest, point: str) -> HttpResponse:
    """The TV call display: the calls being made (large, with chime and voice), every
    window and whom it serves, the waiting per queue, the latest calls, a clock and the
    hall's notice; then each change as it happens (board_events, board_state). Public: it
    shows ticket labels, window numbers and counts only, and writes nothing."""
    found = get_object_or_404(ServicePoint, code=point)
    after = live.latest_id(live.hall_channel(found.pk))
    return render(
        request,
        "hallqueue/board.html",
        {
            "point": found,
            "calls": services.board_calls(found.pk),
            "state": services.board_state(found.pk, after),
            "after": after,
            "clips": {"zh": BOARD_CLIPS_ZH, "en": BOARD_CLIPS_EN},
            "time_zone": settings.TIME_ZONE,
            "server_ms": int(time.time() * 1000),
        },
    )


def board_state(request: HttpRequest, point: str) -> HttpResponse:
    """The windows and waiting panels of the call display, re-read by the board after an
    event; `?v=` is the last event it saw, so boards that saw the same event share one read
    per process (services.board_state)."""
    found = get_object_or_404(ServicePoint.objects.only("pk"), code=point)
    version = _number(request.GET.get("v")) or 0
    response = render(
        request,
        "hallqueue/_board_state.html",
        {"state": services.board_state(found.pk, version)},
    )
    response["Cache-Control"] = "no-store"
    return response


async def board_events(request: HttpRequest, point: str) -> HttpResponseBase:
    """Server-sent events: each call, as it is made. Async: an open board holds no thread and
    no database connection; it resumes after Last-Event-ID, so no call is missed."""
    found = await ServicePoint.objects.filter(code=point).values_list("pk", flat=True).afirst()
    if found is None:
        raise Http404
    return await live.channel_response(
        request, live.hall_channel(found), kinds=("call", "queue", "board")
    )


async def hall_events(request: HttpRequest, point: str) -> HttpResponseBase:
    """Server-sent events for the staff screens of a hall (consoles, the manager's page): a
    "queue" or "call" event whenever something they show changes; they then re-read it."""
    user = await request.auser()
    found = await sync_to_async(_followed_point)(user, point)
    return await live.channel_response(request, live.hall_channel(found.pk))


def _followed_point(user: Any, point: str) -> ServicePoint:
    found = get_object_or_404(ServicePoint.objects.select_related("region"), code=point)
    services.check_may_follow(user, found)
    return found


def _live_part(request: HttpRequest) -> bool:
    """A live panel re-reading its part of the page (live.js, on a stream event)."""
    return request.GET.get("part") == "live"


def _clerk(request: HttpRequest) -> User:
    """The logged-in member of staff (permission_required has let only them through)."""
    return cast(User, request.user)


def _hx(request: HttpRequest) -> bool:
    """An htmx request: answer with the live panel, not a page."""
    return request.headers.get("HX-Request") == "true"


@permission_required(Action.HALL_SERVE)
def console(request: HttpRequest) -> HttpResponse:
    """The clerk's console: choose a window (remembered across logins), call the next ticket,
    recall, mark a no-show, transfer, complete; the live panel follows the hall's stream."""
    user = _clerk(request)
    # Read before the page, so that the page's stream gets every change after it.
    live_after = live.latest_id(live.hall_channel(user.service_point_id or 0))
    windows = console_panel.my_windows(user)
    window, notice = console_panel.opened_window(
        request.session, user, _number(request.GET.get("window")), windows
    )
    if _live_part(request) and window is not None:
        return render(request, "hallqueue/_console_live.html", console_panel.panel(user, window))
    context: dict[str, Any] = {
        "windows": windows,
        "window": window,
        "chooser_notice": notice,
        "live_after": live_after,
    }
    if window is not None:
        context.update(console_panel.panel(user, window))
    return render(request, "hallqueue/console.html", context)


@permission_required(Action.HALL_SERVE)
@require_POST
def console_action(request: HttpRequest, action: str) -> HttpResponse:
    """A console action: with htmx, the live panel with what happened (409 when refused);
    without JavaScript, a message and back to the console."""
    user = _clerk(request)
    console_url = reverse("hallqueue:console")
    if action == "choose":
        chosen, refused = console_panel.chosen_window(
            request.session, user, _number(request.POST.get("window"))
        )
        if chosen is None:
            messages.error(request, refused.text if refused else _("Choose your window first."))
            return redirect(console_url)
        return redirect(f"{console_url}?{urlencode({'window': chosen.pk})}")
    if action not in console_panel.ACTIONS:
        raise Http404
    window = console_panel.my_window(user, _number(request.POST.get("window")))
    if window is None:
        messages.error(request, _("Choose your window first."))
        return redirect(console_url)
    notice = console_panel.act(user, window, action, request.POST)
    if _hx(request):
        status = 409 if notice.level == "error" else 200
        context = console_panel.panel(user, window, notice)
        return render(request, "hallqueue/_console_live.html", context, status=status)
    getattr(messages, notice.level)(request, notice.text)
    return redirect(f"{console_url}?{urlencode({'window': window.pk})}")


@permission_required(Action.WINDOW_OPEN_CLOSE)
def my_hall(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.service_point_id is None:
        return render(
            request,
            "403.html",
            {"exception": _("You are not assigned to a service point.")},
            status=403,
        )
    return manager(request, user.service_point.code)


def _manager_context(request: HttpRequest, point: ServicePoint, **extra: Any) -> dict[str, Any]:
    """What the manager's page and its live panel show (window_overview: a few statements)."""
    return {
        "point": point,
        "overview": services.window_overview(point),
        "metrics": services.metrics(point),
        "may_act": access.allows(request.user, Action.WINDOW_OPEN_CLOSE, point),
        "may_manage_kiosks": access.allows(request.user, Action.KIOSK_MANAGE, point),
        "notice_max": sites.BOARD_NOTICE_MAX,
        **extra,
    }


def _manager_window(request: HttpRequest, point: ServicePoint) -> HttpResponse:
    """Open or close a window. Closing one that is serving a ticket asks first: htmx by a
    dialog (hx-confirm, then confirmed=1), a plain form by a confirmation step on the page."""
    window = get_object_or_404(
        Window.objects.select_related("service_point__region"),
        pk=_number(request.POST.get("window")),
        service_point=point,
    )
    opening = request.POST.get("open") == "1"
    serving = Ticket.objects.filter(window=window, status=TicketStatus.CALLED).first()
    if not opening and serving is not None and request.POST.get("confirmed") != "1":
        context = _manager_context(
            request,
            point,
            confirm_close=window,
            confirm_ticket=serving,
            live_after=live.latest_id(live.hall_channel(point.pk)),
        )
        return render(request, "hallqueue/manager.html", context)
    sites.set_window_open(request.user, window, opening)
    done = (_("Window %(n)s is open.") if opening else _("Window %(n)s is closed.")) % {
        "n": window.number
    }
    if request.headers.get("HX-Request"):
        return render(
            request, "hallqueue/_manager_live.html", _manager_context(request, point, done=done)
        )
    messages.success(request, done)
    return redirect("hallqueue:manager", point=point.code)


def _manager_notice(request: HttpRequest, point: ServicePoint) -> HttpResponse:
    """Set the line along the bottom of the call display, and whether it calls in English."""
    text = request.POST.get("notice", "")
    english = request.POST.get("speaks_english") == "1"
    problem = ""
    try:
        sites.set_board_notice(request.user, point, text, english)
    except sites.SiteChangeRefused as exc:
        problem = exc.message
    if request.headers.get("HX-Request"):
        return render(
            request,
            "hallqueue/_manager_notice.html",
            {
                "point": point,
                "may_act": True,
                "notice_max": sites.BOARD_NOTICE_MAX,
                "notice_saved": not problem,
                "notice_problem": problem,
                "typed": text[: sites.BOARD_NOTICE_MAX * 2],
            },
            status=422 if problem else 200,
        )
    if problem:
        messages.error(request, problem)
    else:
        messages.success(request, _("The notice on the call display is saved."))
    return redirect("hallqueue:manager", point=point.code)


@permission_required(Action.HALL_WATCH)
def manager(request: HttpRequest, point: str) -> HttpResponse:
    """The hall manager's page: each window open or closed, the ticket it serves and how long
    it has been idle; zone occupancy, who waits outside, the queue by class, waits; the notice
    on the call display."""
    found = get_object_or_404(ServicePoint.objects.select_related("region"), code=point)
    access.check(request.user, Action.HALL_WATCH, found)
    if request.method == "POST":
        if request.POST.get("do") == "notice":
            return _manager_notice(request, found)
        return _manager_window(request, found)
    live_after = live.latest_id(live.hall_channel(found.pk))
    return render(
        request,
        "hallqueue/_manager_live.html" if _live_part(request) else "hallqueue/manager.html",
        _manager_context(request, found, live_after=live_after),
    )
