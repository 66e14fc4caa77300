from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.security import django_auth
from pydantic import StrictInt

from trafficdesk.catalog.models import Business
from trafficdesk.core.problems import Problem
from trafficdesk.core.vocabulary import DEFAULT_CLASS, ApplicantClass
from trafficdesk.policy import citizen, services
from trafficdesk.policy.rules import Decision
from trafficdesk.regions.models import Region
from trafficdesk.sites.models import ServicePoint

router = Router(tags=["policy"])


class ReasonOut(Schema):
    rule: str
    zh: str
    en: str


class DecisionOut(Schema):
    open: bool
    window_kinds: list[str]
    appointment_required: bool
    capacity_factor: float
    risk_level: str
    effective_phase: int
    online_alternative: bool
    recommend_more_windows: bool
    reasons: list[ReasonOut]


class DecisionQuery(Schema):
    point: str = Field(..., min_length=1, max_length=20, description="service point code")
    business: str = Field(..., min_length=1, max_length=20, description="business code")
    applicant_class: ApplicantClass = Field(DEFAULT_CLASS, alias="class")
    at: datetime | None = None


class PointDecisionOut(Schema):
    code: str
    name_zh: str
    name_en: str
    kind: str
    region_code: str
    address: str
    open_windows: int
    can_go_today: bool
    decision: DecisionOut
    why: str = Field("", description="Why it is closed to you, in one plain sentence.")
    distance_km: float | None = Field(None, description="Great-circle distance, if known.")
    phone: str = ""


class OpenServicesQuery(Schema):
    region: str = Field(..., pattern=r"^\d{6}$", description="county, city or province code")
    business: str = Field(..., min_length=1, max_length=20)
    applicant_class: ApplicantClass = Field(DEFAULT_CLASS, alias="class")
    at: datetime | None = None


class OpenServicesOut(Schema):
    region: str
    business: str
    applicant_class: str
    online_alternative: bool
    open: list[PointDecisionOut]
    closed: list[PointDecisionOut]
    nearby: list[PointDecisionOut]


class RankedPointOut(Schema):
    rank: int
    code: str
    name_zh: str
    ppe_complete: bool
    service_area_m2: int
    diversion_ease: int
    has_open_window: bool


class PhaseIn(Schema):
    region: str = Field(..., pattern=r"^\d{6}$")
    phase: StrictInt = Field(..., ge=0, le=3)
    reason: str = Field(..., min_length=1, max_length=300)
    effective_from: datetime | None = None


class PhaseOut(Schema):
    region: str
    phase: int
    effective_from: datetime
    reason: str


class PolicyIn(Schema):
    document: dict[str, Any]
    reason: str = Field(..., min_length=1, max_length=300)
    effective_from: datetime | None = None


class PolicyOut(Schema):
    version: int
    document: dict[str, Any]


def _decision_out(decision: Decision) -> dict[str, Any]:
    return {
        "open": decision.open,
        "window_kinds": [str(kind) for kind in decision.window_kinds],
        "appointment_required": decision.appointment_required,
        "capacity_factor": decision.capacity_factor,
        "risk_level": str(decision.risk_level),
        "effective_phase": decision.effective_phase,
        "online_alternative": decision.online_alternative,
        "recommend_more_windows": decision.recommend_more_windows,
        "reasons": [{"rule": r.rule, "zh": r.zh, "en": r.en} for r in decision.reasons],
    }


def _point_out(answer: services.PointAnswer) -> dict[str, Any]:
    point = answer.point
    return {
        "code": point.code,
        "name_zh": point.name_zh,
        "name_en": point.name_en,
        "kind": point.kind,
        "region_code": point.region.code,
        "address": point.address,
        "open_windows": answer.open_windows,
        "can_go_today": answer.can_go_today,
        "decision": _decision_out(answer.decision),
        "why": citizen.plain_reason(answer.decision, point.kind, open_windows=answer.open_windows),
        "distance_km": None if answer.km is None else round(answer.km, 1),
        "phone": point.phone,
    }


@router.get("/decisions", response={200: DecisionOut, 404: Problem}, auth=None)
def decision(request: HttpRequest, query: Query[DecisionQuery]) -> Any:
    """Is this business open at this service point for this class of applicant, and why."""
    point = get_object_or_404(ServicePoint.objects.select_related("region"), code=query.point)
    business = get_object_or_404(Business.objects.select_related("category"), code=query.business)
    return _decision_out(services.decide_for(point, business, query.applicant_class, query.at))


@router.get("/open-services", response={200: OpenServicesOut, 404: Problem}, auth=None)
def open_services(request: HttpRequest, query: Query[OpenServicesQuery]) -> Any:
    """Where to go in a region for a business, why other places are closed, and alternatives."""
    region = get_object_or_404(Region.objects.select_related("parent"), code=query.region)
    business = get_object_or_404(Business.objects.select_related("category"), code=query.business)
    answer = services.open_services(region, business, query.applicant_class, query.at)
    return {
        "region": region.code,
        "business": business.code,
        "applicant_class": str(query.applicant_class),
        "online_alternative": answer.online,
        "open": [_point_out(a) for a in answer.open],
        "closed": [_point_out(a) for a in answer.closed],
        "nearby": [_point_out(a) for a in answer.nearby],
    }


@router.get("/policy", response=PolicyOut, auth=None)
def current_policy(request: HttpRequest) -> Any:
    return {
        "version": services.current_version_id(),
        "document": services.current_policy().model_dump(mode="json"),
    }


@router.get("/policy/open-next", response={200: list[RankedPointOut], 404: Problem}, auth=None)
def open_next(request: HttpRequest, region: str = Query(..., pattern=r"^\d{6}$")) -> Any:  # type: ignore[type-arg]
    """R2: the region's service points in the order to open them."""
    found = get_object_or_404(Region, code=region)
    return [
        {
            "rank": i,
            "code": p.code,
            "name_zh": p.name_zh,
            "ppe_complete": p.ppe_complete,
            "service_area_m2": p.service_area_m2,
            "diversion_ease": p.diversion_ease,
            "has_open_window": is_open,
        }
        for i, (p, is_open) in enumerate(services.open_next(found), start=1)
    ]


@router.post(
    "/policy/phases",
    response={201: PhaseOut, 403: Problem, 404: Problem, 422: Problem},
    auth=django_auth,
)
def set_phase(request: HttpRequest, payload: PhaseIn) -> Any:
    region = get_object_or_404(Region, code=payload.region)
    try:
        setting = services.set_phase(
            request.user,
            region,
            payload.phase,
            reason=payload.reason,
            effective_from=payload.effective_from,
        )
    except services.InvalidPolicyChange as exc:
        return Status(422, {"code": "invalid_phase", "detail": str(exc)})
    return Status(
        201,
        {
            "region": region.code,
            "phase": setting.phase,
            "effective_from": setting.effective_from,
            "reason": setting.reason,
        },
    )


@router.post(
    "/policy/versions", response={201: PolicyOut, 403: Problem, 422: Problem}, auth=django_auth
)
def publish(request: HttpRequest, payload: PolicyIn) -> Any:
    try:
        version = services.publish_policy(
            request.user,
            payload.document,
            reason=payload.reason,
            effective_from=payload.effective_from,
        )
    except services.InvalidPolicyChange as exc:
        return Status(422, {"code": "invalid_policy", "detail": str(exc)})
    return Status(201, {"version": version.pk, "document": version.document})
