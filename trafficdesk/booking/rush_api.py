"""The draw (rush) API: administrators open, change and allocate draws; citizens apply and
answer waiting-list offers; anyone reads a draw and its published record."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.security import django_auth
from pydantic import StrictInt

from trafficdesk.booking import rush
from trafficdesk.booking.answers import booking_out
from trafficdesk.booking.api import BookingOut, Problem, RefusalOut
from trafficdesk.booking.models import RushOffer, RushRequest, RushStatus, RushWindow
from trafficdesk.catalog.models import Business
from trafficdesk.core import clock
from trafficdesk.core.vocabulary import DEFAULT_CLASS, ApplicantClass
from trafficdesk.sites.models import ServicePoint

router = Router(tags=["rush"])


class OfferOut(Schema):
    id: int
    status: str
    slot_starts_at: datetime
    expires_at: datetime


class MineOut(Schema):
    application: int
    id_masked: str
    result: str = Field(..., description="applied, won, waiting or left_out")
    waiting_position: int | None
    booking: str | None = Field(None, description="the booking's token, once won")
    offer: OfferOut | None


class RushOut(Schema):
    id: int
    service_point: str
    service_point_name: str
    business: str
    business_name: str
    opens_at: datetime
    closes_at: datetime
    status: str
    rule: str
    seed_sha256: str
    seed: str | None
    result_digest: str
    applications: int
    places: int
    applicant_classes: list[str]
    licence_classes: list[str]
    offer_hours: int
    mine: MineOut | None
    my_result: str | None = Field(None, description="the same as mine.result")


def _mine(window: RushWindow, user: Any) -> dict[str, Any] | None:
    if not user.is_authenticated:
        return None
    request = (
        RushRequest.objects.filter(rush=window, holder=user)
        .select_related("booking", "offer__slot")
        .order_by("id")
        .first()
    )
    if request is None:
        return None
    booking = getattr(request, "booking", None)
    offer = getattr(request, "offer", None)
    if request.won is None:
        result = "applied"
    elif request.won:
        result = "won"
    else:
        result = "waiting" if request.draw_rank is not None else "left_out"
    return {
        "application": request.pk,
        "id_masked": request.id_masked,
        "result": result,
        "waiting_position": rush.waiting_position(request),
        "booking": booking.token if booking is not None else None,
        "offer": None
        if offer is None
        else {
            "id": offer.pk,
            "status": offer.status,
            "slot_starts_at": offer.slot.starts_at,
            "expires_at": offer.expires_at,
        },
    }


def rush_out(window: RushWindow, user: Any) -> dict[str, Any]:
    counted = rush.counts(window.pk) or {"applications": 0, "places": 0}
    mine = _mine(window, user)
    return {
        "id": window.pk,
        "service_point": window.service_point.code,
        "service_point_name": window.service_point.name,
        "business": window.business.code,
        "business_name": window.business.name,
        "opens_at": window.opens_at,
        "closes_at": window.closes_at,
        "status": window.status,
        "rule": rush.RULE,
        "seed_sha256": rush.seed_hash(window.seed),
        "seed": window.seed if window.status == RushStatus.ALLOCATED else None,
        "result_digest": window.result_digest,
        "applications": counted["applications"],
        "places": counted["places"],
        "applicant_classes": list(window.applicant_classes),
        "licence_classes": list(window.licence_classes),
        "offer_hours": window.offer_hours,
        "mine": mine,
        "my_result": None if mine is None else mine["result"],
    }


def _window(rush_id: int) -> RushWindow:
    return get_object_or_404(
        RushWindow.objects.select_related("service_point__region", "business"), pk=rush_id
    )


class SlotsIn(Schema):
    slots: list[StrictInt] = Field(default_factory=list, max_length=5000)
    slots_from: date | None = Field(None, description="…or every free slot from this day…")
    slots_until: date | None = Field(None, description="…to this day (e.g. next week).")


class RushOpenIn(SlotsIn):
    point: str = Field(..., min_length=1, max_length=20)
    business: str = Field(..., min_length=1, max_length=20)
    opens_at: datetime
    closes_at: datetime
    applicant_classes: list[ApplicantClass] = Field(
        default_factory=list, max_length=10, description="who may apply (none: every class)"
    )
    licence_classes: list[str] = Field(
        default_factory=list, max_length=20, description="for exams: the licence classes examined"
    )
    offer_hours: StrictInt | None = Field(None, ge=1, le=168)


class RushApplyIn(Schema):
    id_number: str = Field(..., min_length=15, max_length=20)
    applicant_class: ApplicantClass = DEFAULT_CLASS
    licence_class: str = Field("", max_length=4)
    vehicle: StrictInt | None = Field(
        None, description="the fleet vehicle proving a priority class"
    )


@router.get("/rush", response=list[RushOut], auth=None)
def rush_list(request: HttpRequest, status: RushStatus | None = None) -> Any:
    """Draws, the most recent first (`status=open`: those taking applications)."""
    windows = RushWindow.objects.select_related("service_point", "business").order_by("-closes_at")
    if status is not None:
        windows = windows.filter(status=status)
    return [rush_out(w, request.user) for w in windows[:100]]


@router.post(
    "/rush",
    response={201: RushOut, 403: Problem, 404: Problem, 409: RefusalOut},
    auth=django_auth,
)
def rush_open(request: HttpRequest, payload: RushOpenIn) -> Any:
    """Open a draw (administrators and hall managers of the region): the slots leave
    first-come booking at once; the seed's SHA-256 is published now and the seed after the
    draw, which the worker runs when the window closes."""
    point = get_object_or_404(ServicePoint.objects.select_related("region"), code=payload.point)
    business = get_object_or_404(Business, code=payload.business)
    window = rush.open_rush(
        request.user,
        service_point=point,
        business=business,
        opens_at=clock.moment(payload.opens_at),
        closes_at=clock.moment(payload.closes_at),
        slots=rush.slots_for(
            point,
            business,
            ids=payload.slots,
            first_day=payload.slots_from,
            last_day=payload.slots_until,
        ),
        applicant_classes=[str(c) for c in payload.applicant_classes],
        licence_classes=[c.strip().upper() for c in payload.licence_classes],
        offer_hours=payload.offer_hours,
    )
    return Status(201, rush_out(_window(window.pk), request.user))


@router.get("/rush/{rush_id}", response={200: RushOut, 404: Problem}, auth=None)
def rush_detail(request: HttpRequest, rush_id: int) -> Any:
    """A draw: its rule, eligibility, live counts, the seed's hash (the seed itself after the
    draw) and, for a signed-in applicant, their own application and outcome."""
    return rush_out(_window(rush_id), request.user)


@router.get("/rush/{rush_id}/draw.json", response={200: dict[str, Any], 404: Problem}, auth=None)
def rush_record(request: HttpRequest, rush_id: int) -> Any:
    """The published record (docs/rush-draw.md): re-derive the allocation from it with
    `manage.py verify_draw` or the few lines of standard-library Python given there."""
    return rush.draw_record(_window(rush_id))


@router.post(
    "/rush/{rush_id}/slots",
    response={200: RushOut, 403: Problem, 404: Problem, 409: RefusalOut},
    auth=django_auth,
)
def rush_add_slots(request: HttpRequest, rush_id: int, payload: SlotsIn) -> Any:
    """Add places to a draw that is still taking applications (audited)."""
    window = _window(rush_id)
    rush.add_slots(
        request.user,
        window,
        rush.slots_for(
            window.service_point,
            window.business,
            ids=payload.slots,
            first_day=payload.slots_from,
            last_day=payload.slots_until,
        ),
    )
    return rush_out(window, request.user)


@router.delete(
    "/rush/{rush_id}",
    response={204: None, 403: Problem, 404: Problem, 409: RefusalOut},
    auth=django_auth,
)
def rush_withdraw(request: HttpRequest, rush_id: int) -> Any:
    """Withdraw a draw nobody has applied to; its slots return to first-come booking."""
    window = _window(rush_id)
    rush.withdraw(request.user, window)
    return HttpResponse(status=204)


@router.post(
    "/rush/{rush_id}/allocate",
    response={200: RushOut, 403: Problem, 404: Problem, 409: RefusalOut},
    auth=django_auth,
)
def rush_allocate(request: HttpRequest, rush_id: int) -> Any:
    """Allocate a closed draw now instead of waiting for the worker (nothing happens twice)."""
    rush.allocate_now(request.user, _window(rush_id))
    return rush_out(_window(rush_id), request.user)


@router.post(
    "/rush/{rush_id}/apply",
    response={201: RushOut, 404: Problem, 409: RefusalOut},
    auth=django_auth,
)
def rush_apply(request: HttpRequest, rush_id: int, payload: RushApplyIn) -> Any:
    """Apply during the window; when it closes, places are allocated by the published rule."""
    window = _window(rush_id)
    rush.apply(
        request.user,
        window,
        payload.id_number,
        payload.applicant_class,
        licence_class=payload.licence_class,
        vehicle_id=payload.vehicle,
    )
    return Status(201, rush_out(window, request.user))


def _offer(offer_id: int) -> RushOffer:
    return get_object_or_404(RushOffer.objects.select_related("request__rush", "slot"), pk=offer_id)


@router.post(
    "/rush/offers/{offer_id}/accept",
    response={201: BookingOut, 403: Problem, 404: Problem, 409: RefusalOut},
    auth=django_auth,
)
def offer_accept(request: HttpRequest, offer_id: int) -> Any:
    """Take the place offered from the waiting list, before the offer ends."""
    booking = rush.accept_offer(request.user, _offer(offer_id))
    return Status(201, booking_out(booking))


@router.post(
    "/rush/offers/{offer_id}/decline",
    response={204: None, 403: Problem, 404: Problem, 409: RefusalOut},
    auth=django_auth,
)
def offer_decline(request: HttpRequest, offer_id: int) -> Any:
    """Let the offered place pass to the next on the waiting list."""
    rush.decline_offer(request.user, _offer(offer_id))
    return HttpResponse(status=204)
