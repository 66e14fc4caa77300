from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.security import django_auth

from trafficdesk.accounts import access
from trafficdesk.core.actions import Action
from trafficdesk.planning import services
from trafficdesk.sites.models import ServicePoint

router = Router(tags=["planning"])


class Problem(Schema):
    code: str
    detail: str


class PlanQuery(Schema):
    day: date | None = None
    target_minutes: float = 15
    target_share: float = 0.9


@router.get(
    "/planning/{point}",
    response={200: dict[str, Any], 403: Problem, 404: Problem, 422: Problem},
    auth=django_auth,
)
def plan(request: HttpRequest, point: str, query: Query[PlanQuery]) -> Any:
    """Windows each business group needs for the target, e.g. 90% wait under 15 minutes."""
    access.check(request.user, Action.PLAN_VIEW)
    found = get_object_or_404(ServicePoint.objects.select_related("region"), code=point)
    access.check(request.user, Action.PLAN_VIEW, found)
    if not (0 < query.target_share < 1 and 0 < query.target_minutes <= 240):
        return Status(
            422, {"code": "target", "detail": "target_share in (0,1), target_minutes in (0,240]"}
        )
    result = services.plan(
        found,
        query.day or timezone.localdate(),
        target_minutes=query.target_minutes,
        target_share=query.target_share,
    )
    return Status(200, services.plan_as_dict(result))
