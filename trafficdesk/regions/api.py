from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status
from ninja.security import django_auth
from pydantic import StrictBool, StrictInt

from trafficdesk.core.problems import Problem
from trafficdesk.regions import services
from trafficdesk.regions.models import Region, RegionLevel, RiskAssessment, RiskLevel
from trafficdesk.regions.rules import (
    CaseCounts,
    ImpossibleCounts,
    code_prefix,
    suggest_risk_level,
)

router = Router(tags=["regions"])


class RegionOut(Schema):
    code: str
    name_zh: str
    name_en: str
    level: str
    parent_code: str | None

    @staticmethod
    def resolve_parent_code(obj: Region) -> str | None:
        return obj.parent.code if obj.parent is not None else None


class AssessmentOut(Schema):
    region_code: str
    level: RiskLevel
    effective_from: datetime
    reason: str
    author: str | None

    @staticmethod
    def resolve_region_code(obj: RiskAssessment) -> str:
        return obj.region.code

    @staticmethod
    def resolve_author(obj: RiskAssessment, context: Any) -> str | None:
        """Who recorded it: the username for staff only; anyone else (anonymous callers,
        citizens) sees the department, never a staff member's login name."""
        if obj.author is None:
            return None
        request = (context or {}).get("request")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not user.is_citizen:
            return obj.author.username
        return str(_("Traffic police department"))


class RegionDetailOut(RegionOut):
    current_risk: AssessmentOut | None

    @staticmethod
    def resolve_current_risk(obj: Region) -> RiskAssessment | None:
        return obj.current_risk()


class RegionFilter(Schema):
    parent: str | None = Field(None, pattern=r"^\d{6}$", description="parent region code")
    level: RegionLevel | None = None


class AssessmentIn(Schema):
    level: RiskLevel
    reason: str = Field(..., min_length=1, max_length=300)
    effective_from: datetime | None = None


class CaseCountsIn(Schema):
    total_confirmed: StrictInt = Field(..., ge=0)
    new_in_last_14_days: StrictInt = Field(..., ge=0)
    cluster_outbreak_in_last_14_days: StrictBool


class SuggestionOut(Schema):
    level: RiskLevel
    reason_zh: str
    reason_en: str


@router.get("/", response=list[RegionOut], auth=None)
def list_regions(request: HttpRequest, filters: Query[RegionFilter]) -> Any:
    queryset = Region.objects.select_related("parent")
    if filters.parent:
        queryset = queryset.filter(parent__code=filters.parent)
    if filters.level:
        queryset = queryset.filter(level=filters.level)
    return queryset


@router.get("/risk-levels", response=list[AssessmentOut], auth=None)
def current_risk_levels(
    request: HttpRequest,
    under: str = Query("52", pattern=r"^\d{2,6}$"),  # type: ignore[type-arg]
) -> Any:
    """The level in force for every county whose code starts with `under`."""
    prefix = code_prefix(under)
    counties = list(Region.objects.filter(level=RegionLevel.COUNTY, code__startswith=prefix))
    current = services.current_levels(counties)
    return [current[c.pk] for c in counties if c.pk in current]


@router.post("/risk-suggestion", response={200: SuggestionOut, 422: Problem}, auth=None)
def risk_suggestion(request: HttpRequest, payload: CaseCountsIn) -> Any:
    """SPEC R11: the 2020 criteria as a suggestion; the administrator decides. Counts that
    cannot all be true (more new cases than in total, a cluster with no new case) are a 422."""
    try:
        suggestion = suggest_risk_level(CaseCounts(**payload.dict()))
    except ImpossibleCounts as exc:
        return Status(422, {"code": exc.code, "detail": exc.message(get_language())})
    return Status(200, suggestion)


@router.get("/{code}", response={200: RegionDetailOut, 404: Problem}, auth=None)
def region_detail(request: HttpRequest, code: str) -> Any:
    return get_object_or_404(Region.objects.select_related("parent"), code=code)


@router.get("/{code}/risk", response=list[AssessmentOut], auth=None)
def risk_history(request: HttpRequest, code: str) -> Any:
    region = get_object_or_404(Region, code=code)
    return region.risk_assessments.select_related("region", "author").order_by(
        "-effective_from", "-id"
    )


@router.post(
    "/{code}/risk",
    response={201: AssessmentOut, 403: Problem, 404: Problem, 422: Problem},
    auth=django_auth,
)
def set_risk(request: HttpRequest, code: str, payload: AssessmentIn) -> Any:
    region = get_object_or_404(Region, code=code)
    try:
        assessment = services.set_risk_level(
            request.user,
            region,
            payload.level,
            reason=payload.reason,
            effective_from=payload.effective_from,
        )
    except services.InvalidRiskChange as exc:
        return Status(422, {"code": "invalid_risk_change", "detail": str(exc)})
    return Status(201, assessment)
