"""After a booking is made: its page (QR, booking number, materials, check-in time, the
calendar file), "my bookings", reschedule and cancel with a confirmation step, and the
hall's no-show mark. Each view reads its input and calls one service (booking.services)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from trafficdesk.accounts import access
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.audit import services as audit_services
from trafficdesk.booking import ledger, services
from trafficdesk.booking.ics import booking_calendar
from trafficdesk.booking.models import Booking, PriorityClaim, Slot
from trafficdesk.booking.qr import booking_qr_svg
from trafficdesk.core.actions import Action
from trafficdesk.core.validators import mask_mobile
from trafficdesk.core.vocabulary import BookingStatus


@dataclass(frozen=True)
class Material:
    """The materials to bring for one business of a booking."""

    business: str
    items: list[str]


def _booking_or_404(request: HttpRequest, token: str) -> Booking:
    booking = services.visible_booking(request.user, token)
    if booking is None:
        raise Http404
    return booking


def _is_holder(request: HttpRequest, booking: Booking) -> bool:
    return bool(request.user.pk) and booking.holder_id == request.user.pk


def may_change(request: HttpRequest, booking: Booking) -> bool:
    return services.may_change(request.user, booking)


def release_minutes() -> int:
    """The anti-trading delay, in whole minutes (rounded up), as the pages say it."""
    return -(-settings.BOOKING_RELEASE_DELAY_SECONDS // 60)


def _materials(booking: Booking) -> list[Material]:
    return [
        Material(item.business.name, item.business.materials)
        for item in booking.items.all()
        if item.business.materials
    ]


def _visit(booking: Booking) -> dict[str, Any]:
    """What every page of a booking shows about it."""
    return {
        "booking": booking,
        "businesses": [item.business.name for item in booking.items.all()],
        "check_in_from": services.check_in_opens(booking.slot),
    }


@permission_required(Action.ACCOUNT_VIEW)
def detail(request: HttpRequest, token: str) -> HttpResponse:
    """The booking: QR and booking number, place and time, what to bring, when check-in
    opens, the calendar file; reschedule and cancel for its holder."""
    booking = _booking_or_404(request, token)
    claim = PriorityClaim.objects.filter(booking=booking).first()
    holder_mobile = str(booking.holder.mobile or "")
    staff_view = not _is_holder(request, booking)
    full_mobile = ""
    reveal_problem = ""
    if request.method == "POST" and "reveal" in request.POST and staff_view and holder_mobile:
        try:
            full_mobile = audit_services.reveal_mobile(
                request.user, booking, request.POST.get("reason", ""), number=holder_mobile
            )
        except audit_services.RevealRefused:
            reveal_problem = _("Say why you need the full number.")
    audit_services.record_view(request.user, booking, ["id_masked", "mobile"], "booking.detail")
    return render(
        request,
        "booking/detail.html",
        {
            **_visit(booking),
            "staff_view": staff_view,
            "holder_mobile": full_mobile or (mask_mobile(holder_mobile) if holder_mobile else ""),
            "mobile_revealed": bool(full_mobile),
            "may_reveal": staff_view
            and bool(holder_mobile)
            and access.allows(request.user, Action.PERSONAL_DATA_REVEAL, booking),
            "reveal_problem": reveal_problem,
            "claim": claim,
            "qr": booking_qr_svg(request, booking),
            "materials": _materials(booking),
            "is_holder": _is_holder(request, booking),
            "may_change": may_change(request, booking),
            "release_minutes": release_minutes(),
            "in_rush": booking.slot.rush_id is not None,
        },
    )


@permission_required(Action.ACCOUNT_VIEW)
def mine(request: HttpRequest) -> HttpResponse:
    """My bookings as cards: the coming ones first, the past and cancelled ones folded away."""
    coming, past = services.my_visits(request.user)
    return render(
        request,
        "booking/mine.html",
        {
            "coming": coming,
            "past": past,
            "changeable": {b.pk for b in coming if services.may_change(request.user, b)},
        },
    )


@permission_required(Action.ACCOUNT_VIEW)
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    """GET: ask to confirm (the place is freed for others); POST: cancel, then show the
    booking, which says when its place returns to the pool."""
    booking = _booking_or_404(request, token)
    if request.method == "POST":
        try:
            services.cancel(request.user, booking)
        except services.BookingRefused as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The booking is cancelled."))
        return redirect("booking:detail", booking.token)
    if not may_change(request, booking):
        return _cannot_change(request, booking)
    return render(
        request,
        "booking/cancel.html",
        {**_visit(booking), "release_minutes": release_minutes()},
    )


@dataclass(frozen=True)
class Choice:
    slot: Slot
    left: int  # 余号: how many more bookings like this one fit


@dataclass(frozen=True)
class Day:
    day: date
    choices: list[Choice]


def _by_day(booking: Booking, slots: list[Slot]) -> list[Day]:
    now = timezone.now()
    claim = ledger.claim_for(booking.applicant_class, booking.minutes, now)
    grouped: dict[date, list[Choice]] = defaultdict(list)
    for slot in slots:
        grouped[timezone.localdate(slot.starts_at)].append(
            Choice(slot, ledger.places_left(slot, claim, now))
        )
    return [Day(day, found) for day, found in sorted(grouped.items())]


def _slot_id(value: object) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() else None


@permission_required(Action.ACCOUNT_VIEW)
@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, token: str) -> HttpResponse:
    """改约: the free slots of the same business at the same place over the next days
    (GET), the chosen one to confirm (GET ?slot=), the move (POST)."""
    booking = _booking_or_404(request, token)
    if not may_change(request, booking):
        return _cannot_change(request, booking)
    wanted = _slot_id(request.POST.get("slot") or request.GET.get("slot"))
    refusal = None
    if request.method == "POST" and wanted is not None:
        try:
            services.reschedule(request.user, booking, wanted)
        except services.BookingRefused as exc:
            refusal = exc
        else:
            messages.success(request, _("The booking is moved. Its booking number stays the same."))
            return redirect("booking:detail", booking.token)
    options = services.reschedule_options(booking)
    chosen = next((s for s in options if s.pk == wanted), None) if refusal is None else None
    status = 200
    if refusal is not None:
        status = 409
    elif wanted is not None and chosen is None:
        refusal = services.BookingRefused(
            "slot.unavailable", _("This time is no longer free; choose another one below.")
        )
        status = 409
    return render(
        request,
        "booking/reschedule.html",
        {
            **_visit(booking),
            "days": _by_day(booking, options),
            "chosen": chosen,
            "refusal": refusal,
            "horizon_days": settings.BOOKING_DAYS_AHEAD,
        },
        status=status,
    )


def _cannot_change(request: HttpRequest, booking: Booking) -> HttpResponse:
    """Reschedule or cancel asked of a booking that cannot change: say why, link back."""
    if not access.allows(request.user, Action.BOOKING_CHANGE, booking):
        reason = _("Only the person who booked can change this booking.")
    elif booking.status != BookingStatus.ACTIVE:
        reason = _("This booking is %(status)s and can no longer be changed.") % {
            "status": booking.get_status_display()
        }
    else:
        reason = _("This booking's time has begun; it can no longer be changed.")
    return render(
        request,
        "booking/cannot_change.html",
        {**_visit(booking), "reason": reason},
        status=409,
    )


@permission_required(Action.ACCOUNT_VIEW)
def calendar_file(request: HttpRequest, token: str) -> HttpResponse:
    """The booking as an .ics file for the phone's calendar (its holder only)."""
    booking = _booking_or_404(request, token)
    if not _is_holder(request, booking):
        raise Http404
    url = request.build_absolute_uri(reverse("booking:detail", args=[booking.token]))
    text = booking_calendar(
        booking,
        url=url,
        businesses=[item.business.name for item in booking.items.all()],
        check_in_from=services.check_in_opens(booking.slot),
    )
    response = HttpResponse(text, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="booking-{booking.number}.ics"'
    response["Cache-Control"] = "no-store"
    return response


@permission_required(Action.BOOKING_NO_SHOW)
@require_POST
def no_show(request: HttpRequest, token: str) -> HttpResponse:
    """Hall staff mark a booked citizen who did not come."""
    booking = get_object_or_404(
        Booking.objects.select_related("slot__service_point__region"), token=token
    )
    try:
        services.mark_no_show(request.user, booking)
    except services.BookingRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Marked as a no-show."))
    return redirect("booking:detail", token)
