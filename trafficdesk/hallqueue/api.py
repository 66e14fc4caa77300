from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.security import django_auth
from pydantic import StrictBool

from trafficdesk.accounts import access
from trafficdesk.catalog.models import Business
from trafficdesk.core.actions import Action
from trafficdesk.core.problems import Problem
from trafficdesk.core.vocabulary import DEFAULT_CLASS, ApplicantClass
from trafficdesk.hallqueue import kiosk_http, services
from trafficdesk.hallqueue.models import KioskDevice, Ticket
from trafficdesk.sites.models import ServicePoint, Window

router = Router(tags=["hall queue"])


class TicketOut(Schema):
    id: int
    label: str
    status: str
    business: str
    applicant_class: str
    zone: str
    window: int | None
    arrived_at: datetime
    called_at: datetime | None


class CheckInIn(Schema):
    token: str = Field(..., min_length=10, max_length=60)


class WalkInIn(Schema):
    business: str = Field(..., min_length=1, max_length=20)
    applicant_class: ApplicantClass = DEFAULT_CLASS


class TransferIn(Schema):
    business: str = Field(..., min_length=1, max_length=20)


class MetricsOut(Schema):
    tickets: int
    waiting: int
    outside: int
    served: int
    wait_avg_min: float | None
    wait_p90_min: float | None
    service_avg_min: float | None
    service_p90_min: float | None
    waiting_by_class: dict[str, int]


def ticket_out(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.pk,
        "label": ticket.label,
        "status": ticket.status,
        "business": ticket.business.code,
        "applicant_class": str(ticket.applicant_class),
        "zone": ticket.zone.name_zh,
        "window": ticket.window.number if ticket.window_id and ticket.window else None,
        "arrived_at": ticket.arrived_at,
        "called_at": ticket.called_at,
    }


def _refused(exc: services.QueueRefused) -> Any:
    return Status(409, {"code": exc.code, "detail": exc.message})


def _ticket(ticket_id: int) -> Ticket:
    ticket = services.ticket_for_staff(ticket_id)
    if ticket is None:
        raise Http404(_("There is no such ticket."))
    return ticket


#: What the kiosk routes answer besides the ticket: 403 when the request comes from no
#: registered kiosk of the hall (nor its staff), 429 when the kiosk is over its rate.
KIOSK_RESPONSES: dict[int, Any] = {403: Problem, 404: Problem, 409: Problem, 429: Problem}


@router.post(
    "/hall/{point}/check-in",
    response={201: TicketOut, **KIOSK_RESPONSES},
    auth=None,
)
def check_in(request: HttpRequest, point: str, payload: CheckInIn) -> Any:
    """Check in with the booking's QR token, from a registered kiosk of the hall (its cookie,
    set when the kiosk was paired) or by the hall's staff; same-site JSON only."""
    found = get_object_or_404(ServicePoint, code=point)
    kiosk_http.authorise_api(request, found)
    try:
        ticket = services.check_in_booking(found, payload.token)
    except services.QueueRefused as exc:
        return _refused(exc)
    return Status(201, ticket_out(ticket))


@router.post(
    "/hall/{point}/walk-in",
    response={201: TicketOut, **KIOSK_RESPONSES},
    auth=None,
)
def walk_in(request: HttpRequest, point: str, payload: WalkInIn) -> Any:
    """A walk-in ticket where the policy allows walk-ins, from a registered kiosk of the hall
    or by the hall's staff (as check-in); each kiosk is held to KIOSK_RATE_PER_DEVICE."""
    found = get_object_or_404(ServicePoint.objects.select_related("region"), code=point)
    kiosk_http.authorise_api(request, found)
    business = get_object_or_404(Business.objects.select_related("category"), code=payload.business)
    try:
        ticket = services.walk_in(found, business, str(payload.applicant_class))
    except services.QueueRefused as exc:
        return _refused(exc)
    return Status(201, ticket_out(ticket))


@router.post(
    "/hall/windows/{window_id}/call-next",
    response={200: TicketOut, 204: None, 403: Problem, 404: Problem, 409: Problem},
    auth=django_auth,
)
def call_next(request: HttpRequest, window_id: int) -> Any:
    """Claim the next ticket for this window (204 when nobody is waiting for it)."""
    try:
        ticket = services.call_next(request.user, window_id)
    except services.QueueRefused as exc:
        if exc.code == "window.unknown":
            return Status(404, {"code": exc.code, "detail": exc.message})
        return _refused(exc)
    if ticket is None:
        return Status(204, None)
    return Status(200, ticket_out(ticket))


@router.get(
    "/hall/windows/{window_id}/current",
    response={200: TicketOut, 204: None, 403: Problem, 404: Problem},
    auth=django_auth,
)
def current(request: HttpRequest, window_id: int) -> Any:
    """The ticket this window has called and not finished: a console that lost the answer to
    call-next picks it up here instead of calling again."""
    window = get_object_or_404(Window.objects.select_related("service_point__region"), pk=window_id)
    ticket = services.current_ticket(request.user, window)
    return Status(204, None) if ticket is None else Status(200, ticket_out(ticket))


def _act(request: HttpRequest, ticket_id: int, action: Any, *args: Any) -> Any:
    ticket = _ticket(ticket_id)
    try:
        return Status(200, ticket_out(action(request.user, ticket, *args)))
    except services.QueueRefused as exc:
        return _refused(exc)


@router.post(
    "/hall/tickets/{ticket_id}/recall",
    response={200: TicketOut, 403: Problem, 404: Problem, 409: Problem},
    auth=django_auth,
)
def recall(request: HttpRequest, ticket_id: int) -> Any:
    return _act(request, ticket_id, services.recall)


@router.post(
    "/hall/tickets/{ticket_id}/complete",
    response={200: TicketOut, 403: Problem, 404: Problem, 409: Problem},
    auth=django_auth,
)
def complete(request: HttpRequest, ticket_id: int) -> Any:
    return _act(request, ticket_id, services.complete)


@router.post(
    "/hall/tickets/{ticket_id}/skip",
    response={200: TicketOut, 403: Problem, 404: Problem, 409: Problem},
    auth=django_auth,
)
def skip(request: HttpRequest, ticket_id: int) -> Any:
    return _act(request, ticket_id, services.skip)


@router.post(
    "/hall/tickets/{ticket_id}/transfer",
    response={200: TicketOut, 403: Problem, 404: Problem, 409: Problem},
    auth=django_auth,
)
def transfer(request: HttpRequest, ticket_id: int, payload: TransferIn) -> Any:
    business = get_object_or_404(Business, code=payload.business)
    return _act(request, ticket_id, services.transfer, business)


class ClaimDecisionIn(Schema):
    confirm: StrictBool
    reason: str = Field("", max_length=300)


@router.post(
    "/hall/tickets/{ticket_id}/claim",
    response={200: TicketOut, 403: Problem, 404: Problem, 409: Problem},
    auth=django_auth,
)
def verify_claim(request: HttpRequest, ticket_id: int, payload: ClaimDecisionIn) -> Any:
    """Confirm the ticket's priority claim after seeing the proof, or downgrade it to the
    general public with the reason (the holder is told by SMS; the booking keeps its slot
    only if general capacity allows it)."""
    return _act(
        request,
        ticket_id,
        lambda actor, ticket: services.verify_claim(
            actor, ticket, confirm=payload.confirm, reason=payload.reason
        ),
    )


@router.get("/hall/{point}/metrics", response={200: MetricsOut, 404: Problem}, auth=None)
def hall_metrics(request: HttpRequest, point: str) -> Any:
    """Today's waits and service times (averages and 90th percentiles) and the queue by class."""
    return services.metrics(get_object_or_404(ServicePoint, code=point)).__dict__


class KioskIn(Schema):
    name: str = Field(..., min_length=1, max_length=services.KIOSK_NAME_MAX)


class KioskOut(Schema):
    id: int
    name: str
    paired: bool
    active: bool
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None


class KioskRegisteredOut(KioskOut):
    pair_url: str = Field(
        ..., description="The one-time pairing link to open on the kiosk; it is shown only once."
    )


def kiosk_out(device: KioskDevice) -> dict[str, Any]:
    return {
        "id": device.pk,
        "name": device.name,
        "paired": device.paired_at is not None,
        "active": device.revoked_at is None,
        "created_at": device.created_at,
        "last_seen_at": device.last_seen_at,
        "revoked_at": device.revoked_at,
    }


def _managed_point(request: HttpRequest, point: str) -> ServicePoint:
    found = get_object_or_404(ServicePoint.objects.select_related("region"), code=point)
    access.check(request.user, Action.KIOSK_MANAGE, found)
    return found


@router.get(
    "/hall/{point}/kiosks",
    response={200: list[KioskOut], 403: Problem, 404: Problem},
    auth=django_auth,
)
def list_kiosks(request: HttpRequest, point: str) -> Any:
    """The hall's kiosks (its hall manager, or a regional administrator over it)."""
    return [kiosk_out(d) for d in services.kiosks_of(_managed_point(request, point))]


@router.post(
    "/hall/{point}/kiosks",
    response={201: KioskRegisteredOut, 403: Problem, 404: Problem, 422: Problem},
    auth=django_auth,
)
def register_kiosk(request: HttpRequest, point: str, payload: KioskIn) -> Any:
    """Register a kiosk: the answer holds its one-time pairing link, shown only this once."""
    found = _managed_point(request, point)
    device, code = services.register_kiosk(request.user, found, payload.name)
    pair = reverse("hallqueue:kiosk-pair", args=[found.code])
    url = request.build_absolute_uri(f"{pair}?{urlencode({'code': code})}")
    return Status(201, {**kiosk_out(device), "pair_url": url})


@router.post(
    "/hall/kiosks/{kiosk_id}/revoke",
    response={200: KioskOut, 403: Problem, 404: Problem},
    auth=django_auth,
)
def revoke_kiosk(request: HttpRequest, kiosk_id: int) -> Any:
    """Switch a kiosk off: it issues no more tickets."""
    device = get_object_or_404(
        KioskDevice.objects.select_related("service_point__region"), pk=kiosk_id
    )
    return Status(200, kiosk_out(services.revoke_kiosk(request.user, device)))
