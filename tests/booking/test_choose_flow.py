"""The booking flow's pages (business → place → date → slot → confirm) as a citizen's
browser sees them, without JavaScript: what each step shows and refuses."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.utils import timezone

from trafficdesk.booking import ledger
from trafficdesk.booking.models import Booking, Slot
from trafficdesk.catalog.models import Business

PLACES = "/booking/places/"


def test_step_one_lists_businesses_by_name_without_codes(client: Client, demo: Any) -> None:
    page = client.get("/booking/").content.decode()
    p01 = Business.objects.get(code="P01")
    assert p01.name in page
    assert 'value="P01"' in page
    visible = re.sub(r"<[^>]+>", " ", page)
    assert not re.search(r"\bP01\b", visible), "a business code is visible"


def test_places_are_nearest_first_with_distances(client: Client, demo: Any) -> None:
    page = client.get(PLACES, {"business": "P01", "county": "520115", "class": "GENERAL"})
    assert page.status_code == 200
    html = page.content.decode()
    codes = re.findall(r'data-testid="place" data-code="([^"]+)"', html)
    assert codes[0] == "GY-HALL-01", codes
    distances = [float(k) for k in re.findall(r'data-testid="distance">约 (\d+) 公里', html)]
    assert distances == sorted(distances) and len(distances) == len(codes)


def test_places_for_a_missing_business_is_a_422_that_keeps_the_choices(
    client: Client, demo: Any
) -> None:
    page = client.get(PLACES, {"business": "", "county": "520115", "class": "GENERAL"})
    assert page.status_code == 422
    html = page.content.decode()
    assert 'data-testid="problem"' in html
    assert '<option value="520115" selected>' in html


def test_the_date_strip_shows_seven_days_and_places_left(client: Client, demo: Any) -> None:
    page = client.get(
        "/booking/at/GY-HALL-01/", {"business": "P01", "county": "520115", "class": "GENERAL"}
    )
    html = page.content.decode()
    statuses = re.findall(r'data-testid="day" data-day="[^"]+" data-status="(\w+)"', html)
    assert len(statuses) == 7 and "open" in statuses
    lefts = [int(n) for n in re.findall(r'data-left="(\d+)"', html)]
    assert lefts and all(n >= 1 for n in lefts)
    assert "余号" in html or "剩余" in html
    assert "分钟" not in re.sub(r"<[^>]+>", " ", html.split('data-testid="slots"')[1])


def test_a_bad_id_keeps_the_field_and_says_why(
    client: Client, citizen: Any, make_slot: Any
) -> None:
    client.force_login(citizen)
    slot = make_slot(people=5)
    typed = "52011519900301123"  # 17 characters
    page = client.post(f"/booking/slot/{slot.pk}/?business=P01&class=GENERAL", {"id_number": typed})
    assert page.status_code == 422
    html = page.content.decode()
    assert f'value="{typed}"' in html
    error = re.search(r'data-testid="id-error">([^<]+)<', html)
    assert error and "id." not in error.group(1)
    assert not Booking.objects.filter(slot=slot).exists()


def test_additional_businesses_are_offered_by_name(
    client: Client, citizen: Any, make_slot: Any, new_id: Any
) -> None:
    client.force_login(citizen)
    slot = make_slot(people=5, minutes=200)
    html = client.get(f"/booking/slot/{slot.pk}/?business=P01&class=GENERAL").content.decode()
    extra = html.split('data-testid="extra"')[1].split("</fieldset>")[0]
    visible = re.sub(r"<[^>]+>", " ", extra)
    p02 = Business.objects.get(code="P02")
    assert p02.name in visible
    assert not re.search(r"\b[A-Z]\d\d\b", visible), visible
    assert Business.objects.get(code="P01").name not in visible
    answer = client.post(
        f"/booking/slot/{slot.pk}/?business=P01&class=GENERAL",
        {"id_number": new_id(), "extra": ["P02"]},
    )
    assert answer.status_code == 302
    made = Booking.objects.get(slot=slot)
    assert sorted(i.business.code for i in made.items.all()) == ["P01", "P02"]


def test_places_left_agrees_with_the_hold_rule(make_slot: Any) -> None:
    slot = make_slot(people=3, minutes=60, reserved=20, release_in_hours=2)
    now = timezone.now()
    general = ledger.Claim(20, False)
    priority = ledger.Claim(20, True)
    assert ledger.places_left(slot, general, now) == 2  # 40 general minutes
    assert ledger.places_left(slot, priority, now) == 3
    fresh = Slot.objects.get(pk=slot.pk)
    fresh.booked_minutes = fresh.booked_general_minutes = 40
    fresh.booked_people = 2
    assert ledger.places_left(fresh, general, now) == 0
    assert not ledger.has_room(fresh, general, now)
    assert ledger.places_left(fresh, priority, now) == 1
