from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import gettext as _

from trafficdesk.accounts import access
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.checkpoint.models import Checkpoint
from trafficdesk.core.actions import Action
from trafficdesk.dashboard import journeys, services
from trafficdesk.regions.models import Region, RegionLevel
from trafficdesk.regions.services import current_levels
from trafficdesk.sites.models import ServicePoint


def home(request: HttpRequest) -> HttpResponse:
    """The services a citizen starts from, the checkpoints to register at, the work of a
    staff member's role, and the province's risk mix."""
    counties = services.served_counties()
    levels = Counter(a.level for a in current_levels(counties).values())
    user: Any = request.user
    role = user.role if user.is_authenticated else ""
    return render(
        request,
        "dashboard/home.html",
        {
            "services": journeys.SERVICES,
            "work": journeys.staff_work(role) if role else (),
            "checkpoints": Checkpoint.objects.filter(active=True).order_by("code"),
            "county_count": len(counties),
            "levels": levels,
            "service_point_count": ServicePoint.objects.count(),
        },
    )


@permission_required(Action.DASHBOARD_VIEW)
def regional(request: HttpRequest) -> HttpResponse:
    """Charts for the administrator's region and its children; everything exports to Excel."""
    user: Any = request.user
    region = user.region or Region.objects.filter(level=RegionLevel.PROVINCE).first()
    code = request.GET.get("region")
    if code:
        wanted = Region.objects.filter(code=code).first()
        if wanted is not None and access.allows(user, Action.DASHBOARD_VIEW, wanted):
            region = wanted
    if region is None:
        return render(
            request,
            "403.html",
            {
                "exception": _(
                    "No regions are loaded yet; load them first (manage.py load_regions)."
                )
            },
            status=403,
        )
    data = services.dashboard_data(region)
    if request.GET.get("format") == "xlsx":
        response = HttpResponse(
            services.export_sheets(data),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="dashboard-{region.code}.xlsx"'
        return response
    children = Region.objects.filter(parent=region).order_by("code")
    data["risk_map"]["geo"] = geo_url(data["risk_map"]["province"])
    return render(
        request,
        "dashboard/regional.html",
        {
            "region": region,
            "children": children,
            "data": data,
            "labels": services.chart_labels(),
        },
    )


GEO_DIR = Path(__file__).resolve().parents[1] / "static" / "vendor" / "geo"


def geo_url(province: str) -> str | None:
    """The province's county boundaries (a static file, hashed and cached), if vendored."""
    if not (GEO_DIR / f"{province}.json").is_file():
        return None
    return static(f"vendor/geo/{province}.json")
