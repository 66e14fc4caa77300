"""Where service points are (the distance rule, the point a county is measured from) and
the lunch break in slot generation."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from trafficdesk.booking.models import Slot
from trafficdesk.booking.rules import over_lunch, plan_slots
from trafficdesk.booking.services import free_slots, generate_slots
from trafficdesk.catalog.models import Business
from trafficdesk.sites.models import ServicePoint
from trafficdesk.sites.rules import (
    NEARBY_RADIUS_KM,
    SEATS,
    county_point,
    distance_km,
    is_near,
    lunch_problem,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
GUIYANG, ZUNYI = SEATS["520100"], SEATS["520300"]


def test_great_circle_distances_are_real() -> None:
    assert distance_km(GUIYANG, GUIYANG) == 0
    # Guiyang to Zunyi is about 120-130 km in a straight line.
    assert 115 < distance_km(GUIYANG, ZUNYI) < 135
    assert distance_km(GUIYANG, ZUNYI) == pytest.approx(distance_km(ZUNYI, GUIYANG))
    # One degree of latitude is about 111 km.
    assert distance_km((26.0, 106.0), (27.0, 106.0)) == pytest.approx(111.2, abs=0.5)


def test_near_means_within_the_radius_and_unknown_is_never_near() -> None:
    assert is_near(NEARBY_RADIUS_KM) and is_near(3.2)
    assert not is_near(NEARBY_RADIUS_KM + 0.1)
    assert not is_near(None)
    assert not is_near(distance_km(GUIYANG, ZUNYI))


def test_a_county_is_measured_from_its_seat_then_its_offices_then_its_city() -> None:
    office = (26.5, 106.5)
    assert county_point("520115", "520100", [office]) == SEATS["520115"]
    assert county_point("520199", "520100", [office, None]) == office
    assert county_point("520199", "520100", [None]) == SEATS["520100"]
    assert county_point("110101", "110100", []) is None


def test_lunch_break_must_fit_the_opening_hours() -> None:
    nine, five = time(9), time(17)
    assert lunch_problem(nine, five, time(12), time(13, 30)) is None
    assert lunch_problem(nine, five, None, None) is None
    assert lunch_problem(nine, five, time(12), None)
    assert lunch_problem(nine, five, time(13), time(12))
    assert lunch_problem(nine, five, time(8), time(9, 30))


def _plan(lunch: tuple[time, time] | None, opens: time = time(9)) -> list[Any]:
    return plan_slots(
        day=date(2026, 3, 2),
        opens_at=opens,
        closes_at=time(17),
        slot_minutes=60,
        windows_by_category={1: 2},
        zone_cap_by_category={1: 30},
        shortest_service_by_category={1: 10},
        capacity_factor=1.0,
        priority_share=0.2,
        tz=SHANGHAI,
        lunch=lunch,
    )


def test_no_slot_is_planned_over_the_lunch_break() -> None:
    starts = [p.starts_at.strftime("%H:%M") for p in _plan((time(12), time(13, 30)))]
    assert starts == ["09:00", "10:00", "11:00", "13:30", "14:30", "15:30"]
    # A slot that would straddle the start of the break is not made either.
    late = [p.starts_at.strftime("%H:%M") for p in _plan((time(12), time(13, 30)), time(9, 30))]
    assert late == ["09:30", "10:30", "13:30", "14:30", "15:30"]
    # Without a break, the day is whole.
    assert len(_plan(None)) == 8


def test_generated_slots_respect_the_points_lunch_break(demo: Any) -> None:
    point = ServicePoint.objects.get(code="GY-HALL-01")
    assert (point.lunch_starts_at, point.lunch_ends_at) == (time(12), time(13, 30))
    day = timezone.localdate() + timedelta(days=9)
    assert generate_slots(point, day) > 0
    tz = timezone.get_current_timezone()
    lunch_from = datetime.combine(day, time(12), tzinfo=tz)
    lunch_to = datetime.combine(day, time(13, 30), tzinfo=tz)
    slots = Slot.objects.filter(
        service_point=point,
        starts_at__gte=datetime.combine(day, time(0), tzinfo=tz),
        starts_at__lt=datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz),
    )
    assert slots.exists()
    assert not [s for s in slots if s.starts_at < lunch_to and s.ends_at > lunch_from]
    assert slots.filter(starts_at=lunch_to).exists()


def test_demo_points_have_real_coordinates_and_phones(demo: Any) -> None:
    for point in ServicePoint.objects.filter(code__startswith="GY-"):
        assert point.coordinates is not None, point.code
        # Guiyang's offices lie within about 40 km of the city centre.
        assert distance_km(point.coordinates, GUIYANG) < 40, point.code
        assert point.phone.startswith("0851-") and len(point.phone) == 13, point.phone


def test_over_lunch_is_any_overlap() -> None:
    lunch = (time(12), time(13, 30))

    def at(h: int, m: int = 0) -> datetime:
        return datetime(2026, 3, 2, h, m, tzinfo=SHANGHAI)

    assert over_lunch(at(11, 30), at(12, 30), lunch)
    assert over_lunch(at(13), at(14), lunch)
    assert not over_lunch(at(11), at(12), lunch)
    assert not over_lunch(at(13, 30), at(14, 30), lunch)
    assert not over_lunch(at(12), at(13), None)


def test_a_slot_made_before_the_break_was_set_is_not_offered(demo: Any, client: Any) -> None:
    point = ServicePoint.objects.get(code="GY-HALL-01")
    p01 = Business.objects.get(code="P01")
    tz = timezone.get_current_timezone()
    day = timezone.localdate() + timedelta(days=2)
    starts = datetime.combine(day, time(12), tzinfo=tz)
    old = Slot.objects.create(
        service_point=point,
        category=p01.category,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        capacity_minutes=200,
        capacity_people=10,
        priority_release_at=timezone.now(),
    )
    after = datetime.combine(day, time(0), tzinfo=tz)
    offered = free_slots(point, p01.category_id, "GENERAL", minutes=20, after=after, limit=20)
    assert offered and old.pk not in [s.pk for s in offered]
    page = client.get(
        "/booking/at/GY-HALL-01/",
        {"business": "P01", "county": "520115", "class": "GENERAL", "day": day.isoformat()},
    )
    assert f"/booking/slot/{old.pk}/" not in page.content.decode()
