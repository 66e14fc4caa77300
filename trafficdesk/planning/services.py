"""Window recommendations for a service point and a day, from booked and forecast demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trafficdesk.booking.models import ACTIVE_STATUSES, Booking, Slot
from trafficdesk.catalog.models import BusinessCategory
from trafficdesk.core.vocabulary import ApplicantClass
from trafficdesk.hallqueue.models import Ticket, TicketStatus
from trafficdesk.planning.rules import (
    LOOK_AHEAD_DAYS,
    Option,
    SimResult,
    is_weekday,
    next_working_day,
    options,
    recommend,
    simulate,
    split_walk_ins,
)
from trafficdesk.sites.models import ServicePoint, Window

DEFAULT_CLASS_MIX = {
    ApplicantClass.EMERGENCY: 0.02,
    ApplicantClass.ESSENTIAL: 0.05,
    ApplicantClass.GREEN: 0.05,
    ApplicantClass.RESUMPTION: 0.18,
    ApplicantClass.GENERAL: 0.70,
}


@dataclass
class GroupPlan:
    category: str
    name: str
    booked: int
    walk_ins: float
    arrivals_per_hour: float
    service_minutes: float
    windows_now: int
    zone_cap: int
    options: list[Option]
    recommended: Option | None
    simulated: SimResult | None = None
    note: str = ""  # a code the API gives as is; pages show its label

    @property
    def note_label(self) -> str:
        return str(NOTE_LABELS.get(self.note, self.note))


#: What the planner's notes say to a hall manager.
NOTE_LABELS = {
    "no demand": _("No bookings or walk-ins are expected on this day."),
    "no window count meets the target within the zone cap": _(
        "No number of windows meets the target without going over the zone's cap."
    ),
}


@dataclass
class PointPlan:
    point: ServicePoint
    day: date
    target_minutes: float
    target_share: float
    groups: list[GroupPlan] = field(default_factory=list)
    what_if_walk_ins_per_day: float | None = None
    """Expected walk-ins for the day that replace the forecast (a what-if), or None."""


def _now() -> datetime:
    """The moment the planner plans from (a seam for tests)."""
    return timezone.now()


def _weekend_days_with_slots(point: ServicePoint, since: date) -> set[date]:
    """The Saturdays and Sundays ahead on which the point offers slots: open on those days."""
    start = timezone.make_aware(datetime.combine(since, time.min))
    found = Slot.objects.filter(
        service_point=point,
        starts_at__gte=start,
        starts_at__lt=start + timedelta(days=LOOK_AHEAD_DAYS + 1),
    ).datetimes("starts_at", "day", tzinfo=timezone.get_current_timezone())
    return {moment.date() for moment in found if not is_weekday(moment.date())}


def default_day(point: ServicePoint, now: datetime | None = None) -> date:
    """The next working day of the point: today before its closing time, else the next day it
    is open (Monday to Friday; a Saturday or Sunday only when it offers slots that day)."""
    local = timezone.localtime(now or _now())
    weekend = _weekend_days_with_slots(point, local.date())
    return next_working_day(local, point.closes_at, lambda d: is_weekday(d) or d in weekend)


def local_today() -> date:
    return timezone.localdate(_now())


def hours_open(point: ServicePoint) -> float:
    """Opening hours of the point on a day (what a per-hour what-if is multiplied by)."""
    return _hours(point)


def _hours(point: ServicePoint) -> float:
    opens = datetime.combine(date.today(), point.opens_at)
    closes = datetime.combine(date.today(), point.closes_at)
    return max(1.0, (closes - opens).total_seconds() / 3600)


def _walk_in_forecast(point: ServicePoint, day: date) -> dict[int, float]:
    """Walk-ins per group: the mean of the same weekday over the last four weeks."""
    days = [day - timedelta(weeks=w) for w in range(1, 5)]
    counts = (
        Ticket.objects.filter(service_point=point, day__in=days, booking__isnull=True)
        .values("business__category_id")
        .annotate(n=Count("id"))
    )
    return {row["business__category_id"]: row["n"] / len(days) for row in counts}


def _service_minutes(point: ServicePoint) -> dict[int, float]:
    """Mean observed service time per group over 30 days (called → completed)."""
    since = timezone.localdate() - timedelta(days=30)
    found: dict[int, list[float]] = {}
    for category_id, called, done in Ticket.objects.filter(
        service_point=point,
        day__gte=since,
        status=TicketStatus.DONE,
        called_at__isnull=False,
        completed_at__isnull=False,
    ).values_list("business__category_id", "called_at", "completed_at"):
        if done is not None and called is not None:
            found.setdefault(category_id, []).append((done - called).total_seconds() / 60)
    return {c: sum(v) / len(v) for c, v in found.items() if len(v) >= 20}


def plan(
    point: ServicePoint,
    day: date,
    *,
    target_minutes: float = 15,
    target_share: float = 0.9,
    check_by_simulation: bool = True,
    walk_ins_per_day: float | None = None,
) -> PointPlan:
    """Per business group, the windows needed for the target, from the day's bookings and the
    walk-in forecast, or from `walk_ins_per_day` (a what-if: expected walk-ins for the day,
    shared among the groups as the forecast shares them)."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    bookings = (
        Booking.objects.filter(
            slot__service_point=point,
            slot__starts_at__gte=start,
            slot__starts_at__lt=start + timedelta(days=1),
            status__in=ACTIVE_STATUSES,
        )
        .values("slot__category_id")
        .annotate(n=Count("id"), minutes=Sum("minutes"))
    )
    booked = {row["slot__category_id"]: (row["n"], row["minutes"]) for row in bookings}
    walk_ins = _walk_in_forecast(point, day)
    observed = _service_minutes(point)
    hours = _hours(point)
    result = PointPlan(point, day, target_minutes, target_share)
    result.what_if_walk_ins_per_day = walk_ins_per_day
    windows = list(
        Window.objects.filter(service_point=point)
        .select_related("zone")
        .prefetch_related("businesses")
    )
    categories = {c.pk: c for c in BusinessCategory.objects.all()}
    group_ids = sorted(
        {b.category_id for w in windows for b in w.businesses.all() if b.on_site_required}
    )
    if walk_ins_per_day is not None:
        walk_ins = split_walk_ins(walk_ins_per_day, walk_ins, group_ids)
    for category_id in group_ids:
        serving = [
            w for w in windows if any(b.category_id == category_id for b in w.businesses.all())
        ]
        minutes_by_business = [
            b.service_minutes
            for w in serving
            for b in w.businesses.all()
            if b.category_id == category_id
        ]
        count, minutes = booked.get(category_id, (0, 0))
        service = observed.get(category_id) or (
            minutes / count if count else sum(minutes_by_business) / len(minutes_by_business)
        )
        arrivals = (count + walk_ins.get(category_id, 0.0)) / hours
        zone_cap = sum({w.zone_id: w.zone.occupancy_cap for w in serving}.values())
        if arrivals <= 0:
            result.groups.append(
                GroupPlan(
                    categories[category_id].code,
                    categories[category_id].name,
                    count,
                    walk_ins.get(category_id, 0.0),
                    0.0,
                    service,
                    sum(1 for w in serving if w.is_open),
                    zone_cap,
                    [],
                    None,
                    note="no demand",
                )
            )
            continue
        found = options(
            arrivals,
            service,
            target_minutes=target_minutes,
            target_share=target_share,
            zone_cap=zone_cap,
            max_windows=max(len(serving), 1) + 10,
        )
        best = recommend(found)
        group = GroupPlan(
            categories[category_id].code,
            categories[category_id].name,
            count,
            walk_ins.get(category_id, 0.0),
            arrivals,
            service,
            sum(1 for w in serving if w.is_open),
            zone_cap,
            found,
            best,
        )
        if best is None:
            group.note = "no window count meets the target within the zone cap"
        elif check_by_simulation:
            group.simulated = simulate(
                windows=best.windows,
                arrivals_per_hour={c: arrivals * share for c, share in DEFAULT_CLASS_MIX.items()},
                service_minutes=service,
                hours=hours,
                target_minutes=target_minutes,
                seed=day.toordinal(),
            )
        result.groups.append(group)
    return result


def plan_as_dict(found: PointPlan) -> dict[str, Any]:
    return {
        "service_point": found.point.code,
        "day": found.day.isoformat(),
        "target_minutes": found.target_minutes,
        "target_share": found.target_share,
        "what_if_walk_ins_per_day": found.what_if_walk_ins_per_day,
        "groups": [
            {
                "category": g.category,
                "booked": g.booked,
                "walk_ins_forecast": round(g.walk_ins, 1),
                "arrivals_per_hour": round(g.arrivals_per_hour, 2),
                "service_minutes": round(g.service_minutes, 1),
                "windows_now": g.windows_now,
                "zone_cap": g.zone_cap,
                "note": g.note,
                "recommended_windows": g.recommended.windows if g.recommended else None,
                "options": [
                    {
                        "windows": o.windows,
                        "occupancy": round(o.occupancy, 3),
                        "mean_wait_min": round(o.mean_wait_min, 2),
                        "within_target": round(o.within_target, 3),
                        "people_in_hall": round(o.people_in_hall, 1),
                        "meets_target": o.meets_target,
                        "fits_zone": o.fits_zone,
                    }
                    for o in g.options
                ],
                "simulated_within_target": round(g.simulated.within_target, 3)
                if g.simulated
                else None,
                "simulated_mean_wait_min": round(g.simulated.mean_wait_min, 2)
                if g.simulated
                else None,
            }
            for g in found.groups
        ],
    }
