from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from ninja.security import django_auth

from trafficdesk.accounts import access
from trafficdesk.core.actions import Action
from trafficdesk.core.problems import Problem
from trafficdesk.planning import services
from trafficdesk.planning.rules import MAX_WALK_INS, walk_ins_per_day
from trafficdesk.sites.models import ServicePoint

router = Router(tags=["planning"])


class PlanQuery(Schema):
    day: date | None = None
    target_minutes: float = 15
    target_share: float = 0.9
    walk_ins_per_hour: float | None = None
    """What if this many walk-ins came each opening hour (replaces the forecast)."""
    walk_ins_per_day: float | None = None
    """What if this many walk-ins came over the day (replaces the forecast)."""


@router.get(
    "/planning/{point}",
    response={200: dict[str, Any], 403: Problem, 404: Problem, 422: Problem},
    auth=django_auth,
)
def plan(request: HttpRequest, point: str, query: Query[PlanQuery]) -> Any:
    """Windows each business group needs for the target, e.g. 90% wait under 15 minutes. The
    day defaults to the point's next working day; walk_ins_per_hour or walk_ins_per_day is a
    what-if that replaces the walk-in forecast."""
    access.check(request.user, Action.PLAN_VIEW)
    found = get_object_or_404(ServicePoint.objects.select_related("region"), code=point)
    access.check(request.user, Action.PLAN_VIEW, found)
    if not (0 < query.target_share < 1 and 0 < query.target_minutes <= 240):
        return Status(
            422, {"code": "target", "detail": "target_share in (0,1), target_minutes in (0,240]"}
        )
    what_if = _what_if(found, query)
    if isinstance(what_if, str):
        return Status(422, {"code": "walk_ins", "detail": what_if})
    result = services.plan(
        found,
        query.day or services.default_day(found),
        target_minutes=query.target_minutes,
        target_share=query.target_share,
        walk_ins_per_day=what_if,
    )
    return Status(200, services.plan_as_dict(result))


def _what_if(point: ServicePoint, query: PlanQuery) -> float | str | None:
    """The what-if as walk-ins for the day, None without one, or what is wrong with it."""
    given = [
        (value, unit)
        for value, unit in ((query.walk_ins_per_hour, "hour"), (query.walk_ins_per_day, "day"))
        if value is not None
    ]
    if not given:
        return None
    if len(given) > 1:
        return "give walk_ins_per_hour or walk_ins_per_day, not both"
    value, unit = given[0]
    if not 0 <= value <= MAX_WALK_INS:
        return f"walk-ins in [0, {MAX_WALK_INS}]"
    return walk_ins_per_day(value, unit, services.hours_open(point))
