"""The national read model on one node (the replication between nodes is
tests/scale/test_national.py): what a node writes for its own counties, what the national
page sums, and another province's service points refused with the way to its node. Runs on
SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.booking.conftest import make_id
from trafficdesk.accounts.access import SYSTEM
from trafficdesk.accounts.models import User
from trafficdesk.booking import services as booking
from trafficdesk.booking.errors import BookingRefused
from trafficdesk.booking.models import Slot
from trafficdesk.national import services
from trafficdesk.national.models import CountySnapshot
from trafficdesk.regions.models import CountyRisk, Region
from trafficdesk.regions.services import origin_risk_level, set_risk_level


def test_a_node_writes_its_counties_and_the_national_view_adds_them_up(demo: Any) -> None:
    done = services.refresh_snapshot()
    assert done.counties > 0 and done.risk_rows > 0
    rows, total = services.national_view()
    assert [row.code for row in rows] == ["52"] and rows[0].name == "贵州省"
    snapshots = CountySnapshot.objects.all()
    assert total.windows_open == sum(s.windows_open for s in snapshots) > 0
    assert total.capacity_today == sum(s.capacity_today for s in snapshots)
    assert sum(total.risk.values()) == CountyRisk.objects.filter(province_code="52").count()


def test_a_risk_change_is_published_once_committed(
    demo: Any, django_capture_on_commit_callbacks: Any
) -> None:
    nanming = Region.objects.get(code="520102")
    with django_capture_on_commit_callbacks(execute=True):
        set_risk_level(SYSTEM, nanming, "HIGH", reason="cluster")
    assert CountyRisk.objects.get(county_code="520102").level == "HIGH"
    assert origin_risk_level(nanming) == "HIGH"


def test_another_provinces_county_is_read_from_the_published_levels(
    demo: Any, settings: Any
) -> None:
    settings.PROVINCE_CODE = "52"
    hubei = Region.objects.get(code="420106")
    assert origin_risk_level(hubei) is None  # nothing published by Hubei yet
    CountyRisk.objects.create(
        county_code="420106",
        province_code="42",
        level="HIGH",
        since=timezone.now(),
        updated_at=timezone.now(),
    )
    assert origin_risk_level(hubei) == "HIGH"


def test_a_node_refuses_another_provinces_service_point_with_its_address(
    demo: Any, settings: Any
) -> None:
    settings.PROVINCE_CODE = "42"
    settings.PROVINCE_NODES = {"52": "https://52.example"}
    citizen = User.objects.create(username="nat-citizen", mobile="13900002468", role="citizen")
    slot = Slot.objects.filter(service_point__code="GY-HALL-01").first()
    assert slot is not None
    with pytest.raises(BookingRefused) as refused:
        booking.book(citizen, slot.pk, ["P01"], make_id(61_000))
    assert refused.value.code == "province.other"
    assert "https://52.example" in refused.value.message


def test_the_national_page_shows_the_provinces(users: dict[str, Any]) -> None:
    services.refresh_snapshot()
    client = Client()
    client.force_login(users["gz_admin"])
    page = client.get("/national/")
    assert page.status_code == 200 and "贵州省" in page.content.decode()
