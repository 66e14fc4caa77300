from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from trafficdesk.accounts import access
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.core.actions import Action
from trafficdesk.planning import services
from trafficdesk.planning.rules import MAX_WALK_INS, walk_ins_per_day
from trafficdesk.sites.models import ServicePoint

UNITS = ("hour", "day")


def _day(request: HttpRequest, point: ServicePoint | None) -> date:
    """The day asked for, else the point's next working day."""
    try:
        if request.GET.get("day"):
            return date.fromisoformat(request.GET["day"])
    except ValueError:
        pass
    return services.default_day(point) if point else services.local_today()


def _what_if(request: HttpRequest, point: ServicePoint | None) -> tuple[float | None, str]:
    """The expected walk-ins typed in (a total for the day), or None; and why it was refused."""
    typed = request.GET.get("walk_ins", "").strip()
    if not typed or point is None:
        return None, ""
    unit = request.GET.get("per", "hour")
    try:
        value = float(typed)
    except ValueError:
        return None, _("Type the expected walk-ins as a number, e.g. 12.")
    if not 0 <= value <= MAX_WALK_INS or unit not in UNITS:
        return None, _("Type a number of walk-ins between 0 and %(n)s.") % {"n": MAX_WALK_INS}
    return walk_ins_per_day(value, unit, services.hours_open(point)), ""


@permission_required(Action.PLAN_VIEW)
def planner(request: HttpRequest) -> HttpResponse:
    """Windows each business group needs on a day, from bookings and the walk-in forecast, or
    from the walk-ins the manager expects (a what-if)."""
    user: Any = request.user
    points = access.scope(user, ServicePoint.objects.select_related("region"), Action.PLAN_VIEW)
    wanted = request.GET.get("point", "")
    point: ServicePoint | None
    if wanted:
        point = get_object_or_404(ServicePoint.objects.select_related("region"), code=wanted)
        access.check(user, Action.PLAN_VIEW, point)
    else:
        point = points.first()
    day = _day(request, point)
    what_if, problem = _what_if(request, point)
    result = services.plan(point, day, walk_ins_per_day=what_if) if point else None
    data = services.plan_as_dict(result) if result else None
    return render(
        request,
        "planning/planner.html",
        {
            "points": points,
            "point": point,
            "day": day,
            "plan": result,
            "walk_ins": request.GET.get("walk_ins", "")[:12],
            "per": request.GET.get("per", "hour") if request.GET.get("per") in UNITS else "hour",
            "problem": problem,
            "chart": json.dumps(data, ensure_ascii=False),
        },
        status=422 if problem else 200,
    )
