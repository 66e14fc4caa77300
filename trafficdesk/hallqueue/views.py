from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trafficdesk.accounts import access
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.booking import services as booking_services
from trafficdesk.booking.models import PriorityClaim
from trafficdesk.catalog.models import Business
from trafficdesk.core import live
from trafficdesk.core.actions import Action
from trafficdesk.core.vocabulary import DEFAULT_CLASS, ApplicantClass, parse_class
from trafficdesk.hallqueue import services
from trafficdesk.hallqueue.models import Ticket, TicketStatus
from trafficdesk.sites import services as sites
from trafficdesk.sites.models import ServicePoint, Window, Zone


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


def kiosk(request: HttpRequest, point: str) -> HttpResponse:
    """The hall kiosk: scan the booking QR or type the booking number, or take a walk-in
    ticket."""
    found = get_object_or_404(ServicePoint.objects.select_related("region"), code=point)
    businesses = (
        Business.objects.filter(windows__service_point=found, windows__is_open=True)
        .distinct()
        .order_by("code")
    )
    ticket, refusal = None, None
    if request.method == "POST":
        try:
            if request.POST.get("token"):
                ticket = _check_in(found, request.POST["token"])
            else:
                business = (
                    Business.objects.filter(code=request.POST.get("business", ""))
                    .select_related("category")
                    .first()
                )
                if business is None:
                    raise services.QueueRefused("business.unknown", _("Choose a business."))
                ticket = services.walk_in(found, business, parse_class(request.POST.get("class")))
        except services.QueueRefused as exc:
            refusal = exc
    status = 409 if refusal else 200
    return render(
        request,
        "hallqueue/kiosk.html",
        {
            "point": found,
            "businesses": businesses,
            "classes": ApplicantClass.choices,
            "default_class": DEFAULT_CLASS,
            "ticket": ticket,
            "refusal": refusal,
            "typed": request.POST.get("token", "")[:200] if refusal else "",
        },
        status=status,
    )


def board(request: HttpRequest, point: str) -> HttpResponse:
    """The TV board: the latest calls, then each new one as it is made (board_events)."""
    found = get_object_or_404(ServicePoint, code=point)
    after = live.latest_id(live.hall_channel(found.pk))
    return render(
        request,
        "hallqueue/board.html",
        {"point": found, "calls": services.recent_calls(found.pk), "after": after},
    )


async def board_events(request: HttpRequest, point: str) -> HttpResponseBase:
    """Server-sent events: each call, as it is made. Async: an open board holds no thread and
    no database connection; it resumes after Last-Event-ID, so no call is missed."""
    found = await ServicePoint.objects.filter(code=point).values_list("pk", flat=True).afirst()
    if found is None:
        raise Http404
    return await live.channel_response(request, live.hall_channel(found), kinds=("call",))


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


def _my_windows(user: Any) -> Any:
    """The windows of the clerk's own service point."""
    return access.scope(
        user,
        Window.objects.filter(service_point_id=user.service_point_id).select_related(
            "service_point__region", "zone"
        ),
        Action.HALL_SERVE,
    )


@permission_required(Action.HALL_SERVE)
def console(request: HttpRequest) -> HttpResponse:
    """The clerk's console: choose a window, call the next ticket, recall, skip, transfer, complete."""
    user: Any = request.user
    # Read before the page, so that the page's stream gets every change after it.
    live_after = live.latest_id(live.hall_channel(user.service_point_id or 0))
    windows = _my_windows(user)
    window_id = _number(request.GET.get("window") or request.session.get("hall_window"))
    window = windows.filter(pk=window_id).first() if window_id else None
    if window is not None:
        request.session["hall_window"] = window.pk
    current = (
        Ticket.objects.filter(window=window, status=TicketStatus.CALLED)
        .select_related("business")
        .first()
        if window
        else None
    )
    businesses = (
        Business.objects.filter(windows__service_point_id=user.service_point_id)
        .distinct()
        .order_by("code")
    )
    claim = (
        PriorityClaim.objects.select_related("vehicle", "enterprise")
        .filter(booking_id=current.booking_id)
        .first()
        if current is not None and current.booking_id
        else None
    )
    return render(
        request,
        "hallqueue/_console_live.html" if _live_part(request) else "hallqueue/console.html",
        {
            "windows": windows,
            "window": window,
            "current": current,
            "claim": claim,
            "claims_to_verify": current is not None and current.applicant_class != DEFAULT_CLASS,
            "businesses": businesses,
            "metrics": services.metrics(window.service_point) if window else None,
            "live_after": live_after,
        },
    )


@permission_required(Action.HALL_SERVE)
@require_POST
def console_action(request: HttpRequest, action: str) -> HttpResponse:
    user: Any = request.user
    window = (
        _my_windows(user)
        .filter(pk=_number(request.POST.get("window")))
        .prefetch_related("businesses")
        .first()
    )
    if window is None:
        messages.error(request, _("Choose your window first."))
        return redirect("hallqueue:console")
    try:
        if action == "call":
            ticket = services.call_next(user, window)
            if ticket is None:
                messages.info(request, _("Nobody is waiting for this window."))
            else:
                messages.success(request, _("Called %(label)s.") % {"label": ticket.label})
        else:
            ticket = get_object_or_404(
                Ticket.objects.select_related("service_point__region", "window"),
                pk=_number(request.POST.get("ticket")),
                window=window,
            )
            if action == "recall":
                services.recall(user, ticket)
            elif action == "complete":
                services.complete(user, ticket)
            elif action == "skip":
                services.skip(user, ticket)
            elif action in {"claim-confirm", "claim-downgrade"}:
                services.verify_claim(
                    user,
                    ticket,
                    confirm=action == "claim-confirm",
                    reason=request.POST.get("reason", ""),
                )
                messages.success(request, _("Saved."))
            elif action == "transfer":
                services.transfer(
                    user, ticket, get_object_or_404(Business, code=request.POST.get("business"))
                )
            else:
                return HttpResponse(status=404)
    except services.QueueRefused as exc:
        messages.error(request, exc.message)
    return redirect(f"{request.path.rsplit('/', 2)[0]}/?window={window.pk}")


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


@permission_required(Action.HALL_WATCH)
def manager(request: HttpRequest, point: str) -> HttpResponse:
    """The hall manager's page: windows open and closed, zone occupancy, the queue by class, waits."""
    found = get_object_or_404(ServicePoint.objects.select_related("region"), code=point)
    access.check(request.user, Action.HALL_WATCH, found)
    if request.method == "POST":
        window = get_object_or_404(
            Window.objects.select_related("service_point__region"),
            pk=_number(request.POST.get("window")),
            service_point=found,
        )
        sites.set_window_open(request.user, window, request.POST.get("open") == "1")
        return redirect("hallqueue:manager", point=found.code)
    live_after = live.latest_id(live.hall_channel(found.pk))
    return render(
        request,
        "hallqueue/_manager_live.html" if _live_part(request) else "hallqueue/manager.html",
        {
            "point": found,
            "windows": Window.objects.filter(service_point=found)
            .select_related("zone")
            .prefetch_related("businesses"),
            "zones": Zone.objects.filter(service_point=found),
            "metrics": services.metrics(found),
            "outside": Ticket.objects.filter(
                service_point=found, status=TicketStatus.OUTSIDE
            ).count(),
            "live_after": live_after,
        },
    )
