from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from trafficdesk.accounts import access
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.booking import claims, rush, services
from trafficdesk.booking.models import Booking, PriorityClaim, Slot
from trafficdesk.catalog.models import Business
from trafficdesk.core import clock, live, uploads
from trafficdesk.core.actions import Action
from trafficdesk.core.validators import InvalidValue, parse_licence_classes
from trafficdesk.core.vocabulary import ApplicantClass
from trafficdesk.enterprises import services as enterprises
from trafficdesk.enterprises.models import Enterprise
from trafficdesk.sites.models import ServicePoint


class PersonalDataInput(forms.TextInput):
    """A text input that never echoes its value back into the page (personal data)."""

    def format_value(self, value: Any) -> None:
        return None


class ProofForm(forms.Form):
    """The proof of a priority class: a vehicle of a fleet you act for, or a permit number
    with a photo of it (booking.claims)."""

    vehicle = forms.TypedChoiceField(
        label=gettext_lazy("A vehicle of your enterprise's fleet"),
        required=False,
        coerce=int,
        empty_value=None,
    )
    permit_number = forms.CharField(
        label=gettext_lazy("or the permit or certificate number"), required=False, max_length=40
    )
    evidence = forms.FileField(label=gettext_lazy("and a photo or PDF of it"), required=False)

    def __init__(self, *args: Any, vehicles: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vehicle"].choices = [("", "—"), *vehicles]  # type: ignore[attr-defined]
        if not vehicles:
            del self.fields["vehicle"]

    def proof(self) -> claims.ClaimIn:
        data = self.cleaned_data
        upload = data.get("evidence")
        content = upload.read(uploads.MAX_DOCUMENT_BYTES + 1) if upload else b""
        return claims.ClaimIn(data.get("vehicle"), data.get("permit_number", ""), content)


def _fleet_choices(user: Any) -> list[tuple[int, str]]:
    return [
        (v.pk, f"{v.plate} · {v.enterprise.name}")
        for v in enterprises.vehicles_of(user).select_related("enterprise")
    ]


@permission_required(Action.BOOKING_CALENDAR)
def calendar(request: HttpRequest) -> HttpResponse:
    """Staff: the slot calendar of a service point for a day, and the load of every point."""
    user: Any = request.user
    points = services.calendar_points(user)
    try:
        day = (
            date.fromisoformat(request.GET.get("day", ""))
            if request.GET.get("day")
            else timezone.localdate()
        )
    except ValueError:
        day = timezone.localdate()
    wanted = request.GET.get("point", "")
    point: ServicePoint | None
    if wanted:
        point = get_object_or_404(ServicePoint.objects.select_related("region"), code=wanted)
        access.check(user, Action.BOOKING_CALENDAR, point)
    else:
        point = points.filter(pk=user.service_point_id).first() or points.first()
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    end = start + timedelta(days=1)
    grid: dict[str, list[Slot]] = defaultdict(list)
    if point is not None:
        for slot in Slot.objects.filter(
            service_point=point, starts_at__gte=start, starts_at__lt=end
        ).select_related("category"):
            grid[slot.category.name].append(slot)
    load = (
        Slot.objects.filter(service_point__in=points, starts_at__gte=start, starts_at__lt=end)
        .values("service_point__code", "service_point__name_zh")
        .annotate(
            booked=Sum("booked_minutes"),
            capacity=Sum("capacity_minutes"),
            people=Sum("booked_people"),
        )
        .order_by("service_point__code")
    )
    return render(
        request,
        "booking/calendar.html",
        {
            "points": points,
            "point": point,
            "day": day,
            "grid": dict(grid),
            "load": load,
            "previous": day - timedelta(days=1),
            "next": day + timedelta(days=1),
            "may_open_rush": point is not None and access.allows(user, Action.RUSH_OPEN, point),
            "rush_classes": ApplicantClass.choices,
            "rush_businesses": Business.objects.filter(
                windows__service_point=point, on_site_required=True
            )
            .distinct()
            .order_by("code")
            if point is not None
            else [],
        },
    )


async def rush_events(request: HttpRequest, rush_id: int) -> HttpResponseBase:
    """Server-sent events: a rush's live counter (applications, places, status) as it
    changes. Read once a second per server process for all its viewers; no write per viewer."""
    if await sync_to_async(rush.counts)(rush_id) is None:
        raise Http404
    return live.sse_response(
        live.sse_watch(f"rush:{rush_id}", lambda: rush.counts(rush_id), "counts")
    )


@permission_required(Action.CLAIM_REVIEW)
def claim_queue(request: HttpRequest) -> HttpResponse:
    """The online centre: evidence of priority claims, the most urgent first; accept it, or
    serve the booking as general public with the reason (the holder is told by SMS)."""
    if request.method == "POST":
        claim = get_object_or_404(
            PriorityClaim.objects.select_related("booking__slot__service_point__region"),
            pk=request.POST.get("claim"),
        )
        try:
            claims.review(
                request.user,
                claim,
                accept=request.POST.get("accept") == "1",
                reason=request.POST.get("reason", ""),
            )
        except services.BookingRefused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, _("Saved."))
        return redirect("booking:claims")
    return render(
        request,
        "booking/claims.html",
        {"claims": claims.review_queue(request.user)[:200], "now": timezone.now()},
    )


@permission_required(Action.CLAIM_REVIEW)
def claim_evidence(request: HttpRequest, claim_id: int) -> HttpResponse:
    """The photo or PDF of a claim's permit, for the staff who review it."""
    claim = get_object_or_404(
        PriorityClaim.objects.select_related("booking__slot__service_point__region"), pk=claim_id
    )
    access.check(request.user, Action.CLAIM_REVIEW, claim)
    if not claim.evidence:
        raise Http404("no evidence")
    with claim.evidence.open("rb") as stored:
        content = stored.read()
    response = HttpResponse(content, content_type=claim.evidence_type)
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "no-store"
    return response


@permission_required(Action.ENTERPRISE_REGISTER)
def fleet_bookings(request: HttpRequest, enterprise_id: int) -> HttpResponse:
    """The priority bookings made for an enterprise's fleet, for its agents."""
    enterprise = get_object_or_404(Enterprise, pk=enterprise_id)
    access.check(request.user, Action.ENTERPRISE_ACT, enterprise)
    bookings = (
        Booking.objects.filter(claim__enterprise=enterprise)
        .select_related("slot__service_point", "claim__vehicle")
        .order_by("-slot__starts_at")[:200]
    )
    return render(request, "booking/fleet.html", {"enterprise": enterprise, "bookings": bookings})


@permission_required(Action.RUSH_OPEN)
@require_POST
def rush_open(request: HttpRequest) -> HttpResponse:
    """From the slot calendar: open a rush over every free slot of a business group at the
    point between two days; the allocation runs by itself when the window closes."""
    point = get_object_or_404(
        ServicePoint.objects.select_related("region"), code=request.POST.get("point", "")
    )
    access.check(request.user, Action.RUSH_OPEN, point)
    back = f"{reverse('booking:calendar')}?point={point.code}"
    business = Business.objects.filter(code=request.POST.get("business", "")).first()
    try:
        first = date.fromisoformat(request.POST.get("first_day", ""))
        last = date.fromisoformat(request.POST.get("last_day", ""))
        opens = datetime.fromisoformat(request.POST.get("opens_at", ""))
        closes = datetime.fromisoformat(request.POST.get("closes_at", ""))
    except ValueError:
        messages.error(request, _("Give the days and the application window."))
        return redirect(back)
    if business is None:
        messages.error(request, _("Choose a business."))
        return redirect(back)
    try:
        licences = (
            parse_licence_classes(request.POST["licence_classes"])
            if request.POST.get("licence_classes", "").strip()
            else ()
        )
        hours = int(request.POST.get("offer_hours") or 24)
    except (InvalidValue, ValueError):
        messages.error(
            request,
            _(
                "Give the licence classes as letters and digits, e.g. C1 C2, and the hours as a number."
            ),
        )
        return redirect(back)
    try:
        window = rush.open_rush(
            request.user,
            service_point=point,
            business=business,
            opens_at=clock.moment(opens),
            closes_at=clock.moment(closes),
            slots=rush.slots_for(point, business, first_day=first, last_day=last),
            applicant_classes=request.POST.getlist("applicant_classes"),
            licence_classes=licences,
            offer_hours=hours,
        )
    except services.BookingRefused as refused:
        messages.error(request, refused.message)
        return redirect(back)
    messages.success(
        request,
        _("The draw is open; its seed's SHA-256 is %(hash)s. It runs when the window closes.")
        % {"hash": rush.seed_hash(window.seed)},
    )
    return redirect("booking:rush", rush_id=window.pk)


@permission_required(Action.HALL_SERVE)
@require_POST
def make_my_point_slots(request: HttpRequest) -> HttpResponse:
    """The "make the bookable slots now" button of the staff's service point page (refused,
    403, without SITE_EDIT on that point)."""
    user: Any = request.user
    point = get_object_or_404(
        ServicePoint.objects.select_related("region"), pk=user.service_point_id
    )
    made = services.generate_slots_now(user, point)
    messages.success(
        request,
        _("The bookable slots of the coming %(days)d days are made: %(n)d slots.")
        % {"days": settings.BOOKING_DAYS_AHEAD, "n": made},
    )
    return redirect("sites:mine")
