"""The national read model: each province node writes its own counties' rows; logical
replication carries them to the national database and the other provinces' risk levels back
(docs/adr/0003-province-databases.md). Each public function is one transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from trafficdesk.booking.models import Booking, Slot
from trafficdesk.checkpoint.models import Registration
from trafficdesk.core import provinces
from trafficdesk.core.vocabulary import BookingStatus, RiskLevel
from trafficdesk.national.models import CountySnapshot, ProvinceSnapshot
from trafficdesk.online.models import OnlineApplication
from trafficdesk.online.rules import Status as OnlineStatus
from trafficdesk.regions.models import CountyRisk, Region, RegionLevel, RiskAssessment
from trafficdesk.regions.services import current_levels
from trafficdesk.sites.models import Window

#: Online applications waiting for the traffic police (not for the applicant).
BACKLOG_STATUSES = (OnlineStatus.SUBMITTED, OnlineStatus.UNDER_REVIEW)
COUNTED_BOOKINGS = Q(
    status__in=(BookingStatus.ACTIVE, BookingStatus.CHECKED_IN, BookingStatus.DONE)
)


def _own(queryset: QuerySet[Any], lookup: str) -> QuerySet[Any]:
    """Rows of this node's province (every row on a single node)."""
    home = provinces.home_province()
    return queryset.filter(**{f"{lookup}__startswith": home}) if home else queryset


# --- risk levels -----------------------------------------------------------------------------


def _risk_rows(counties: list[Region], now: datetime) -> list[CountyRisk]:
    levels = current_levels(counties, now)
    return [
        CountyRisk(
            county_code=county.code,
            province_code=provinces.province_of(county.code),
            level=levels[county.pk].level,
            since=levels[county.pk].effective_from,
            updated_at=now,
        )
        for county in counties
        if county.pk in levels
    ]


def _upsert_risk(rows: list[CountyRisk]) -> None:
    CountyRisk.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["county_code"],
        update_fields=["province_code", "level", "since", "updated_at"],
    )


def publish_county_risk(county_code: str) -> None:
    """Write this county's level in force to the read model (its own province's only)."""
    if not provinces.is_local(county_code):
        return
    county = Region.objects.filter(code=county_code).first()
    if county is None:
        return
    with transaction.atomic():
        _upsert_risk(_risk_rows([county], timezone.now()))


def publish_risk_change(sender: object, assessment: RiskAssessment, **_kwargs: object) -> None:
    """Subscribed to regions.services.risk_level_changed: publish after the commit."""
    code = assessment.region.code
    transaction.on_commit(lambda: publish_county_risk(code))


# --- figures ---------------------------------------------------------------------------------


def _day_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(timezone.localdate(now), time.min))
    return start, start + timedelta(days=1)


def _by_county(queryset: QuerySet[Any], county: str, value: Any) -> dict[str, int]:
    return {
        row[county]: int(row["n"] or 0)
        for row in queryset.values(county).annotate(n=value).order_by()
    }


def county_figures(now: datetime) -> dict[str, dict[str, int]]:
    """This province's figures of the day by county code: one query per figure."""
    start, end = _day_bounds(now)
    point_county = "service_point__region__code"
    slot_county = "slot__service_point__region__code"
    today_slots = _own(Slot.objects.filter(starts_at__gte=start, starts_at__lt=end), point_county)
    figures = {
        "windows_open": _by_county(
            _own(Window.objects.filter(is_open=True), point_county), point_county, Count("id")
        ),
        "bookings_today": _by_county(
            _own(
                Booking.objects.filter(COUNTED_BOOKINGS, slot__starts_at__gte=start).filter(
                    slot__starts_at__lt=end
                ),
                slot_county,
            ),
            slot_county,
            Count("id"),
        ),
        "capacity_today": _by_county(today_slots, point_county, Sum("capacity_people")),
        "arrivals_from_risk_today": _by_county(
            _own(
                Registration.objects.filter(
                    from_risk_area=True, created_at__gte=start, created_at__lt=end
                ),
                "checkpoint__region__code",
            ),
            "checkpoint__region__code",
            Count("id"),
        ),
    }
    counties: dict[str, dict[str, int]] = defaultdict(dict)
    for name, values in figures.items():
        for code, n in values.items():
            counties[code][name] = n
    return counties


@dataclass
class Refreshed:
    counties: int = 0
    risk_rows: int = 0
    online_backlog: int = 0


def refresh_snapshot(now: datetime | None = None) -> Refreshed:
    """Recompute this node's rows of the read model: its counties' risk levels and figures,
    and its province's online backlog. Rows of counties with no activity left go to zero."""
    now = now or timezone.now()
    figures = county_figures(now)
    home = provinces.home_province()
    own_counties = list(
        _own(Region.objects.filter(level=RegionLevel.COUNTY), "code").exclude(risk_assessments=None)
    )
    with transaction.atomic():
        known = set(_own(CountySnapshot.objects.all(), "county_code").values_list("pk", flat=True))
        rows = [
            CountySnapshot(
                county_code=code,
                province_code=provinces.province_of(code),
                updated_at=now,
                **figures.get(code, {}),
            )
            for code in sorted(known | set(figures))
        ]
        CountySnapshot.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["county_code"],
            update_fields=[
                "province_code",
                "windows_open",
                "bookings_today",
                "capacity_today",
                "arrivals_from_risk_today",
                "updated_at",
            ],
        )
        risk = _risk_rows(own_counties, now)
        _upsert_risk(risk)
        backlog = OnlineApplication.objects.filter(status__in=BACKLOG_STATUSES).count()
        if home:
            ProvinceSnapshot.objects.update_or_create(
                province_code=home, defaults={"online_backlog": backlog, "updated_at": now}
            )
    return Refreshed(counties=len(rows), risk_rows=len(risk), online_backlog=backlog)


# --- the national view -----------------------------------------------------------------------


@dataclass
class ProvinceFigures:
    code: str
    name: str = ""
    risk: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RiskLevel.values, 0))
    windows_open: int = 0
    bookings_today: int = 0
    capacity_today: int = 0
    online_backlog: int = 0
    arrivals_from_risk_today: int = 0
    updated_at: datetime | None = None

    def add(self, other: ProvinceFigures) -> None:
        for level, n in other.risk.items():
            self.risk[level] += n
        for name in (
            "windows_open",
            "bookings_today",
            "capacity_today",
            "online_backlog",
            "arrivals_from_risk_today",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "risk": self.risk,
            "windows_open": self.windows_open,
            "bookings_today": self.bookings_today,
            "capacity_today": self.capacity_today,
            "online_backlog": self.online_backlog,
            "arrivals_from_risk_today": self.arrivals_from_risk_today,
        }


def _seen(figures: ProvinceFigures, moment: datetime) -> None:
    if figures.updated_at is None or moment < figures.updated_at:
        figures.updated_at = moment  # the oldest row: how fresh the province's figures are


def national_view() -> tuple[list[ProvinceFigures], ProvinceFigures]:
    """Each province's figures from the read model, and their total."""
    provinces: dict[str, ProvinceFigures] = {}

    def of(code: str) -> ProvinceFigures:
        return provinces.setdefault(code, ProvinceFigures(code))

    for risk in CountyRisk.objects.all():
        of(risk.province_code).risk[risk.level] = of(risk.province_code).risk.get(risk.level, 0) + 1
    for snap in CountySnapshot.objects.all():
        figures = of(snap.province_code)
        figures.windows_open += snap.windows_open
        figures.bookings_today += snap.bookings_today
        figures.capacity_today += snap.capacity_today
        figures.arrivals_from_risk_today += snap.arrivals_from_risk_today
        _seen(figures, snap.updated_at)
    for province in ProvinceSnapshot.objects.all():
        of(province.province_code).online_backlog += province.online_backlog
        _seen(of(province.province_code), province.updated_at)
    names = {
        r.code[:2]: r.name
        for r in Region.objects.filter(
            level=RegionLevel.PROVINCE, code__in=[f"{c}0000" for c in provinces]
        )
    }
    rows = sorted(provinces.values(), key=lambda p: p.code)
    total = ProvinceFigures("")
    for row in rows:
        row.name = names.get(row.code, row.code)
        total.add(row)
    return rows, total
