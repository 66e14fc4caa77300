"""The phases and policy overview (policy:overview) and the public "what is open" page
(policy:open): counties by their names, risk levels in words, no requirement codes, and the
long lists folded away."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.urls import reverse

from trafficdesk.accounts.models import User
from trafficdesk.policy import services as policy
from trafficdesk.regions.models import Region
from trafficdesk.regions.services import set_risk_level

REQUIREMENT_CODE = re.compile(r"(?<![A-Za-z0-9])R(?:[1-9]|1[0-2])(?![0-9])")
COUNTY_CODE = re.compile(r"(?<!\d)52\d{4}(?!\d)")


def visible_text(html: str) -> str:
    """The text of <main> a reader sees: no markup, no attribute values, no styles."""
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<(script|style)\b.*?</\1>", " ", main, flags=re.S)
    main = re.sub(
        r"<details\b[^>]*>\s*<summary>(.*?)</summary>.*?</details>", r" \1 ", main, flags=re.S
    )
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def all_text(html: str) -> str:
    """The text of <main>, folded parts included (what opening every <details> shows)."""
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<(script|style|pre)\b.*?</\1>", " ", main, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def test_recent_changes_name_the_county_and_the_level_in_words(client: Client, demo: Any) -> None:
    admin = User.objects.get(username="gz_admin")
    nanming = Region.objects.get(code="520102")
    yunyan = Region.objects.get(code="520103")
    set_risk_level(admin, nanming, "MEDIUM", reason="测试：升为中风险")
    set_risk_level(admin, yunyan, "HIGH", reason="测试：升为高风险")
    policy.set_phase(admin, nanming, 1, reason="测试：第一阶段")
    client.force_login(admin)

    page = client.get(reverse("policy:overview"))

    assert page.status_code == 200
    html = page.content.decode()
    events = html.split('data-testid="events"', 1)[1].split("</ul>", 1)[0]
    assert nanming.name in events and yunyan.name in events
    assert "中风险" in events and "高风险" in events
    assert "520102" not in events and "520103" not in events
    assert "MEDIUM" not in events and "HIGH" not in events
    text = all_text(html)
    assert not COUNTY_CODE.search(text), COUNTY_CODE.findall(text)
    assert not re.search(r"\b(LOW|MEDIUM|HIGH)\b", text)
    assert not REQUIREMENT_CODE.search(text), REQUIREMENT_CODE.findall(text)


def test_the_overview_folds_its_long_lists(client: Client, demo: Any) -> None:
    admin = User.objects.get(username="gz_admin")
    county = Region.objects.get(code="520102")
    for level in ("MEDIUM", "LOW", "MEDIUM", "LOW", "MEDIUM", "LOW", "HIGH"):
        set_risk_level(admin, county, level, reason="测试：多次变更")
    client.force_login(admin)

    html = client.get(reverse("policy:overview")).content.decode()

    shown = html.split('data-testid="events"', 1)[1].split("</ul>", 1)[0]
    assert shown.count('data-testid="event"') == 5
    assert 'data-testid="events-more"' in html
    # Counties come folded by city; the page's unfolded text names no county.
    assert html.count('data-testid="city"') >= 1
    assert Region.objects.get(code="520115").name not in visible_text(html)
    assert 'data-testid="open-next"' in html


def test_the_what_is_open_page_shows_no_requirement_codes(client: Client, demo: Any) -> None:
    queries = [
        {},
        {"county": "520115", "business": "P01", "class": "GENERAL"},
        {"county": "520102", "business": "A01", "class": "GENERAL"},
    ]
    for who in (None, "gz_admin"):
        if who:
            client.force_login(User.objects.get(username=who))
        for query in queries:
            page = client.get(reverse("policy:open"), query)
            assert page.status_code == 200
            text = all_text(page.content.decode())
            assert not REQUIREMENT_CODE.search(text), (who, query, REQUIREMENT_CODE.findall(text))
            assert not re.search(r"\b(LOW|MEDIUM|HIGH|GENERAL)\b", text), (who, query)
