"""ISSUE 17 item 7 (a): walk-in tickets only inside the hall's opening hours, not over its
lunch break — refused by the API and the kiosk alike, with when tickets are issued again.
The moments are fixed here, so these tests pass at whatever hour the suite runs."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from trafficdesk.hallqueue import services
from trafficdesk.hallqueue.models import Ticket

pytestmark = pytest.mark.hall_hours


def _today_at(hh: int, mm: int) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(), time(hh, mm)))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set the clock to a local time today (everything that asks timezone.now())."""

    def set_to(hh: int, mm: int) -> datetime:
        moment = _today_at(hh, mm)
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_to


@pytest.mark.usefixtures("kiosk_device")
def test_api_refuses_a_walk_in_after_closing_and_says_when(
    client: Any, hall: Any, clock: Any
) -> None:
    clock(21, 31)
    with translation.override("zh-hans"):
        response = client.post(
            f"/api/v1/hall/{hall.code}/walk-in",
            {"business": "P01"},
            content_type="application/json",
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "hall.closed"
    assert "17:00" in body["detail"] and "09:00" in body["detail"]
    assert not Ticket.objects.filter(service_point=hall).exists()


@pytest.mark.usefixtures("kiosk_device")
def test_api_issues_a_walk_in_inside_opening_hours(client: Any, hall: Any, clock: Any) -> None:
    clock(10, 0)
    response = client.post(
        f"/api/v1/hall/{hall.code}/walk-in", {"business": "P01"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content


@pytest.mark.usefixtures("kiosk_device")
def test_kiosk_refuses_over_the_lunch_break(client: Any, hall: Any, clock: Any) -> None:
    clock(12, 30)
    response = client.post(
        reverse("hallqueue:kiosk", args=[hall.code]), {"business": "P01", "class": "GENERAL"}
    )
    assert response.status_code in (200, 409)
    assert "13:30" in response.content.decode()
    assert not Ticket.objects.filter(service_point=hall).exists()


def test_words_in_chinese_after_closing(hall: Any, p01: Any) -> None:
    with translation.override("zh-hans"), pytest.raises(services.QueueRefused) as refused:
        services.walk_in(hall, p01, now=_today_at(21, 31))
    assert refused.value.message == "本厅今天 17:00 已停止取号，明天 09:00 起可取号。"


def test_before_opening_names_today(hall: Any, p01: Any) -> None:
    with pytest.raises(services.QueueRefused) as refused:
        services.walk_in(hall, p01, now=_today_at(8, 0))
    assert refused.value.code == "hall.closed"
    assert "09:00" in refused.value.message


def test_check_in_of_a_booking_keeps_its_own_window(hall: Any, p01: Any) -> None:
    """The hours rule is for walk-ins only: a walk-in inside the hours is not refused by it."""
    assert services.walk_in_hours_refusal(hall, _today_at(16, 59)) is None
    assert services.walk_in_hours_refusal(hall, _today_at(17, 0)) is not None
    assert services.walk_in_hours_refusal(hall, _today_at(9, 0) - timedelta(minutes=1)) is not None
