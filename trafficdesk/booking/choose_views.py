"""The citizen's booking flow, as in the 交管12123 app: business → place → date → slot →
confirm. Server-rendered pages, plain links and forms (they work without JavaScript).

The rules are elsewhere: what is open and why (policy.services, policy.citizen), how many
places a slot has left (booking.ledger.places_left), the booking itself (booking.services
through booking.answers, exactly as the API books)."""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trafficdesk.accounts import realname
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.booking import idempotency, ledger, services
from trafficdesk.booking.answers import book_answer
from trafficdesk.booking.errors import invalid_value_message
from trafficdesk.booking.models import Slot
from trafficdesk.booking.rules import over_lunch
from trafficdesk.booking.views import ProofForm, _fleet_choices
from trafficdesk.catalog.models import Business
from trafficdesk.core.actions import Action
from trafficdesk.core.validators import InvalidValue, parse_resident_id
from trafficdesk.core.vocabulary import CLASS_RANK, DEFAULT_CLASS, ApplicantClass, parse_class
from trafficdesk.policy import citizen
from trafficdesk.policy import services as policy
from trafficdesk.regions.models import Region, RegionLevel
from trafficdesk.sites.models import ServicePoint
from trafficdesk.sites.rules import is_near

DAYS_SHOWN = 7


# --- the question: business, county, who you are ----------------------------------------------


@dataclass
class Question:
    """What the citizen has chosen so far; `problem` says what is missing or wrong."""

    business: Business | None = None
    county: Region | None = None
    applicant_class: str = DEFAULT_CLASS
    problem: str = ""
    raw: dict[str, str] = field(default_factory=dict)

    @property
    def query(self) -> str:
        """The choices as a query string, for the next step's links."""
        return urlencode(
            {
                "business": self.raw.get("business", ""),
                "county": self.raw.get("county", ""),
                "class": self.applicant_class,
            }
        )


def _question(request: HttpRequest) -> Question:
    raw = {k: request.GET.get(k, "").strip()[:20] for k in ("business", "county", "class")}
    asked = Question(raw=raw)
    asked.applicant_class = raw["class"] or DEFAULT_CLASS
    asked.business = bookable().filter(code=raw["business"]).select_related("category").first()
    asked.county = (
        Region.objects.filter(code=raw["county"], level=RegionLevel.COUNTY)
        .select_related("parent")
        .first()
    )
    if asked.business is None:
        asked.problem = _("Choose a business.")
    elif asked.county is None:
        asked.problem = _("Choose the county you come from.")
    elif asked.applicant_class not in CLASS_RANK:
        asked.applicant_class = DEFAULT_CLASS
        asked.problem = _("Choose who you are.")
    return asked


def _counties() -> list[tuple[str, list[Region]]]:
    """The counties of the provinces that have service points, by city."""
    provinces = {
        code[:2] for code in ServicePoint.objects.values_list("region__code", flat=True).distinct()
    }
    grouped: dict[str, list[Region]] = defaultdict(list)
    for county in (
        Region.objects.filter(level=RegionLevel.COUNTY).select_related("parent").order_by("code")
    ):
        if county.code[:2] in provinces:
            grouped[county.parent.name if county.parent else ""].append(county)
    return list(grouped.items())


def bookable() -> QuerySet[Business]:
    """The businesses one may book a visit for: done on site, or served at a window (some
    online businesses may also be done at a window)."""
    return (
        Business.objects.filter(active=True)
        .filter(Q(on_site_required=True) | Q(windows__isnull=False))
        .distinct()
    )


def _businesses() -> list[tuple[str, list[Business]]]:
    """The bookable businesses, by category (names only, never codes)."""
    grouped: dict[str, list[Business]] = defaultdict(list)
    for business in bookable().select_related("category").order_by("category__code", "code"):
        grouped[business.category.name].append(business)
    return list(grouped.items())


def _step_one(request: HttpRequest, asked: Question, status: int = 200) -> HttpResponse:
    return render(
        request,
        "booking/choose.html",
        {
            "asked": asked,
            "counties": _counties(),
            "businesses": _businesses(),
            "classes": ApplicantClass.choices,
        },
        status=status,
    )


def choose(request: HttpRequest) -> HttpResponse:
    """Step 1: the business (by name, grouped by category), your county and who you are."""
    asked = _question(request)
    if not any(asked.raw.values()):
        asked.problem = ""
    return _step_one(request, asked)


# --- step 2: places ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceRow:
    """A place as the citizen reads it: why it is closed to them (one plain sentence), how
    an open one serves them, its distance in words, and whether it is within the radius."""

    answer: policy.PointAnswer
    why: str
    note: str
    km: str
    near: bool


def places(request: HttpRequest) -> HttpResponse:
    """Step 2: the service points offering the business, nearest first, each with its
    distance from your county and whether it is open for you now (why not, if not)."""
    asked = _question(request)
    if asked.problem or asked.business is None or asked.county is None:
        return _step_one(request, asked, status=422)
    rows = [
        PlaceRow(
            a,
            citizen.plain_reason(a.decision, a.point.kind, open_windows=a.open_windows),
            citizen.open_note(a.decision) if a.can_go_today else "",
            citizen.km_words(a.km) if a.km is not None else "",
            is_near(a.km),
        )
        for a in policy.places_for(asked.county, asked.business, asked.applicant_class)
    ]
    near_open = [r for r in rows if r.near and r.answer.can_go_today]
    online = citizen.online_way(asked.business)
    return render(
        request,
        "booking/places.html",
        {
            "asked": asked,
            "query": asked.query,
            "near": [r for r in rows if r.near],
            "far": [r for r in rows if not r.near],
            "none_near": "" if near_open else citizen.none_near_sentence(),
            "radius_km": round(policy.NEARBY_RADIUS_KM),
            "ways": [online] if online else [],
        },
    )


# --- step 3: date and slot -----------------------------------------------------------------------


@dataclass
class SlotRow:
    slot: Slot
    left: int


@dataclass
class Day:
    day: date
    status: str  # "open" (有号), "full" (约满), "closed" (不开放)
    slots: list[SlotRow]

    @property
    def label(self) -> str:
        return {
            "open": _("places left"),
            "full": _("fully booked"),
            "closed": _("not open"),
        }[self.status]


def _week(point: ServicePoint, business: Business, applicant_class: str) -> list[Day]:
    """The next DAYS_SHOWN days at the point: each day's first-come slots for this business
    with the places left for this applicant, and the day's status."""
    now = timezone.now()
    today = timezone.localdate()
    claim = ledger.claim_for(applicant_class, business.service_minutes, now)
    end = timezone.make_aware(
        datetime.combine(today + timedelta(days=DAYS_SHOWN), datetime.min.time())
    )
    by_day: dict[date, list[SlotRow]] = defaultdict(list)
    lunch = (
        (point.lunch_starts_at, point.lunch_ends_at)
        if point.lunch_starts_at and point.lunch_ends_at
        else None
    )
    for slot in Slot.objects.filter(
        ledger.FIRST_COME,
        service_point=point,
        category_id=business.category_id,
        starts_at__gt=now,
        starts_at__lt=end,
    ).order_by("starts_at"):
        starts = timezone.localtime(slot.starts_at)
        if over_lunch(starts, timezone.localtime(slot.ends_at), lunch):
            continue
        by_day[starts.date()].append(SlotRow(slot, ledger.places_left(slot, claim, now)))
    days = []
    for offset in range(DAYS_SHOWN):
        day = today + timedelta(days=offset)
        rows = by_day.get(day, [])
        if (
            rows
            and not policy.decide_for(point, business, applicant_class, rows[0].slot.starts_at).open
        ):
            rows = []
        status = "closed" if not rows else "open" if any(r.left for r in rows) else "full"
        days.append(Day(day, status, rows))
    return days


def point_days(request: HttpRequest, code: str) -> HttpResponse:
    """Step 3: a 7-day strip (有号 / 约满 / 不开放) and the chosen day's slots with the
    places left (余号). A place closed to you says why and what you can do instead."""
    point = get_object_or_404(ServicePoint.objects.select_related("region__parent"), code=code)
    asked = _question(request)
    if asked.problem or asked.business is None:
        return _step_one(request, asked, status=422)
    decision = policy.decide_for(point, asked.business, asked.applicant_class)
    days = _week(point, asked.business, asked.applicant_class)
    wanted = request.GET.get("day", "")
    chosen = next((d for d in days if d.day.isoformat() == wanted), None) or next(
        (d for d in days if d.status == "open"), days[0]
    )
    nothing = all(d.status == "closed" for d in days)
    closed = nothing or not decision.open
    origin = policy.region_point(asked.county) if asked.county else None
    return render(
        request,
        "booking/point.html",
        {
            "asked": asked,
            "query": asked.query,
            "point": point,
            "days": days,
            "chosen": chosen,
            "why": citizen.plain_reason(decision, point.kind) if not decision.open else "",
            "nothing": nothing,
            "ways": citizen.ways_forward(
                point, asked.business, asked.applicant_class, origin=origin
            )
            if closed
            else [],
        },
    )


# --- step 4: confirm -----------------------------------------------------------------------------


class BookingForm(forms.Form):
    """For whom (yourself or a verified family member, once the account is bound; else the
    ID number, kept as typed when anything is wrong) and the other businesses of the same
    visit, by name."""

    whom = forms.ChoiceField(label=gettext_lazy("For whom"), required=False)
    id_number = forms.CharField(
        label=gettext_lazy("Resident ID number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    extra = forms.MultipleChoiceField(
        label=gettext_lazy("Also in the same visit"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    idempotency_key = forms.CharField(
        required=False, max_length=idempotency.MAX_KEY_LENGTH, widget=forms.HiddenInput
    )

    def __init__(
        self,
        *args: Any,
        extra_choices: list[tuple[str, str]],
        whom_choices: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["extra"].choices = extra_choices  # type: ignore[attr-defined]
        if not extra_choices:
            del self.fields["extra"]
        if whom_choices:  # a bound account: no need to type the ID again
            self.fields["whom"].choices = whom_choices  # type: ignore[attr-defined]
            self.fields["id_number"].required = False
            self.fields["id_number"].label = gettext_lazy(
                "Or another ID number (an enterprise agent's driver)"
            )
        else:
            del self.fields["whom"]

    def family_member(self) -> int | None:
        whom = self.cleaned_data.get("whom") or ""
        if self.cleaned_data.get("id_number") or not whom.startswith("family-"):
            return None
        return int(whom.removeprefix("family-"))

    def clean_id_number(self) -> str:
        typed = str(self.cleaned_data["id_number"]).strip().upper()
        if not typed and not self.fields["id_number"].required:
            return ""
        try:
            parse_resident_id(typed)
        except InvalidValue as exc:
            raise forms.ValidationError(invalid_value_message(exc), code="invalid") from exc
        return typed


def _whom_choices(user: Any) -> list[tuple[str, str]]:
    """Yourself and your verified family members, once the account has a bound ID number
    (accounts.realname); none before (the form asks for the ID number, bound at booking)."""
    identity = realname.identity_of(user)
    if identity is None:
        return []
    return [
        ("self", _("Myself (%(masked)s)") % {"masked": identity.id_masked}),
        *(
            (
                f"family-{m.pk}",
                f"{realname.relation_label(m.relation)} {m.name_masked} ({m.id_masked})",
            )
            for m in realname.family_of(user)
        ),
    ]


def _with_it(slot: Slot, business: Business, applicant_class: str) -> list[Business]:
    """The businesses that may be added to this visit: served at an open window of the
    point and open to this applicant at the slot's time."""
    found = (
        Business.objects.filter(
            windows__service_point=slot.service_point,
            windows__is_open=True,
            active=True,
        )
        .exclude(pk=business.pk)
        .select_related("category")
        .distinct()
        .order_by("category__code", "code")
    )
    return [
        b
        for b in found
        if policy.decide_for(slot.service_point, b, applicant_class, slot.starts_at).open
    ]


@permission_required(Action.BOOK)
def book_slot(request: HttpRequest, slot_id: int) -> HttpResponse:
    """Step 4: confirm the slot with the ID number (and other businesses for the same visit,
    by name). The form carries a retry key, so a double submit books once (as the API's
    Idempotency-Key), and the same per-user rate limit applies. Whatever is refused,
    everything typed is shown again."""
    slot = get_object_or_404(
        Slot.objects.select_related("service_point__region", "category"), pk=slot_id
    )
    business = get_object_or_404(
        Business.objects.select_related("category"),
        code=request.GET.get("business") or request.POST.get("business", ""),
    )
    applicant_class = parse_class(request.GET.get("class") or request.POST.get("class"))
    county = (request.GET.get("county") or request.POST.get("county", ""))[:6]
    others = _with_it(slot, business, applicant_class)
    form = BookingForm(
        request.POST or None,
        initial={"idempotency_key": secrets.token_urlsafe(24)},
        extra_choices=[(b.code, b.name) for b in others],
        whom_choices=_whom_choices(request.user),
    )
    proof_form = (
        None
        if applicant_class == DEFAULT_CLASS
        else ProofForm(
            request.POST or None, request.FILES or None, vehicles=_fleet_choices(request.user)
        )
    )
    refusal = None
    status = 200
    if (
        request.method == "POST"
        and form.is_valid()
        and (proof_form is None or proof_form.is_valid())
    ):
        codes = [business.code, *form.cleaned_data.get("extra", [])]
        proof = proof_form.proof() if proof_form is not None else None
        try:
            answer = book_answer(
                request,
                idempotency.clean_key(form.cleaned_data["idempotency_key"]),
                {
                    "slot": slot.pk,
                    "businesses": codes,
                    "id_number": form.cleaned_data["id_number"],
                    "family_member": form.family_member(),
                    "applicant_class": applicant_class,
                    "vehicle": proof.vehicle_id if proof else None,
                    "permit_number": proof.permit_number if proof else "",
                },
                lambda: services.book(
                    request.user,
                    slot.pk,
                    codes,
                    form.cleaned_data["id_number"],
                    applicant_class,
                    claim=proof,
                    family_member=form.family_member(),
                ),
            )
        except idempotency.KeyReused as exc:
            refusal, status = services.BookingRefused(exc.code, exc.message), exc.status
        else:
            if answer.status_code == 201:
                messages.success(request, _("Booked. Show the QR code when you arrive."))
                return redirect("booking:detail", answer.body["token"])
            refusal, status = (
                services.BookingRefused(
                    answer.body["code"], answer.body["detail"], answer.body.get("reasons")
                ),
                409,
            )
            refusal.alternatives = [services.Alternative(**a) for a in answer.body["alternatives"]]
            refusal.field = answer.body.get("field", "")
    if form.errors or (proof_form is not None and proof_form.errors):
        status = 422
    if form.is_bound:
        # a corrected request is a new request: the form shown again gets a new retry key
        data = request.POST.copy()
        data["idempotency_key"] = secrets.token_urlsafe(24)
        form.data = data
    query = urlencode({"business": business.code, "class": applicant_class, "county": county})
    return render(
        request,
        "booking/book.html",
        {
            "slot": slot,
            "business": business,
            "form": form,
            "proof_form": proof_form,
            "refusal": refusal,
            "applicant_class": applicant_class,
            "class_label": ApplicantClass(applicant_class).label,
            "county": county,
            "query": query,
            "left": ledger.places_left(
                slot, ledger.claim_for(applicant_class, business.service_minutes), timezone.now()
            ),
        },
        status=status,
    )
