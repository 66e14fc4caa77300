from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.security import django_auth

from trafficdesk.audit import services as audit_services
from trafficdesk.catalog.models import Business
from trafficdesk.core.problems import Problem
from trafficdesk.enterprises.models import Enterprise
from trafficdesk.online import services
from trafficdesk.online.models import OnlineApplication
from trafficdesk.online.rules import status_label

router = Router(tags=["online business"])


class ApplicationIn(Schema):
    business: str = Field(..., min_length=1, max_length=20)
    form: dict[str, str | list[str]] = Field(
        ...,
        description="The business's fields. `reason`: a value of the business's reason "
        "picker (e.g. lost); `classes`: licence classes, a list (['A2', 'D']) or one "
        "string ('C1', 'A2,D').",
    )
    delivery_address: str = Field("", max_length=200)
    delivery_mobile: str = Field("", max_length=20)


class TrackingOut(Schema):
    at: datetime
    status: str
    location: str
    description: str


class ApplicationOut(Schema):
    reference: str
    business: str
    business_name: str
    status: str
    status_label: str
    channel: str
    note: str
    submitted_at: datetime
    sla_due_at: datetime
    carrier: str | None
    waybill: str | None
    tracking: list[TrackingOut]


def application_out(application: OnlineApplication) -> dict[str, Any]:
    shipment = getattr(application, "shipment", None)
    return {
        "reference": application.reference,
        "business": application.business.code,
        "business_name": application.business.name,
        "status": application.status,
        "status_label": status_label(application.status),
        "channel": application.channel,
        "note": application.note,
        "submitted_at": application.submitted_at,
        "sla_due_at": application.sla_due_at,
        "carrier": shipment.carrier if shipment else None,
        "waybill": shipment.waybill if shipment else None,
        "tracking": [
            {"at": e.at, "status": e.status, "location": e.location, "description": e.description}
            for e in shipment.events.all()
        ]
        if shipment
        else [],
    }


def _form_problem(exc: services.ApplicationError) -> dict[str, Any]:
    return {
        "code": "application.invalid",
        "detail": exc.message,
        "errors": exc.errors,
        "error_codes": exc.codes,
    }


@router.post("/online/applications", response={201: ApplicationOut, 422: Problem}, auth=django_auth)
def apply(request: HttpRequest, payload: ApplicationIn) -> Any:
    business = Business.objects.filter(code=payload.business).first()
    if business is None:
        return Status(
            422,
            _form_problem(
                services.ApplicationError(
                    _("There is no such business."),
                    {"business": _("Choose a business from the online catalogue.")},
                    {"business": "business.unknown"},
                )
            ),
        )
    try:
        application = services.submit(
            request.user,  # type: ignore[arg-type]
            business,
            payload.form,  # type: ignore[arg-type]
            delivery_address=payload.delivery_address,
            delivery_mobile=payload.delivery_mobile,
        )
    except services.ApplicationError as exc:
        return Status(422, _form_problem(exc))
    return Status(201, application_out(application))


@router.get("/online/applications", response=list[ApplicationOut], auth=django_auth)
def mine(request: HttpRequest) -> Any:
    found = (
        OnlineApplication.objects.filter(applicant_id=request.user.pk)
        .select_related("business")
        .order_by("-submitted_at")
    )
    return [application_out(a) for a in found[:100]]


@router.get(
    "/online/applications/{reference}",
    response={200: ApplicationOut, 404: Problem},
    auth=django_auth,
)
def detail(request: HttpRequest, reference: str) -> Any:
    application = get_object_or_404(
        OnlineApplication.objects.select_related("business"), reference=reference
    )
    if not services.visible_to(request.user, application):
        return Status(404, {"code": "not_found", "detail": _("There is no such application.")})
    audit_services.record_view(request.user, application, ["note", "tracking"], "online.api.detail")
    return Status(200, application_out(application))


@router.post(
    "/online/applications/{reference}/withdraw",
    response={200: ApplicationOut, 404: Problem, 409: Problem},
    auth=django_auth,
)
def withdraw(request: HttpRequest, reference: str) -> Any:
    """The applicant withdraws the application: before the review starts, or while more
    documents are asked for; else 409 application.step."""
    application = get_object_or_404(
        OnlineApplication.objects.select_related("business"), reference=reference
    )
    if request.user.pk != application.applicant_id:
        return Status(404, {"code": "not_found", "detail": _("There is no such application.")})
    return Status(200, application_out(services.withdraw(request.user, application)))


@router.post(
    "/carriers/{carrier}/events",
    response={200: TrackingOut, 400: Problem, 401: Problem, 404: Problem, 409: Problem},
    auth=None,
)
def carrier_event(request: HttpRequest, carrier: str) -> Any:
    """Signed carrier tracking events: headers X-Carrier-Timestamp (unix seconds) and
    X-Carrier-Signature = hex HMAC-SHA256(secret, timestamp + "." + body). Body: JSON with
    event_id, waybill, status, at, location, description. Replays are refused."""
    try:
        event = services.receive_carrier_event(
            carrier,
            request.headers.get("X-Carrier-Timestamp", ""),
            request.headers.get("X-Carrier-Signature", ""),
            request.body,
        )
    except services.WebhookRefused as exc:
        return Status(exc.status, {"code": "refused", "detail": exc.message})
    return Status(
        200,
        {
            "at": event.at,
            "status": event.status,
            "location": event.location,
            "description": event.description,
        },
    )


class FleetApplicationIn(Schema):
    business: str = Field(..., min_length=1, max_length=20)
    vehicles: list[dict[str, str]] = Field(
        ..., min_length=1, max_length=50, description="One form per vehicle, e.g. {'vin': …}."
    )
    delivery_address: str = Field("", max_length=200)
    delivery_mobile: str = Field("", max_length=20)


@router.post(
    "/enterprises/{enterprise_id}/online-applications",
    response={201: list[ApplicationOut], 404: Problem, 422: Problem},
    auth=django_auth,
)
def apply_for_fleet(request: HttpRequest, enterprise_id: int, payload: FleetApplicationIn) -> Any:
    """An agent applies for several vehicles of the enterprise at once (the enterprise is the
    owner); all or nothing, the errors name the vehicle (rows[n].field)."""
    enterprise = get_object_or_404(Enterprise, pk=enterprise_id)
    business = get_object_or_404(Business, code=payload.business)
    try:
        filed = services.submit_for_fleet(
            request.user,  # type: ignore[arg-type]
            enterprise,
            business,
            payload.vehicles,
            delivery_address=payload.delivery_address,
            delivery_mobile=payload.delivery_mobile,
        )
    except services.ApplicationError as exc:
        return Status(422, _form_problem(exc))
    return Status(201, [application_out(a) for a in filed])


@router.get(
    "/enterprises/{enterprise_id}/online-applications",
    response=list[ApplicationOut],
    auth=django_auth,
)
def fleet_applications(request: HttpRequest, enterprise_id: int) -> Any:
    """The enterprise's online applications and their mailed documents (its agents)."""
    enterprise = get_object_or_404(Enterprise, pk=enterprise_id)
    found = services.fleet_applications(request.user, enterprise)  # type: ignore[arg-type]
    return [application_out(a) for a in found.prefetch_related("shipment__events")[:200]]
