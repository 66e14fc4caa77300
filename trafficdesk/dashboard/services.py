"""Figures for the regional dashboard: a region and the regions inside it."""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from trafficdesk.booking.models import PriorityClaim, RushOffer, RushStatus, RushWindow, Slot
from trafficdesk.booking.rush import counts as rush_counts
from trafficdesk.checkpoint.models import Registration
from trafficdesk.core.spreadsheets import make_workbook_safe
from trafficdesk.core.vocabulary import (
    HOLDING_STATUSES,
    ApplicantClass,
    ClaimStatus,
    OfferStatus,
    RiskLevel,
    ServicePointKind,
)
from trafficdesk.hallqueue.models import Ticket, TicketStatus
from trafficdesk.online.models import OnlineApplication, Shipment, ShipmentStatus
from trafficdesk.online.rules import Status
from trafficdesk.regions.models import Region, RegionLevel, RiskAssessment
from trafficdesk.regions.services import current_levels
from trafficdesk.sites.models import ServicePoint, Window


def served_counties() -> list[Region]:
    """The counties of the provinces that have service points (the divisions of all China are
    loaded, for the checkpoint's origins; the home page speaks of the province served)."""
    provinces = {code[:2] for code in ServicePoint.objects.values_list("region__code", flat=True)}
    query = Q()
    for prefix in provinces:
        query |= Q(code__startswith=prefix)
    if not provinces:
        return []
    return list(Region.objects.filter(query, level=RegionLevel.COUNTY))


def dashboard_data(region: Region) -> dict[str, Any]:
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today, time.min))
    counties = list(
        Region.objects.filter(
            region.subtree_q("parent") | Q(pk=region.pk), level=RegionLevel.COUNTY
        ).select_related("parent")
    )
    counties = [c for c in counties if region.contains(c)]
    levels = current_levels(counties)
    risk_by_city: dict[str, Counter[str]] = {}
    for county in counties:
        city = (
            county.parent.name_zh
            if county.parent and county.parent.level == RegionLevel.CITY
            else county.name_zh
        )
        level = levels[county.pk].level if county.pk in levels else UNASSESSED
        risk_by_city.setdefault(city, Counter())[level] += 1
    points = list(ServicePoint.objects.filter(region.subtree_q("region")).select_related("region"))
    open_windows = dict(
        Window.objects.filter(service_point__in=points, is_open=True)
        .values_list("service_point_id")
        .annotate(n=Count("id"))
    )
    all_windows = dict(
        Window.objects.filter(service_point__in=points)
        .values_list("service_point_id")
        .annotate(n=Count("id"))
    )
    slots = {
        row["service_point_id"]: row
        for row in Slot.objects.filter(
            service_point__in=points, starts_at__gte=start, starts_at__lt=start + timedelta(days=1)
        )
        .values("service_point_id")
        .annotate(booked=Sum("booked_people"), capacity=Sum("capacity_people"))
    }
    queues = {
        row["service_point_id"]: row["n"]
        for row in Ticket.objects.filter(
            service_point__in=points,
            day=today,
            status__in=[TicketStatus.WAITING, TicketStatus.OUTSIDE],
        )
        .values("service_point_id")
        .annotate(n=Count("id"))
    }
    waits: dict[int, list[float]] = {}
    for point_id, arrived, called in Ticket.objects.filter(
        service_point__in=points, day=today, called_at__isnull=False
    ).values_list("service_point_id", "arrived_at", "called_at"):
        if called is not None:
            waits.setdefault(point_id, []).append((called - arrived).total_seconds() / 60)
    applications = OnlineApplication.objects.filter(region.subtree_q("region"))
    online = dict(applications.values_list("status").annotate(n=Count("id")))
    shipments = dict(
        Shipment.objects.filter(application__in=applications)
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return {
        "region": {"code": region.code, "name": region.name_zh},
        "risk_by_city": {city: dict(counts) for city, counts in sorted(risk_by_city.items())},
        "risk_map": risk_map(region, counties, levels),
        "points": [
            {
                "code": p.code,
                "name": p.name_zh,
                "kind": p.kind,
                "windows_open": open_windows.get(p.pk, 0),
                "windows": all_windows.get(p.pk, 0),
                "open": open_windows.get(p.pk, 0) > 0,
                "booked_today": (slots.get(p.pk) or {}).get("booked") or 0,
                "capacity_today": (slots.get(p.pk) or {}).get("capacity") or 0,
                "queue": queues.get(p.pk, 0),
                "mean_wait_min": round(sum(waits[p.pk]) / len(waits[p.pk]), 1)
                if waits.get(p.pk)
                else None,
            }
            for p in points
        ],
        "online_by_status": online,
        "shipments_by_status": shipments,
        "arrivals_by_origin": arrivals_by_origin(region, start),
        **priority_use(points, start),
        "rushes": rush_use(points, start),
    }


def arrivals_by_origin(region: Region, start: datetime) -> dict[str, int]:
    """Today's checkpoint arrivals by origin: counties of the region's province by name, other
    provinces by the province's name (never a code)."""
    provinces = dict(
        Region.objects.filter(level=RegionLevel.PROVINCE).values_list("code", "name_zh")
    )
    arrivals: Counter[str] = Counter()
    for code, name, parent in Registration.objects.filter(
        region.subtree_q("checkpoint__region"), created_at__gte=start
    ).values_list("origin__code", "origin__name_zh", "origin__parent__name_zh"):
        if code[:2] == region.code[:2]:
            arrivals[f"{parent or ''}{name}"] += 1
        else:
            arrivals[provinces.get(f"{code[:2]}0000", str(_("another province")))] += 1
    return dict(arrivals.most_common(20))


def risk_map(
    region: Region, counties: list[Region], levels: dict[int, RiskAssessment]
) -> dict[str, Any]:
    """What the province map needs: which boundary file (the province's code), which part of
    it to draw (the region), and each assessed county's level and since when, keyed by its
    GB/T 2260 code. Counties without an assessment are left out (drawn as "no data")."""
    assessed = {}
    for county in counties:
        assessment = levels.get(county.pk)
        if assessment is not None:
            assessed[county.code] = {
                "level": assessment.level,
                "since": timezone.localtime(assessment.effective_from).strftime("%Y-%m-%d %H:%M"),
            }
    return {
        "province": f"{region.code[:2]}0000",
        "scope": region.code,
        "scope_level": region.level,
        "counties": assessed,
    }


def rush_use(points: list[ServicePoint], start: datetime) -> list[dict[str, Any]]:
    """Draws taking applications or allocated in the last 30 days: applications per place,
    and how the waiting list moved (places offered, accepted, let pass, lapsed)."""
    windows = (
        RushWindow.objects.filter(service_point__in=points)
        .filter(Q(status=RushStatus.OPEN) | Q(allocated_at__gte=start - timedelta(days=30)))
        .select_related("service_point", "business")
        .annotate(applications=Count("requests"))
        .order_by("-closes_at")[:20]
    )
    rows = []
    for window in windows:
        offers = dict(
            RushOffer.objects.filter(request__rush=window)
            .values_list("status")
            .annotate(n=Count("id"))
        )
        places = (
            sum(seats for _slot, seats in window.places)
            if window.status == RushStatus.ALLOCATED
            else (rush_counts(window.pk) or {}).get("places", 0)
        )
        rows.append(
            {
                "id": window.pk,
                "business": window.business.name_zh,
                "service_point": window.service_point.name_zh,
                "status": str(window.get_status_display()),
                "closes_at": timezone.localtime(window.closes_at).strftime("%Y-%m-%d %H:%M"),
                "applications": window.applications,
                "places": places,
                "per_place": round(window.applications / places, 1) if places else None,
                "offered": sum(offers.values()),
                "accepted": offers.get(OfferStatus.ACCEPTED, 0),
                "declined": offers.get(OfferStatus.DECLINED, 0),
                "expired": offers.get(OfferStatus.EXPIRED, 0),
            }
        )
    return rows


def priority_use(points: list[ServicePoint], start: datetime) -> dict[str, Any]:
    """Who uses the priority classes from today on: held bookings by the class claimed and by
    enterprise (labels and names, never codes), and how many claims were not proven."""
    claims = PriorityClaim.objects.filter(
        booking__slot__service_point__in=points, booking__slot__starts_at__gte=start
    )
    held = claims.filter(booking__status__in=HOLDING_STATUSES).exclude(
        status=ClaimStatus.DOWNGRADED
    )
    labels = dict(ApplicantClass.choices)
    by_class = {
        str(labels[code]): n
        for code, n in held.values_list("applicant_class").annotate(n=Count("id")).order_by("-n")
    }
    by_enterprise = dict(
        held.filter(enterprise__isnull=False)
        .values_list("enterprise__name")
        .annotate(n=Count("id"))
        .order_by("-n")[:20]
    )
    return {
        "priority_by_class": by_class,
        "priority_by_enterprise": by_enterprise,
        "priority_not_proven": claims.filter(status=ClaimStatus.DOWNGRADED).count(),
    }


UNASSESSED = "UNASSESSED"


def _risk_names() -> dict[str, str]:
    names = {str(level.value): str(level.label) for level in RiskLevel}
    names[UNASSESSED] = str(_("not assessed"))
    return names


def chart_labels() -> dict[str, Any]:
    """What the charts write on a canvas, in the reader's language (codes stay in the data)."""
    return {
        "levels": _risk_names(),
        "online": {str(s.value): str(s.label) for s in Status},
        "shipments": {str(s.value): str(s.label) for s in ShipmentStatus},
        "series": {
            "open": str(_("windows open")),
            "all": str(_("all windows")),
            "booked": str(_("booked")),
            "capacity": str(_("capacity")),
            "used": str(_("share of capacity booked")),
            "queue": str(_("waiting")),
            "wait": str(_("mean wait (minutes)")),
            "online": str(_("online applications")),
            "shipments": str(_("shipments")),
            "arrivals": str(_("arrivals today")),
        },
        "axes": {
            "counties": str(_("counties")),
            "windows": str(_("windows")),
            "used": str(_("per cent of capacity booked")),
            "people": str(_("people waiting")),
            "minutes": str(_("minutes")),
            "arrivals": str(_("arrivals")),
        },
        "map": {
            "name": str(_("Risk levels on the map")),
            "no_data": str(_("No data")),
            "since": str(_("since %(when)s")),
            "back": str(_("Back to the province")),
            "open_city": str(_("Show this prefecture's figures")),
        },
        "empty": str(_("No data")),
        "loading": str(_("Loading…")),
    }


def _yes_no(value: bool) -> str:
    return str(_("yes") if value else _("no"))


def export_sheets(data: dict[str, Any]) -> bytes:
    """All of the dashboard in one Excel workbook, a sheet per figure, with headers and values
    in the reader's language (labels, never codes)."""
    from openpyxl import Workbook  # local import: heavy, and only exports need it

    labels = chart_labels()
    kinds = dict(ServicePointKind.choices)
    levels = [str(RiskLevel.LOW), str(RiskLevel.MEDIUM), str(RiskLevel.HIGH), UNASSESSED]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = str(_("Risk levels"))
    sheet.append([str(_("city"))] + [labels["levels"][k] for k in levels])
    for city, counts in data["risk_by_city"].items():
        sheet.append([city] + [counts.get(k, 0) for k in levels])
    points = book.create_sheet(str(_("Service points")))
    points.append([str(h) for h in (
        pgettext_lazy("of a thing", "name"), _("kind"), _("open"), _("windows open"),
        _("windows"), _("booked today"),
        _("capacity today"), _("waiting"), _("mean wait (minutes)"),
    )])  # fmt: skip
    for row in data["points"]:
        points.append([
            row["name"], str(kinds.get(row["kind"], row["kind"])), _yes_no(row["open"]),
            row["windows_open"], row["windows"], row["booked_today"], row["capacity_today"],
            row["queue"], row["mean_wait_min"],
        ])  # fmt: skip
    for title, key, names in (
        (_("Online applications"), "online_by_status", labels["online"]),
        (_("Shipments"), "shipments_by_status", labels["shipments"]),
        (_("Checkpoint arrivals"), "arrivals_by_origin", {}),
        (_("Priority by class"), "priority_by_class", {}),
        (_("Priority by enterprise"), "priority_by_enterprise", {}),
    ):
        extra = book.create_sheet(str(title))
        extra.append([str(_("item")), str(_("count"))])
        for name, count in data[key].items():
            extra.append([names.get(name, name), count])
    draws = book.create_sheet(str(_("Draws")))
    columns = ["business", "service_point", "status", "closes_at", "applications", "places",
               "per_place", "offered", "accepted", "declined", "expired"]  # fmt: skip
    draws.append([str(h) for h in (
        _("business"), _("service point"), _("status"), _("closes at"), _("applications"),
        _("places"), _("applications per place"), _("offered"), _("accepted"), _("let pass"),
        _("lapsed"),
    )])  # fmt: skip
    for row in data.get("rushes", []):
        draws.append([row[c] for c in columns])
    make_workbook_safe(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
