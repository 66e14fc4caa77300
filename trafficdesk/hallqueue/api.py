from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.security import django_auth

from trafficdesk.catalog.models import Business
from trafficdesk.core.vocabulary import DEFAULT_CLASS, ApplicantClass
from trafficdesk.hallqueue import services
from trafficdesk.hallqueue.models import Ticket
from trafficdesk.sites.models import ServicePoint, Window

router = Router(tags=["hall queue"])


class Problem(Schema):
    code: str
    detail: str


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


@router.post(
    "/hall/{point}/check-in", response={201: TicketOut, 404: Problem, 409: Problem}, auth=None
)
def check_in(request: HttpRequest, point: str, payload: CheckInIn) -> Any:
    """Kiosk check-in with the booking's QR token (the token is the secret)."""
    found = get_object_or_404(ServicePoint, code=point)
    try:
        ticket = services.check_in_booking(found, payload.token)
    except services.QueueRefused as exc:
        return _refused(exc)
    return Status(201, ticket_out(ticket))


@router.post(
    "/hall/{point}/walk-in", response={201: TicketOut, 404: Problem, 409: Problem}, auth=None
)
def walk_in(request: HttpRequest, point: str, payload: WalkInIn) -> Any:
    """A walk-in ticket where the policy allows walk-ins."""
    found = get_object_or_404(ServicePoint.objects.select_related("region"), code=point)
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
    confirm: bool
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
