"""The window planner page and its API: the day it opens on, the what-if of expected
walk-ins, and its words (Chinese, no codes)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from trafficdesk.accounts.models import User
from trafficdesk.booking.models import Slot
from trafficdesk.booking.services import generate_slots
from trafficdesk.planning import services
from trafficdesk.planning.rules import next_working_day, split_walk_ins, walk_ins_per_day
from trafficdesk.sites.models import ServicePoint

HALL = "GY-HALL-01"
FRIDAY = date(2031, 1, 3)
WEDNESDAY = date(2031, 1, 1)
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def at(day: date, clock: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, clock))


def freeze(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(services, "_now", lambda: moment)


def manager_client(client: Client) -> Client:
    client.force_login(User.objects.get(username="manager"))
    return client


def shown_day(html: str) -> str:
    match = re.search(r'id="plan-day"[^>]*value="([0-9-]+)"', html)
    assert match is not None, html
    return match.group(1)


def visible_text(html: str) -> str:
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<(script|style)\b.*?</\1>", " ", main, flags=re.S)
    return re.sub(r"<[^>]+>", " ", main)


def recommended(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-testid="recommended" data-windows="(\d+)"', html)]


# --- the rules ---------------------------------------------------------------------------------


def weekdays_only(day: date) -> bool:
    return day.weekday() < 5


def test_the_next_working_day_rule() -> None:
    five = time(17, 0)
    assert next_working_day(datetime.combine(WEDNESDAY, time(10)), five, weekdays_only) == WEDNESDAY
    assert next_working_day(datetime.combine(WEDNESDAY, time(17)), five, weekdays_only) == (
        WEDNESDAY + timedelta(days=1)
    )
    monday = FRIDAY + timedelta(days=3)
    assert next_working_day(datetime.combine(FRIDAY, time(18)), five, weekdays_only) == monday
    saturday = FRIDAY + timedelta(days=1)
    assert next_working_day(datetime.combine(FRIDAY, time(18)), five, lambda d: True) == saturday
    # Open on no day in sight: the next weekday.
    assert next_working_day(datetime.combine(FRIDAY, time(18)), five, lambda d: False) == monday


def test_the_what_if_arithmetic() -> None:
    assert walk_ins_per_day(10, "hour", 8) == 80
    assert walk_ins_per_day(80, "day", 8) == 80
    with pytest.raises(ValueError):
        walk_ins_per_day(-1, "day", 8)
    assert split_walk_ins(90, {1: 2.0, 2: 1.0}, [1, 2]) == {1: 60.0, 2: 30.0}
    assert split_walk_ins(90, {}, [1, 2, 3]) == {1: 30.0, 2: 30.0, 3: 30.0}
    assert split_walk_ins(90, {1: 5.0}, []) == {}


# --- the page ----------------------------------------------------------------------------------


def test_after_closing_time_the_page_opens_on_the_next_open_day(
    client: Client, demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    point = ServicePoint.objects.get(code=HALL)
    saturday, monday = FRIDAY + timedelta(days=1), FRIDAY + timedelta(days=3)
    assert not Slot.objects.filter(service_point=point, starts_at__date__gte=FRIDAY).exists()
    manager = manager_client(client)

    freeze(monkeypatch, at(FRIDAY, time(10, 0)))
    assert shown_day(manager.get(reverse("planner")).content.decode()) == FRIDAY.isoformat()

    after_closing = (datetime.combine(FRIDAY, point.closes_at) + timedelta(minutes=1)).time()
    freeze(monkeypatch, at(FRIDAY, after_closing))
    page = manager.get(reverse("planner"))
    assert page.status_code == 200
    assert shown_day(page.content.decode()) == monday.isoformat()

    # A Saturday counts once the hall offers slots on it.
    assert generate_slots(point, saturday) > 0
    assert shown_day(manager.get(reverse("planner")).content.decode()) == saturday.isoformat()
    # The API plans the same day when none is given.
    answer = manager.get(f"/api/v1/planning/{HALL}").json()
    assert answer["day"] == saturday.isoformat()


def test_the_what_if_changes_the_recommendation_on_the_page_and_in_the_api(
    client: Client, demo: Any
) -> None:
    manager = manager_client(client)
    day = WEDNESDAY.isoformat()
    quiet = manager.get(reverse("planner"), {"day": day, "walk_ins": "2", "per": "hour"})
    busy = manager.get(reverse("planner"), {"day": day, "walk_ins": "80", "per": "hour"})
    assert quiet.status_code == busy.status_code == 200
    few, many = recommended(quiet.content.decode()), recommended(busy.content.decode())
    assert few and many, (few, many)
    assert sum(many) > sum(few)
    assert 'data-testid="what-if"' in busy.content.decode()
    # Per day: 2 an hour over the opening hours is the same what-if as its total for the day.
    hours = services.hours_open(ServicePoint.objects.get(code=HALL))
    per_day = manager.get(
        reverse("planner"), {"day": day, "walk_ins": str(2 * hours), "per": "day"}
    )
    assert recommended(per_day.content.decode()) == few
    # A what-if that is not a number says so.
    refused = manager.get(reverse("planner"), {"day": day, "walk_ins": "many"})
    assert refused.status_code == 422 and 'data-testid="plan-problem"' in refused.content.decode()

    api = f"/api/v1/planning/{HALL}"
    low = manager.get(api, {"day": day, "walk_ins_per_hour": 2}).json()
    high = manager.get(api, {"day": day, "walk_ins_per_hour": 80}).json()
    total = manager.get(api, {"day": day, "walk_ins_per_day": 80 * hours}).json()
    assert high["what_if_walk_ins_per_day"] == pytest.approx(80 * hours)

    def windows(answer: dict[str, Any]) -> int:
        return sum(g["recommended_windows"] or 0 for g in answer["groups"])

    assert windows(high) > windows(low) and windows(total) == windows(high)
    plain = manager.get(api, {"day": day}).json()
    assert plain["what_if_walk_ins_per_day"] is None
    both = manager.get(api, {"day": day, "walk_ins_per_hour": 2, "walk_ins_per_day": 3})
    assert both.status_code == 422
    assert manager.get(api, {"day": day, "walk_ins_per_hour": -1}).status_code == 422


def test_the_page_speaks_chinese_and_shows_no_codes(client: Client, demo: Any) -> None:
    manager = manager_client(client)
    for query in ({}, {"day": WEDNESDAY.isoformat(), "walk_ins": "30", "per": "hour"}):
        page = manager.get(reverse("planner"), query, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert page.status_code == 200
        text = visible_text(page.content.decode())
        assert LATIN_WORD.findall(text) == [], LATIN_WORD.findall(text)
        assert not re.search(r"\bR\d{1,2}\b", text)
        assert "窗口" in text
