"""Figures for the regional dashboard: a region and the regions inside it."""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from trafficdesk.booking.models import PriorityClaim, RushOffer, RushStatus, RushWindow, Slot
from trafficdesk.booking.rush import counts as rush_counts
from trafficdesk.checkpoint.models import Registration
from trafficdesk.core.vocabulary import (
    HOLDING_STATUSES,
    ApplicantClass,
    ClaimStatus,
    OfferStatus,
    RiskLevel,
)
from trafficdesk.hallqueue.models import Ticket, TicketStatus
from trafficdesk.online.models import OnlineApplication, Shipment
from trafficdesk.regions.models import Region, RegionLevel
from trafficdesk.regions.services import current_levels
from trafficdesk.sites.models import ServicePoint, Window


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
        level = levels[county.pk].level if county.pk in levels else "UNASSESSED"
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
    online = dict(OnlineApplication.objects.values_list("status").annotate(n=Count("id")))
    shipments = dict(Shipment.objects.values_list("status").annotate(n=Count("id")))
    arrivals: Counter[str] = Counter()
    for code, name, parent in Registration.objects.filter(
        region.subtree_q("checkpoint__region"), created_at__gte=start
    ).values_list("origin__code", "origin__name_zh", "origin__parent__name_zh"):
        arrivals[
            f"{parent or ''}{name}" if code[:2] == region.code[:2] else f"外省 {code[:2]}"
        ] += 1
    return {
        "region": {"code": region.code, "name": region.name_zh},
        "risk_by_city": {city: dict(counts) for city, counts in sorted(risk_by_city.items())},
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
        "arrivals_by_origin": dict(arrivals.most_common(20)),
        **priority_use(points, start),
        "rushes": rush_use(points, start),
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


def export_sheets(data: dict[str, Any]) -> bytes:
    """All of the dashboard in one Excel workbook, a sheet per figure."""
    from openpyxl import Workbook  # local import: heavy, and only exports need it

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "risk"
    sheet.append(["city", RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH, "UNASSESSED"])
    for city, counts in data["risk_by_city"].items():
        sheet.append(
            [city]
            + [
                counts.get(k, 0)
                for k in (RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH, "UNASSESSED")
            ]
        )
    points = book.create_sheet("service_points")
    columns = [
        "code",
        "name",
        "kind",
        "open",
        "windows_open",
        "windows",
        "booked_today",
        "capacity_today",
        "queue",
        "mean_wait_min",
    ]
    points.append(columns)
    for row in data["points"]:
        points.append([row[c] for c in columns])
    for title, key in (
        ("online", "online_by_status"),
        ("shipments", "shipments_by_status"),
        ("arrivals", "arrivals_by_origin"),
        ("priority_by_class", "priority_by_class"),
        ("priority_by_enterprise", "priority_by_enterprise"),
    ):
        extra = book.create_sheet(title)
        extra.append(["key", "count"])
        for name, count in data[key].items():
            extra.append([name, count])
    draws = book.create_sheet("rushes")
    columns = ["business", "service_point", "status", "closes_at", "applications", "places",
               "per_place", "offered", "accepted", "declined", "expired"]  # fmt: skip
    draws.append(columns)
    for row in data.get("rushes", []):
        draws.append([row[c] for c in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
