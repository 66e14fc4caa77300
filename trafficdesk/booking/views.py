from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from trafficdesk.accounts.decorators import role_required
from trafficdesk.accounts.models import Role
from trafficdesk.accounts.services import can_act_in
from trafficdesk.booking import services
from trafficdesk.booking.models import Booking, Slot
from trafficdesk.booking.qr import booking_qr_svg
from trafficdesk.catalog.models import Business
from trafficdesk.policy import services as policy
from trafficdesk.policy.views import CLASS_LABELS
from trafficdesk.regions.models import Region, RegionLevel
from trafficdesk.sites.models import ServicePoint


class PersonalDataInput(forms.TextInput):
    """A text input that never echoes its value back into the page (personal data)."""

    def format_value(self, value: Any) -> None:
        return None


class BookingForm(forms.Form):
    id_number = forms.CharField(
        label=gettext_lazy("Resident ID number"),
        max_length=20,
        widget=PersonalDataInput(attrs={"autocomplete": "off"}),
    )
    extra = forms.MultipleChoiceField(
        label=gettext_lazy("Also in the same visit"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, extra_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["extra"].choices = extra_choices  # type: ignore[attr-defined]


def _citizen_only(request: HttpRequest) -> HttpResponse | None:
    user: Any = request.user
    if user.role != Role.CITIZEN:
        return render(
            request, "403.html", {"exception": _("Bookings are made by citizens.")}, status=403
        )
    return None


def choose(request: HttpRequest) -> HttpResponse:
    """Step 1-2: choose a business, a county and who you are; see open places with free slots."""
    counties = (
        Region.objects.filter(level=RegionLevel.COUNTY, service_points__isnull=False)
        .distinct()
        .select_related("parent")
    )
    businesses = Business.objects.filter(active=True, on_site_required=True).select_related(
        "category"
    )
    business_code = request.GET.get("business", "")
    county_code = request.GET.get("county", "")
    applicant_class = request.GET.get("class", "GENERAL")
    options: list[tuple[Any, list[Slot]]] = []
    answer = None
    if business_code and county_code and applicant_class in CLASS_LABELS:
        business = Business.objects.filter(code=business_code).select_related("category").first()
        county = Region.objects.filter(code=county_code).select_related("parent").first()
        if business and county:
            answer = policy.open_services(county, business, applicant_class)
            for option in answer.open + answer.nearby:
                found = services.free_slots(
                    option.point,
                    business.category_id,
                    applicant_class,
                    minutes=business.service_minutes,
                    limit=8,
                )
                options.append((option, found))
    return render(
        request,
        "booking/choose.html",
        {
            "counties": counties,
            "businesses": businesses,
            "business_code": business_code,
            "county_code": county_code,
            "applicant_class": applicant_class,
            "classes": list(CLASS_LABELS.items()),
            "options": options,
            "answer": answer,
        },
    )


@login_required
def book_slot(request: HttpRequest, slot_id: int) -> HttpResponse:
    """Step 3: confirm the slot with the ID number (and other businesses for the same visit)."""
    refused = _citizen_only(request)
    if refused:
        return refused
    slot = get_object_or_404(Slot.objects.select_related("service_point", "category"), pk=slot_id)
    business = get_object_or_404(
        Business, code=request.GET.get("business") or request.POST.get("business", "")
    )
    applicant_class = request.GET.get("class") or request.POST.get("class") or "GENERAL"
    if applicant_class not in CLASS_LABELS:
        applicant_class = "GENERAL"
    others = (
        Business.objects.filter(
            windows__service_point=slot.service_point, windows__is_open=True, on_site_required=True
        )
        .exclude(pk=business.pk)
        .distinct()
        .order_by("code")
    )
    form = BookingForm(
        request.POST or None, extra_choices=[(b.code, f"{b.code} {b.name}") for b in others]
    )
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            booking = services.book(
                request.user,
                slot.pk,
                [business.code, *form.cleaned_data["extra"]],
                form.cleaned_data["id_number"],
                applicant_class,
            )
        except services.BookingRefused as exc:
            refusal = exc
        except services.Busy:
            refusal = services.BookingRefused(
                "busy", _("Many people are booking this slot; try again in a moment.")
            )
        else:
            messages.success(request, _("Booked. Show the QR code when you arrive."))
            return redirect("booking:detail", booking.token)
    status = 409 if refusal else (422 if form.errors else 200)
    return render(
        request,
        "booking/book.html",
        {
            "slot": slot,
            "business": business,
            "form": form,
            "refusal": refusal,
            "applicant_class": applicant_class,
            "class_label": CLASS_LABELS[applicant_class],
        },
        status=status,
    )


@login_required
def detail(request: HttpRequest, token: str) -> HttpResponse:
    booking = get_object_or_404(
        Booking.objects.select_related(
            "slot__service_point__region", "slot__category", "holder"
        ).prefetch_related("items__business", "events"),
        token=token,
    )
    user: Any = request.user
    if booking.holder_id != user.pk and not (
        user.role in (Role.CLERK, Role.HALL_MANAGER, Role.REGIONAL_ADMIN)
        and can_act_in(user, booking.slot.service_point.region)
    ):
        return render(
            request, "403.html", {"exception": _("This booking is not yours.")}, status=403
        )
    return render(
        request, "booking/detail.html", {"booking": booking, "qr": booking_qr_svg(request, booking)}
    )


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    return render(
        request, "booking/mine.html", {"bookings": services.active_bookings_for(request.user)[:50]}
    )


@login_required
@require_POST
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    booking = get_object_or_404(
        Booking.objects.select_related("slot__service_point__region", "holder"), token=token
    )
    try:
        services.cancel(request.user, booking)
    except services.BookingRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The booking is cancelled."))
    return redirect("booking:mine")


@role_required(Role.CLERK, Role.HALL_MANAGER)
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


@role_required(Role.CLERK, Role.HALL_MANAGER, Role.REGIONAL_ADMIN)
def calendar(request: HttpRequest) -> HttpResponse:
    """Staff: the slot calendar of a service point for a day, and the load of every point."""
    user: Any = request.user
    points = ServicePoint.objects.select_related("region")
    if not user.is_superuser:
        own = user.region.path if user.region else "-"
        points = points.filter(Q(region__path=own) | Q(region__path__startswith=own + "/"))
    try:
        day = (
            date.fromisoformat(request.GET.get("day", ""))
            if request.GET.get("day")
            else timezone.localdate()
        )
    except ValueError:
        day = timezone.localdate()
    code = request.GET.get("point") or (user.service_point.code if user.service_point_id else "")
    point = points.filter(code=code).first() or points.first()
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
        },
    )
