"""The draw's pages: the list of draws, one draw (apply, live count, outcome, waiting-list
offer, published record), and the administrator's changes. Thin: rush.py decides."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from trafficdesk.accounts import access
from trafficdesk.accounts.decorators import login_url_for, permission_required
from trafficdesk.booking import rush
from trafficdesk.booking.errors import BookingRefused
from trafficdesk.booking.models import RushOffer, RushStatus, RushWindow
from trafficdesk.booking.rush_api import rush_out
from trafficdesk.booking.views import PersonalDataInput, _fleet_choices
from trafficdesk.core.actions import Action
from trafficdesk.core.locking import Busy
from trafficdesk.core.vocabulary import DEFAULT_CLASS, ApplicantClass, OfferStatus


class ApplyForm(forms.Form):
    id_number = forms.CharField(
        label=gettext_lazy("Resident ID number"),
        max_length=20,
        widget=PersonalDataInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    applicant_class = forms.ChoiceField(label=gettext_lazy("Applying as"), required=False)
    licence_class = forms.ChoiceField(label=gettext_lazy("Licence class examined"), required=False)
    fields: dict[str, Any]
    vehicle = forms.TypedChoiceField(
        label=gettext_lazy("Fleet vehicle proving the priority class"),
        required=False,
        coerce=int,
        empty_value=None,
    )

    def __init__(self, *args: Any, window: RushWindow, vehicles: list[tuple[int, str]], **kw: Any):
        super().__init__(*args, **kw)
        classes = window.applicant_classes or [DEFAULT_CLASS]
        if vehicles and not window.applicant_classes:
            classes = [c.value for c in ApplicantClass]
        self.fields["applicant_class"].choices = [(c, ApplicantClass(c).label) for c in classes]
        if len(classes) == 1:
            self.fields["applicant_class"].widget = forms.HiddenInput()
            self.fields["applicant_class"].initial = classes[0]
        if window.licence_classes:
            self.fields["licence_class"].choices = [(c, c) for c in window.licence_classes]
            self.fields["licence_class"].required = True
        else:
            del self.fields["licence_class"]
        if vehicles:
            self.fields["vehicle"].choices = [("", "—"), *vehicles]
        else:
            del self.fields["vehicle"]


def rush_list(request: HttpRequest) -> HttpResponse:
    """Draws taking applications, then the latest results."""
    windows = RushWindow.objects.select_related("service_point", "business").order_by("closes_at")
    return render(
        request,
        "booking/rush_list.html",
        {
            "open": windows.filter(status=RushStatus.OPEN)[:50],
            "done": windows.filter(status=RushStatus.ALLOCATED).order_by("-allocated_at")[:20],
        },
    )


def rush_page(request: HttpRequest, rush_id: int) -> HttpResponse:
    """One draw, on a phone: its rule, window, places and live count of applications; the
    form to apply while it is open; after the draw the seed, the record to check it, and the
    applicant's own outcome and any offer from the waiting list."""
    window = get_object_or_404(
        RushWindow.objects.select_related("service_point__region", "business"), pk=rush_id
    )
    user = request.user
    citizen = user.is_authenticated and access.allows(user, Action.RUSH_APPLY)
    vehicles = _fleet_choices(user) if citizen else []
    form = ApplyForm(request.POST or None, window=window, vehicles=vehicles) if citizen else None
    refusal: BookingRefused | None = None
    status = 200
    if request.method == "POST":
        if form is None:
            return redirect_to_login(request.get_full_path(), login_url_for(Action.RUSH_APPLY))
        if form.is_valid():
            try:
                rush.apply(
                    user,
                    window,
                    form.cleaned_data["id_number"],
                    form.cleaned_data.get("applicant_class") or DEFAULT_CLASS,
                    licence_class=form.cleaned_data.get("licence_class") or "",
                    vehicle_id=form.cleaned_data.get("vehicle"),
                )
            except BookingRefused as exc:
                refusal, status = exc, 409
            except Busy as exc:
                messages.error(request, str(exc))
                status = 503
            else:
                messages.success(request, _("Applied. The result is sent by SMS after the draw."))
                return redirect("booking:rush", rush_id=window.pk)
        else:
            status = 400
    now = timezone.now()
    data = rush_out(window, user)
    mine = data["mine"]
    return render(
        request,
        "booking/rush.html",
        {
            "rush": window,
            "data": data,
            "mine": mine,
            "offer": _pending_offer(user, window),
            "form": form,
            "refusal": refusal,
            "taking": window.status == RushStatus.OPEN
            and window.opens_at <= now < window.closes_at,
            "not_yet": window.status == RushStatus.OPEN and now < window.opens_at,
            "may_change": user.is_authenticated and access.allows(user, Action.RUSH_CHANGE, window),
            "class_labels": [ApplicantClass(c).label for c in window.applicant_classes],
        },
        status=status,
    )


def _pending_offer(user: Any, window: RushWindow) -> RushOffer | None:
    if not user.is_authenticated:
        return None
    return (
        RushOffer.objects.filter(
            request__rush=window, request__holder=user, status=OfferStatus.PENDING
        )
        .select_related("slot")
        .first()
    )


@permission_required(Action.RUSH_APPLY)
@require_POST
def answer_offer(request: HttpRequest, offer_id: int) -> HttpResponse:
    """Accept or let pass the place the waiting list offers."""
    offer = get_object_or_404(
        RushOffer.objects.select_related("request__rush", "slot"), pk=offer_id
    )
    back = redirect("booking:rush", rush_id=offer.request.rush_id)
    try:
        if request.POST.get("accept") == "1":
            booking = rush.accept_offer(request.user, offer)
            messages.success(request, _("Booked. Bring your ID card at the time shown."))
            return redirect("booking:detail", token=booking.token)
        rush.decline_offer(request.user, offer)
        messages.success(request, _("The place goes to the next on the waiting list."))
    except (BookingRefused, Busy) as exc:
        messages.error(request, str(exc))
    return back


def rush_record(request: HttpRequest, rush_id: int) -> HttpResponse:
    """The published record as a file to download (docs/rush-draw.md)."""
    window = get_object_or_404(
        RushWindow.objects.select_related("service_point", "business"), pk=rush_id
    )
    response = HttpResponse(
        json.dumps(rush.draw_record(window), ensure_ascii=False, separators=(",", ":")),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="draw-{window.pk}.json"'
    return response


@permission_required(Action.RUSH_CHANGE)
@require_POST
def rush_change(request: HttpRequest, rush_id: int) -> HttpResponse:
    """The administrator's changes: add the free slots of some days, allocate a closed draw
    now, or withdraw a draw nobody has applied to."""
    window = get_object_or_404(
        RushWindow.objects.select_related("service_point__region", "business"), pk=rush_id
    )
    what = request.POST.get("do", "")
    try:
        if what == "add":
            first = date.fromisoformat(request.POST.get("first_day", ""))
            last = date.fromisoformat(request.POST.get("last_day", ""))
            slots = rush.slots_for(
                window.service_point, window.business, first_day=first, last_day=last
            )
            rush.add_slots(request.user, window, slots)
            messages.success(request, _("%(n)d slots added to the draw.") % {"n": len(slots)})
        elif what == "allocate":
            outcome = rush.allocate_now(request.user, window)
            messages.success(
                request, _("Allocated: %(won)d places given.") % {"won": outcome["won"]}
            )
        elif what == "withdraw":
            rush.withdraw(request.user, window)
            messages.success(
                request, _("The draw is withdrawn; its slots are booked first come again.")
            )
            return redirect("booking:rush-list")
        else:
            messages.error(request, _("Choose what to change."))
    except ValueError:
        messages.error(request, _("Give the days whose free slots join the draw."))
    except (BookingRefused, Busy) as exc:
        messages.error(request, str(exc))
    return redirect("booking:rush", rush_id=window.pk)
