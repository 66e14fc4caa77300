"""Checkpoint registration over the API: the same service and the same refusals as the page
(/c/<code>/), for a traveller from any county of China."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import get_language
from ninja import Field, Router, Schema, Status
from pydantic import StrictInt

from trafficdesk.checkpoint import services
from trafficdesk.checkpoint.models import Checkpoint, Registration
from trafficdesk.checkpoint.rules import flag_texts
from trafficdesk.core import ratelimits
from trafficdesk.core.problems import Problem

router = Router(tags=["checkpoints"])


class RegistrationIn(Schema):
    """Answers as the form has them. Values are checked by the service, so that the API
    refuses exactly what the page refuses, with the same codes."""

    name: str = Field("", max_length=200)
    id_number: str = Field("", max_length=40)
    mobile: str = Field("", max_length=40)
    plate: str = Field("", max_length=20, description="whole plate, e.g. 京A12345")
    plate_prefix: str = Field(
        "", max_length=2, description="the plate's province abbreviation, if `plate` lacks it"
    )
    origin: str = Field(
        "", max_length=12, description="GB/T 2260 code of the county (district) of origin"
    )
    origin_province: str = Field(
        "", max_length=12, description="optional: the province chosen; must contain `origin`"
    )
    origin_city: str = Field(
        "", max_length=12, description="optional: the city chosen; must contain `origin`"
    )
    destination: str = Field("", max_length=200)
    passengers: StrictInt | str = Field(0, description="passengers besides the driver, 0 to 60")


class OriginOut(Schema):
    code: str
    name: str


class FlagOut(Schema):
    code: str
    detail: str


class RegistrationOut(Schema):
    token: str
    receipt_url: str
    checkpoint: str
    registered_at: datetime
    name: str = Field(..., description="masked")
    id_number: str = Field(..., description="masked")
    mobile: str = Field(..., description="masked")
    plate: str = Field(..., description="masked")
    origin: OriginOut
    destination: str
    passengers: int
    flagged: bool
    out_of_province: bool
    from_risk_area: bool
    flags: list[FlagOut]


def registration_out(registration: Registration) -> dict[str, Any]:
    row = services.masked_row(registration)
    texts = flag_texts(registration.flag_reasons, get_language() or "zh-hans")
    return {
        "token": registration.token,
        "receipt_url": reverse("receipt", args=[registration.checkpoint.code, registration.token]),
        "checkpoint": registration.checkpoint.name,
        "registered_at": registration.created_at,
        "name": row["name"],
        "id_number": row["id"],
        "mobile": row["mobile"],
        "plate": row["plate"],
        "origin": {"code": registration.origin.code, "name": row["origin"]},
        "destination": registration.destination,
        "passengers": registration.passengers,
        "flagged": registration.flagged,
        "out_of_province": registration.out_of_province,
        "from_risk_area": registration.from_risk_area,
        "flags": [
            {"code": code, "detail": text}
            for (code, _zh, _en), text in zip(registration.flag_reasons, texts, strict=True)
        ],
    }


@router.post(
    "/{code}/registrations",
    response={201: RegistrationOut, 404: Problem, 422: Problem, 429: Problem},
    auth=None,
)
def register(request: HttpRequest, code: str, payload: RegistrationIn) -> Any:
    """A traveller registers at a checkpoint (no login, as at the QR code). The origin is any
    county of China; a 422 names each field to correct with its code and reason."""
    checkpoint = get_object_or_404(
        Checkpoint.objects.select_related("region"), code=code, active=True
    )
    ratelimits.check_checkpoint_registration(request)
    try:
        registration = services.register(checkpoint, payload.dict(), get_language() or "zh-hans")
    except services.RegistrationInvalid as exc:
        return Status(
            422,
            {
                "code": exc.code,
                "detail": exc.message,
                "errors": dict(exc.errors),
                "error_codes": {name: exc.codes.get(name, "invalid") for name in exc.errors},
            },
        )
    registration = Registration.objects.select_related("checkpoint", "origin__parent__parent").get(
        pk=registration.pk
    )
    return Status(201, registration_out(registration))
