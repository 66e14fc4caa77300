"""Issue 17 (reference data): the deferred deadline is said to include its own day."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.test import Client

from trafficdesk.deferral.models import DeferralWindow
from trafficdesk.deferral.rules import Window, check
from trafficdesk.regions.models import Region

ALL = frozenset({"renewal", "review", "inspection"})
WINDOW = Window(date(2020, 1, 24), date(2020, 5, 31), ALL, grace_days=30)  # deadline 2020-06-30


def test_the_deferred_deadline_includes_its_day() -> None:
    result = check("renewal", date(2020, 3, 1), date(2020, 6, 30), [WINDOW])
    assert result.new_deadline == date(2020, 6, 30)
    ((zh, en),) = result.reasons
    assert zh == "逾期但在延期办期间，不予处罚；请于2020年6月30日（含当日）前办理"
    assert en.endswith("on or before 2020-06-30 (that day included)")


def test_the_api_says_the_day_is_included(client: Client, demo: Any) -> None:
    DeferralWindow.objects.all().delete()
    DeferralWindow.objects.create(
        name="2020",
        starts_on=date(2020, 1, 24),
        ends_on=date(2020, 5, 31),
        grace_days=30,
        region=Region.objects.get(code="520000"),
    )
    response = client.get(
        "/api/v1/deferral/check", {"kind": "renewal", "due": "2020-03-01", "on": "2020-06-30"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["standing"] == "deferred" and body["new_deadline"] == "2020-06-30"
    assert body["reasons_zh"] == ["逾期但在延期办期间，不予处罚；请于2020年6月30日（含当日）前办理"]
    assert body["reasons_en"][0].endswith("(that day included)")
