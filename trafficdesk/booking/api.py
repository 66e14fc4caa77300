from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_ratelimit.core import is_ratelimited
from ninja import Field, Query, Router, Schema, Status
from ninja.security import django_auth

from trafficdesk.booking import services
from trafficdesk.booking.models import Booking, IdempotencyKey
from trafficdesk.booking.qr import booking_qr_svg
from trafficdesk.catalog.models import Business
from trafficdesk.sites.models import ServicePoint

router = Router(tags=["booking"])

ApplicantClass = Literal["EMERGENCY", "ESSENTIAL", "GREEN", "RESUMPTION", "GENERAL"]


class Problem(Schema):
    code: str
    detail: str


class AlternativeOut(Schema):
    kind: str
    label: str
    slot_id: int | None = None
    service_point: str | None = None
    starts_at: datetime | None = None


class ReasonOut(Schema):
    business: str
    rule: str
    zh: str
    en: str


class RefusalOut(Schema):
    code: str
    detail: str
    reasons: list[ReasonOut]
    alternatives: list[AlternativeOut]


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
    applicant_class: ApplicantClass = Field("GENERAL", alias="class")


class BookingIn(Schema):
    slot: int = Field(..., ge=1)
    businesses: list[str] = Field(..., min_length=1, max_length=5)
    id_number: str = Field(..., min_length=15, max_length=20)
    applicant_class: ApplicantClass = "GENERAL"


class BookingOut(Schema):
    token: str
    status: str
    service_point: str
    starts_at: datetime
    ends_at: datetime
    businesses: list[str]
    id_masked: str
    applicant_class: str
    minutes: int
    moves: int


class RescheduleIn(Schema):
    slot: int = Field(..., ge=1)


def booking_out(booking: Booking) -> dict[str, Any]:
    return {
        "token": booking.token,
        "status": booking.status,
        "service_point": booking.slot.service_point.code,
        "starts_at": booking.slot.starts_at,
        "ends_at": booking.slot.ends_at,
        "businesses": getattr(booking, "business_codes", None)
        or [item.business.code for item in booking.items.all()],
        "id_masked": booking.id_masked,
        "applicant_class": booking.applicant_class,
        "minutes": booking.minutes,
        "moves": booking.moves,
    }


def refusal_out(exc: services.BookingRefused) -> dict[str, Any]:
    return {
        "code": exc.code,
        "detail": exc.message,
        "reasons": exc.reasons,
        "alternatives": [a.__dict__ for a in exc.alternatives],
    }


@router.get("/slots", response={200: list[SlotOut], 404: Problem}, auth=None)
def slots(request: HttpRequest, query: Query[SlotQuery]) -> Any:
    """Free slots at a service point for a business, for this class of applicant."""
    point = get_object_or_404(ServicePoint, code=query.point)
    business = get_object_or_404(Business, code=query.business)
    found = services.free_slots(
        point, business.category_id, query.applicant_class, minutes=business.service_minutes
    )
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


def _request_digest(payload: BookingIn) -> str:
    return hashlib.sha256(json.dumps(payload.dict(), sort_keys=True).encode()).hexdigest()


def _replay(holder: Any, key: str, digest: str) -> Any:
    stored = IdempotencyKey.objects.filter(holder=holder, key=key).first()
    if stored is None:
        return None
    if stored.request_digest != digest:
        return Status(
            422,
            {
                "code": "idempotency.mismatch",
                "detail": _("This Idempotency-Key was used for another request."),
            },
        )
    return Status(stored.status_code, stored.response)


@router.post(
    "/bookings",
    response={201: BookingOut, 409: RefusalOut, 422: Problem, 429: Problem, 503: Problem},
    auth=django_auth,
)
def create_booking(request: HttpRequest, payload: BookingIn, response: HttpResponse) -> Any:
    """Book a slot. Send an `Idempotency-Key` header to retry safely: the same key and body
    return the first answer. 409 = refused with reasons and alternatives; 503 = busy, retry."""
    if is_ratelimited(
        request, group="booking", key="user", rate=settings.BOOKING_RATE_PER_USER, increment=True
    ):
        response["Retry-After"] = "60"
        return Status(
            429, {"code": "rate_limited", "detail": _("Too many booking requests; wait a minute.")}
        )
    key = request.headers.get("Idempotency-Key", "")[:80]
    digest = _request_digest(payload)
    if key:
        replay = _replay(request.user, key, digest)
        if replay is not None:
            return replay
    try:
        booking = services.book(
            request.user,
            payload.slot,
            payload.businesses,
            payload.id_number,
            payload.applicant_class,
        )
        status, body = 201, booking_out(booking)
    except services.BookingRefused as exc:
        status, body = 409, refusal_out(exc)
    except services.Busy:
        response["Retry-After"] = "1"
        return Status(
            503,
            {
                "code": "busy",
                "detail": _("Many people are booking this slot; try again in a moment."),
            },
        )
    if key:
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(
                    holder=request.user,  # type: ignore[misc]
                    key=key,
                    request_digest=digest,
                    status_code=status,
                    response=json.loads(json.dumps(body, default=str)),
                )
        except IntegrityError:
            return _replay(request.user, key, digest)
    return Status(status, body)


@router.get("/bookings", response=list[BookingOut], auth=django_auth)
def my_bookings(request: HttpRequest) -> Any:
    return [booking_out(b) for b in services.active_bookings_for(request.user)[:100]]


def _visible_booking(request: HttpRequest, token: str) -> Booking:
    booking = get_object_or_404(
        Booking.objects.select_related("slot__service_point__region", "holder").prefetch_related(
            "items__business"
        ),
        token=token,
    )
    user: Any = request.user
    if booking.holder_id != user.pk:
        from trafficdesk.accounts.models import Role
        from trafficdesk.accounts.services import ensure_can_act_in, require_role

        require_role(user, Role.CLERK, Role.HALL_MANAGER, Role.REGIONAL_ADMIN)
        ensure_can_act_in(user, booking.slot.service_point.region, action="booking.view")
    return booking


@router.get(
    "/bookings/{token}", response={200: BookingOut, 403: Problem, 404: Problem}, auth=django_auth
)
def booking_detail(request: HttpRequest, token: str) -> Any:
    return booking_out(_visible_booking(request, token))


@router.get(
    "/bookings/{token}/qr.svg", auth=django_auth, response={200: None, 403: Problem, 404: Problem}
)
def booking_qr(request: HttpRequest, token: str) -> HttpResponse:
    booking = _visible_booking(request, token)
    return HttpResponse(booking_qr_svg(request, booking), content_type="image/svg+xml")


@router.post(
    "/bookings/{token}/cancel",
    response={200: BookingOut, 403: Problem, 404: Problem, 409: RefusalOut},
    auth=django_auth,
)
def cancel_booking(request: HttpRequest, token: str) -> Any:
    booking = _visible_booking(request, token)
    try:
        return Status(200, booking_out(services.cancel(request.user, booking)))
    except services.BookingRefused as exc:
        return Status(409, refusal_out(exc))


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
    except services.Busy:
        return Status(503, {"code": "busy", "detail": _("Try again in a moment.")})


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


class RushApplyIn(Schema):
    id_number: str = Field(..., min_length=15, max_length=20)
    applicant_class: ApplicantClass = "GENERAL"


class RushOut(Schema):
    id: int
    service_point: str
    business: str
    opens_at: datetime
    closes_at: datetime
    status: str
    rule: str
    seed_sha256: str
    seed: str | None
    result_digest: str
    my_result: str | None


def _rush_out(rush: Any, user: Any) -> dict[str, Any]:
    from trafficdesk.booking import rush as rush_rules
    from trafficdesk.booking.models import RushRequest

    mine = (
        RushRequest.objects.filter(rush=rush, holder=user).first()
        if user.is_authenticated
        else None
    )
    allocated = rush.status == "allocated"
    return {
        "id": rush.pk,
        "service_point": rush.service_point.code,
        "business": rush.business.code,
        "opens_at": rush.opens_at,
        "closes_at": rush.closes_at,
        "status": rush.status,
        "rule": rush_rules.RULE,
        "seed_sha256": rush_rules.seed_hash(rush.seed),
        "seed": rush.seed if allocated else None,
        "result_digest": rush.result_digest,
        "my_result": None
        if mine is None
        else ("applied" if mine.won is None else ("won" if mine.won else "lost")),
    }


@router.get("/rush/{rush_id}", response={200: RushOut, 404: Problem}, auth=None)
def rush_detail(request: HttpRequest, rush_id: int) -> Any:
    """A rush window: its published rule, the seed's hash (the seed itself after the draw)."""
    from trafficdesk.booking.models import RushWindow

    rush = get_object_or_404(
        RushWindow.objects.select_related("service_point", "business"), pk=rush_id
    )
    return _rush_out(rush, request.user)


@router.post(
    "/rush/{rush_id}/apply",
    response={201: RushOut, 404: Problem, 409: RefusalOut},
    auth=django_auth,
)
def rush_apply(request: HttpRequest, rush_id: int, payload: RushApplyIn) -> Any:
    """Apply during the window; when it closes, places are allocated by the published rule."""
    from trafficdesk.booking import rush as rush_rules
    from trafficdesk.booking.models import RushWindow

    rush = get_object_or_404(
        RushWindow.objects.select_related("service_point", "business"), pk=rush_id
    )
    try:
        rush_rules.apply(request.user, rush, payload.id_number, payload.applicant_class)
    except services.BookingRefused as exc:
        return Status(409, refusal_out(exc))
    return Status(201, _rush_out(rush, request.user))
