from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from trafficdesk.accounts.decorators import permission_required
from trafficdesk.accounts.models import STAFF_ROLES
from trafficdesk.audit.labels import summary_label
from trafficdesk.catalog.models import Business
from trafficdesk.core import localcache
from trafficdesk.core.actions import Action
from trafficdesk.core.vocabulary import CLASS_RANK, DEFAULT_CLASS, RISK_ORDER, ApplicantClass
from trafficdesk.policy import citizen, services
from trafficdesk.policy.models import DomainEvent, PolicyVersion
from trafficdesk.regions.models import Region, RegionLevel
from trafficdesk.regions.services import current_levels, regions_for
from trafficdesk.sites.models import ServicePoint

Options = list[tuple[str, list[tuple[str, str]]]]


@dataclass(frozen=True)
class _Choices:
    """What the form offers: the <option>s of counties by city and of businesses by group
    (HTML, none selected), and how many businesses are done online."""

    county_options: str
    business_options: str
    online_count: int

    def counties(self, selected: str) -> SafeString:
        return _select(self.county_options, selected)

    def businesses(self, selected: str) -> SafeString:
        return _select(self.business_options, selected)


def _options(groups: Options) -> str:
    return "".join(
        format_html(
            '<optgroup label="{}">{}</optgroup>',
            group,
            format_html_join("", '<option value="{}">{}</option>', members),
        )
        for group, members in groups
    )


def _select(options: str, code: str) -> SafeString:
    """The options with `code`'s marked selected (codes are unique; the escaped value with
    its closing quote matches that one option only)."""
    value = f'<option value="{escape(code)}">'
    return mark_safe(options.replace(value, value[:-1] + " selected>", 1) if code else options)  # noqa: S308 - built by format_html from escaped values # nosec B703, B308


_local_choices = localcache.ttl_cache(maxsize=8)


def _grouped(rows: Iterable[tuple[str, str, str]]) -> Options:
    """(group name, code, name) rows, in order, as consecutive groups (as {% regroup %})."""
    return [
        (group, [(code, name) for _g, code, name in members])
        for group, members in groupby(rows, key=itemgetter(0))
    ]


def _read_choices() -> _Choices:
    served = {
        code[:2] for code in ServicePoint.objects.values_list("region__code", flat=True).distinct()
    }
    counties = [  # the counties of the provinces that have service points
        c
        for c in Region.objects.filter(level=RegionLevel.COUNTY)
        .select_related("parent")
        .order_by("code")
        if c.code[:2] in served
    ]
    businesses = (
        Business.objects.filter(active=True)
        .filter(Q(on_site_required=True) | Q(windows__isnull=False))
        .distinct()
        .select_related("category")
        .order_by("category__code", "code")
    )
    return _Choices(
        county_options=_options(
            _grouped((c.parent.name if c.parent else "", c.code, c.name) for c in counties)
        ),
        business_options=_options(_grouped((b.category.name, b.code, b.name) for b in businesses)),
        online_count=Business.objects.filter(active=True, online=True).count(),
    )


def _choices() -> _Choices:
    """The form's choices, per language, kept for LOCAL_CACHE_SECONDS in this process (and
    dropped at once when a region, business or window changes here): every visit of the
    page offers the same ones."""
    return localcache.get_or_set(  # type: ignore[no-any-return]
        _local_choices, translation.get_language(), _read_choices
    )


@dataclass(frozen=True)
class _Row:
    """A service point of the answer as a citizen reads it (policy.citizen): the plain
    sentence of why it is closed, how an open one serves you, its distance, when it opens
    if a change is scheduled, and (for staff only) the precise rules."""

    answer: services.PointAnswer
    why: str
    note: str
    km: str
    opens: citizen.Way | None
    rules: list[Any]


def _row(a: services.PointAnswer, found: services.OpenServices) -> _Row:
    opens = (
        None
        if a.can_go_today
        else citizen.next_open_way(
            services.next_open_at(a.point, found.business, found.applicant_class)
        )
    )
    return _Row(
        a,
        citizen.plain_reason(a.decision, a.point.kind, open_windows=a.open_windows),
        citizen.open_note(a.decision),
        citizen.km_words(a.km) if a.km is not None else "",
        opens,
        [r for r in a.decision.reasons if r.rule not in citizen.STAFF_ONLY_RULES],
    )


def _rows(found: services.OpenServices | None) -> dict[str, list[_Row]]:
    if found is None:
        return {}
    return {
        "open": [_row(a, found) for a in found.open],
        "closed": [_row(a, found) for a in found.closed],
        "nearby": [_row(a, found) for a in found.nearby],
    }


def what_is_open(request: HttpRequest) -> HttpResponse:
    """Public: where a citizen can go today for a business, why other places are closed,
    and the online alternative."""
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
    partial = bool(request.headers.get("HX-Request"))
    user: Any = request.user
    choices = None if partial else _choices()
    context = {
        "county_options": choices.counties(county_code) if choices else "",
        "business_options": choices.businesses(business_code) if choices else "",
        "online_count": choices.online_count if choices else 0,
        "classes": ApplicantClass.choices,
        "county_code": county_code,
        "business_code": business_code,
        "applicant_class": applicant_class,
        "answer": answer,
        "problem": problem,
        "rows": _rows(answer),
        "online_way": citizen.online_way(answer.business) if answer else None,
        "none_near": citizen.none_near_sentence()
        if answer and not answer.open and not answer.nearby
        else "",
        "radius_km": round(services.NEARBY_RADIUS_KM),
        "query": urlencode(
            {"business": business_code, "county": county_code, "class": applicant_class}
        ),
        "show_rules": getattr(user, "role", "") in STAFF_ROLES,
    }
    template = "policy/_open_results.html" if partial else "policy/open.html"
    return render(request, template, context, status=422 if problem else 200)


#: How many recent changes the overview shows before "more".
RECENT_SHOWN = 5


@dataclass(frozen=True)
class _CountyRow:
    county: Region
    level: str
    phase: int
    effective: int


@dataclass(frozen=True)
class _CityGroup:
    """The counties of one city, folded on the page; the highest level among them first."""

    name: str
    rows: list[_CountyRow]

    @property
    def highest_level(self) -> str:
        return max((r.level for r in self.rows), key=lambda level: RISK_ORDER.get(level, -1))


def _event_summary(event: DomainEvent) -> str:
    """A change in the reader's words: the county by its name, the level in words."""
    text = summary_label(event.summary)
    region = event.region
    return text.replace(region.code, region.name) if region is not None else text


def _by_city(rows: list[_CountyRow]) -> list[_CityGroup]:
    groups: dict[str, list[_CountyRow]] = {}
    for row in sorted(rows, key=lambda r: r.county.code):
        parent = row.county.parent
        groups.setdefault(parent.name if parent else "", []).append(row)
    return [_CityGroup(name, members) for name, members in groups.items()]


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
            _CountyRow(
                county,
                level,
                phases[county.pk],
                min(phases[county.pk], policy.level_phase_cap[level]),
            )
        )
    cities = scope.filter(level=RegionLevel.CITY).order_by("code")
    ranking = [(city, points) for city in cities if (points := services.open_next(city))]
    events = [(e, _event_summary(e)) for e in DomainEvent.objects.select_related("region")[:30]]
    return render(
        request,
        "policy/overview.html",
        {
            "cities": _by_city(rows),
            "recent": events[:RECENT_SHOWN],
            "older": events[RECENT_SHOWN:],
            "ranking": ranking,
            "version": PolicyVersion.objects.first(),
            "policy_json": policy.to_json(),
        },
    )
