from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from trafficdesk.accounts import access
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.core.actions import Action
from trafficdesk.regions.services import current_levels
from trafficdesk.sites.models import ServicePoint, Window


def service_point_list(request: HttpRequest) -> HttpResponse:
    points = list(ServicePoint.objects.select_related("region", "region__parent"))
    levels = current_levels({p.region for p in points})
    rows = [(p, levels.get(p.region_id)) for p in points]
    return render(request, "sites/list.html", {"rows": rows})


@permission_required(Action.HALL_SERVE)
def my_service_point(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.service_point_id is None:
        return render(
            request, "sites/mine.html", {"problem": _("You are not assigned to a service point.")}
        )
    point = (
        ServicePoint.objects.select_related("region")
        .prefetch_related(
            "zones", Prefetch("windows", queryset=Window.objects.prefetch_related("businesses"))
        )
        .get(pk=user.service_point_id)
    )
    may_generate = access.allows(user, Action.SITE_EDIT, point)
    return render(request, "sites/mine.html", {"point": point, "may_generate": may_generate})
