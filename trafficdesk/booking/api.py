from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.security import django_auth
from pydantic import StrictBool, StrictInt

from trafficdesk.audit import services as audit_services
from trafficdesk.booking import claims, idempotency, services
from trafficdesk.booking.answers import book_answer, booking_out, refusal_out
from trafficdesk.booking.models import Booking, PriorityClaim
from trafficdesk.booking.qr import booking_qr_svg
from trafficdesk.catalog.models import Business
from trafficdesk.core.problems import Problem
from trafficdesk.core.vocabulary import DEFAULT_CLASS, ApplicantClass
from trafficdesk.sites.models import ServicePoint

router = Router(tags=["booking"])


class AlternativeOut(Schema):
    """A way forward: another slot, an open place within a real distance (`distance_km`,
    its `phone`), the online version (`url`), the date it opens, the office's phone, or
    the booking that already holds the ID (`url`)."""

    kind: str
    label: str
    slot_id: int | None = None
    service_point: str | None = None
    starts_at: datetime | None = None
    url: str | None = None
    distance_km: float | None = None
    phone: str | None = None


class ReasonOut(Schema):
    business: str
    rule: str
    zh: str
    en: str


class RefusalOut(Problem):
    """A Problem with, for a booking or draw refusal, `reasons`: the precise rules, and
    `alternatives`: the ways forward, as the pages offer them (both empty for a refusal
    that has none, e.g. a booking already cancelled)."""

    reasons: list[ReasonOut] = Field(default_factory=list)
    alternatives: list[AlternativeOut] = Field(default_factory=list)


class SlotOut(Schema):
    id: int
    service_point: str
    category: str
    starts_at: datetime
    ends_at: datetime
    free_minutes: int


class SlotQuery(Schema):
    point: str = Field(..., min_length=1, max_length=20)
    business: str = Field(..., min_length=1, max_length=20)
    applicant_class: ApplicantClass = Field(DEFAULT_CLASS, alias="class")


class BookingIn(Schema):
    slot: StrictInt = Field(..., ge=1)
    businesses: list[str] = Field(..., min_length=1, max_length=5)
    id_number: str | None = Field(
        None,
        min_length=15,
        max_length=20,
        description="Whose booking: your bound ID number (an unbound account binds it now), a "
        "declared family member's, or on a fleet claim a driver's. Leave out to book for "
        "yourself once bound, or give `family_member`.",
    )
    family_member: StrictInt | None = Field(
        None, ge=1, description="A verified family member of yours (GET /accounts/family)."
    )
    applicant_class: ApplicantClass = DEFAULT_CLASS
    vehicle: StrictInt | None = Field(
        None, ge=1, description="Priority proof: a vehicle of a fleet you act for."
    )
    permit_number: str = Field(
        "", max_length=40, description="Priority proof: the permit or certificate number…"
    )
    evidence_base64: str = Field(
        "",
        max_length=7_000_000,
        description="…with a photo (JPEG, PNG) or PDF of it, base64-encoded (at most 5 MB).",
    )

    def proof(self) -> claims.ClaimIn | None:
        if self.vehicle is None and not self.permit_number:
            return None
        try:
            evidence = base64.b64decode(self.evidence_base64, validate=True)
        except binascii.Error:
            evidence = b""
        return claims.ClaimIn(self.vehicle, self.permit_number, evidence)


class BookingOut(Schema):
    token: str
    number: str = Field(
        "", description="The booking number (预约号): read aloud or typed at the kiosk."
    )
    status: str
    service_point: str
    starts_at: datetime
    ends_at: datetime
    businesses: list[str]
    id_masked: str
    applicant_class: str
    minutes: int
    moves: int
    claim_status: str | None = None
    claim_status_label: str | None = None


class RescheduleIn(Schema):
    slot: StrictInt = Field(..., ge=1)


@router.get("/slots", response={200: list[SlotOut], 404: Problem}, auth=None)
def slots(request: HttpRequest, query: Query[SlotQuery]) -> Any:
    """Free slots at a service point for a business that this class of applicant may book
    (the policy open to them then: the same decision as booking)."""
    point = get_object_or_404(ServicePoint.objects.select_related("region"), code=query.point)
    business = get_object_or_404(Business.objects.select_related("category"), code=query.business)
    found = services.bookable_slots(point, business, str(query.applicant_class))
    return [
        {
            "id": s.pk,
            "service_point": point.code,
            "category": business.category.code,
            "starts_at": s.starts_at,
            "ends_at": s.ends_at,
            "free_minutes": s.free_minutes,
        }
        for s in found
    ]


@router.post(
    "/bookings",
    response={201: BookingOut, 409: RefusalOut, 422: Problem, 429: Problem, 503: Problem},
    auth=django_auth,
)
def create_booking(request: HttpRequest, payload: BookingIn) -> Any:
    """Book a slot. Send an `Idempotency-Key` header to retry safely: the same key and body
    return the first answer. 409 = refused with reasons and alternatives; 429 = too many
    requests; 503 = busy, retry (both with Retry-After)."""
    answer = book_answer(
        request,
        idempotency.clean_key(request.headers.get("Idempotency-Key")),
        payload.dict(),
        lambda: services.book(
            request.user,
            payload.slot,
            payload.businesses,
            payload.id_number or "",
            payload.applicant_class,
            claim=payload.proof(),
            family_member=payload.family_member,
        ),
    )
    return Status(answer.status_code, answer.body)


@router.get("/bookings", response=list[BookingOut], auth=django_auth)
def my_bookings(request: HttpRequest) -> Any:
    return [booking_out(b) for b in services.active_bookings_for(request.user)[:100]]


def _visible_booking(request: HttpRequest, token: str) -> Booking:
    booking = services.visible_booking(request.user, token)
    if booking is None:
        raise Http404("no such booking")
    return booking


@router.get(
    "/bookings/{token}", response={200: BookingOut, 403: Problem, 404: Problem}, auth=django_auth
)
def booking_detail(request: HttpRequest, token: str) -> Any:
    booking = _visible_booking(request, token)
    audit_services.record_view(request.user, booking, ["id_masked"], "booking.api.detail")
    return booking_out(booking)


@router.get(
    "/bookings/{token}/qr.svg", auth=django_auth, response={200: None, 403: Problem, 404: Problem}
)
def booking_qr(request: HttpRequest, token: str) -> HttpResponse:
    booking = _visible_booking(request, token)
    return HttpResponse(booking_qr_svg(request, booking), content_type="image/svg+xml")


@router.post(
    "/bookings/{token}/cancel",
    response={200: BookingOut, 403: Problem, 404: Problem, 409: RefusalOut, 503: Problem},
    auth=django_auth,
)
def cancel_booking(request: HttpRequest, token: str) -> Any:
    booking = _visible_booking(request, token)
    try:
        return Status(200, booking_out(services.cancel(request.user, booking)))
    except services.BookingRefused as exc:
        return Status(409, refusal_out(exc))


@router.get(
    "/bookings/{token}/reschedule",
    response={200: list[SlotOut], 403: Problem, 404: Problem},
    auth=django_auth,
)
def reschedule_options(request: HttpRequest, token: str) -> Any:
    """The slots this booking may move to (the same business at the same place over the
    next days), as the 改约 page offers them."""
    booking = _visible_booking(request, token)
    return [
        {
            "id": s.pk,
            "service_point": booking.slot.service_point.code,
            "category": booking.slot.category.code,
            "starts_at": s.starts_at,
            "ends_at": s.ends_at,
            "free_minutes": s.free_minutes,
        }
        for s in services.reschedule_options(booking)
    ]


@router.post(
    "/bookings/{token}/reschedule",
    response={200: BookingOut, 403: Problem, 404: Problem, 409: RefusalOut, 503: Problem},
    auth=django_auth,
)
def reschedule_booking(request: HttpRequest, token: str, payload: RescheduleIn) -> Any:
    booking = _visible_booking(request, token)
    try:
        return Status(200, booking_out(services.reschedule(request.user, booking, payload.slot)))
    except services.BookingRefused as exc:
        return Status(409, refusal_out(exc))


@router.post(
    "/bookings/{token}/no-show",
    response={200: BookingOut, 403: Problem, 404: Problem, 409: RefusalOut},
    auth=django_auth,
)
def no_show(request: HttpRequest, token: str) -> Any:
    booking = _visible_booking(request, token)
    try:
        return Status(200, booking_out(services.mark_no_show(request.user, booking)))
    except services.BookingRefused as exc:
        return Status(409, refusal_out(exc))


class ClaimOut(Schema):
    id: int
    booking: str
    applicant_class: str
    kind: str
    status: str
    status_label: str
    permit_number: str
    review_due_at: datetime | None
    service_point: str
    starts_at: datetime


class ClaimReviewIn(Schema):
    accept: StrictBool
    reason: str = Field("", max_length=300)


def _claim_out(claim: PriorityClaim) -> dict[str, Any]:
    return {
        "id": claim.pk,
        "booking": claim.booking.token,
        "applicant_class": claim.applicant_class,
        "kind": claim.kind,
        "status": claim.status,
        "status_label": claim.get_status_display(),
        "permit_number": claim.permit_number,
        "review_due_at": claim.review_due_at,
        "service_point": claim.booking.slot.service_point.code,
        "starts_at": claim.booking.slot.starts_at,
    }


@router.get("/claims", response=list[ClaimOut], auth=django_auth)
def claim_queue(request: HttpRequest) -> Any:
    """Evidence waiting for the online centre, the most urgent first."""
    return [_claim_out(c) for c in claims.review_queue(request.user)[:200]]


@router.post("/claims/{claim_id}/review", response={200: ClaimOut, 409: Problem}, auth=django_auth)
def review_claim(request: HttpRequest, claim_id: int, payload: ClaimReviewIn) -> Any:
    """Accept the evidence, or downgrade the booking to the general public with the reason."""
    claim = get_object_or_404(
        PriorityClaim.objects.select_related("booking__slot__service_point__region"),
        pk=claim_id,
    )
    try:
        claim = claims.review(request.user, claim, accept=payload.accept, reason=payload.reason)
    except services.BookingRefused as refused:
        return Status(409, {"code": refused.code, "detail": refused.message})
    return _claim_out(claim)
