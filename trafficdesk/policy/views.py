from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from trafficdesk.accounts.decorators import permission_required
from trafficdesk.catalog.models import Business
from trafficdesk.core.actions import Action
from trafficdesk.core.vocabulary import CLASS_RANK, DEFAULT_CLASS, ApplicantClass
from trafficdesk.policy import services
from trafficdesk.policy.models import DomainEvent, PolicyVersion
from trafficdesk.regions.models import Region, RegionLevel
from trafficdesk.regions.services import current_levels, regions_for


def what_is_open(request: HttpRequest) -> HttpResponse:
    """Public: where a citizen can go today for a business, why other places are closed,
    and the online alternative."""
    counties = (
        Region.objects.filter(level=RegionLevel.COUNTY).select_related("parent").order_by("code")
    )
    businesses = (
        Business.objects.filter(active=True)
        .filter(Q(on_site_required=True) | Q(windows__isnull=False))
        .distinct()
        .select_related("category")
        .order_by("category__code", "code")
    )
    online_businesses = Business.objects.filter(active=True, online=True)
    county_code = request.GET.get("county", "")
    business_code = request.GET.get("business", "")
    applicant_class = request.GET.get("class", DEFAULT_CLASS)
    answer, problem = None, None
    if county_code or business_code:
        county = Region.objects.filter(code=county_code).select_related("parent").first()
        business = Business.objects.filter(code=business_code).select_related("category").first()
        if county is None:
            problem = _("Choose a county.")
        elif business is None:
            problem = _("Choose a business.")
        elif applicant_class not in CLASS_RANK:
            problem = _("Choose an applicant class.")
        else:
            answer = services.open_services(county, business, applicant_class)
    context = {
        "counties": counties,
        "businesses": businesses,
        "online_businesses": online_businesses,
        "classes": ApplicantClass.choices,
        "county_code": county_code,
        "business_code": business_code,
        "applicant_class": applicant_class,
        "answer": answer,
        "problem": problem,
    }
    template = (
        "policy/_open_results.html" if request.headers.get("HX-Request") else "policy/open.html"
    )
    return render(request, template, context, status=422 if problem else 200)


@permission_required(Action.POLICY_OVERVIEW)
def overview(request: HttpRequest) -> HttpResponse:
    """The administrator's view of phases, risk caps, the open-next ranking and recent changes."""
    scope = regions_for(request.user, Action.PHASE_SET)
    counties = list(scope.filter(level=RegionLevel.COUNTY).select_related("parent"))
    levels = current_levels(counties)
    phases = services.phases_in_force(counties)
    policy = services.current_policy()
    rows = []
    for county in counties:
        assessment = levels.get(county.pk)
        level = assessment.level if assessment else policy.unassessed_county_level
        rows.append(
            (
                county,
                level,
                phases[county.pk],
                min(phases[county.pk], policy.level_phase_cap[level]),
            )
        )
    cities = scope.filter(level=RegionLevel.CITY).order_by("code")
    ranking = [(city, points) for city in cities if (points := services.open_next(city))]
    events = DomainEvent.objects.select_related("region")[:30]
    return render(
        request,
        "policy/overview.html",
        {
            "rows": rows,
            "ranking": ranking,
            "events": events,
            "version": PolicyVersion.objects.first(),
            "policy_json": policy.to_json(),
        },
    )
