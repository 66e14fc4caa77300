"""The regional dashboard read at 1440 × 900 by the demo province administrator (gz_admin):
the province map draws Guizhou's counties in their risk level's colour and drills down to a
prefecture, then to a county's figures; the chart cards are wide, their words Chinese, an
empty chart says so; nothing is fetched from another host.

Demo facts: 南明区 (520102, Guiyang 520100) is MEDIUM; the test raises it to HIGH, so the colour
drawn follows the data. No checkpoint arrival is registered, so that chart is empty."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from playwright.sync_api import expect

from tests.browser.helpers import staff_login, wait_for_server_requests
from trafficdesk.accounts.models import User
from trafficdesk.checkpoint.models import Registration
from trafficdesk.core.vocabulary import RegionLevel
from trafficdesk.dashboard.services import chart_labels
from trafficdesk.regions.models import Region
from trafficdesk.regions.services import current_levels, set_risk_level

pytestmark = pytest.mark.browser

GEO = Path(__file__).resolve().parents[2] / "trafficdesk" / "static" / "vendor" / "geo"
NANMING, GUIYANG = "520102", "520100"
KAIYANG = "520121"  # 开阳县, a large county of Guiyang: easy to click
HIGH_COLOUR = "#c62828"  # --high in trafficdesk.css
CHARTS = ("risk", "points", "bookings", "queues", "online", "arrivals")
LOCAL = {"127.0.0.1", "localhost"}

INSTANCE = "sel => echarts.getInstanceByDom(document.querySelector(sel))"


@pytest.fixture
def desk(browser: Any, live_server: Any, demo: Any) -> Iterator[tuple[Any, list[str]]]:
    context = browser.new_context(
        locale="zh-CN", base_url=live_server.url, viewport={"width": 1440, "height": 900}
    )
    context.set_default_timeout(10_000)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    yield context.new_page(), requested
    context.close()
    wait_for_server_requests(live_server)


def inside_point(feature: dict[str, Any]) -> tuple[float, float]:
    """A point well inside the county's largest polygon (its outline is simplified)."""
    rings = [polygon[0] for polygon in feature["geometry"]["coordinates"]]
    ring = max(rings, key=len)
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]

    def inside(x: float, y: float) -> bool:
        hit = False
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                hit = not hit
        return hit

    def clearance(x: float, y: float) -> float:
        return min((px - x) ** 2 + (py - y) ** 2 for px, py in ring)

    steps = 24
    candidates = [
        (min(xs) + (max(xs) - min(xs)) * i / steps, min(ys) + (max(ys) - min(ys)) * j / steps)
        for i in range(1, steps)
        for j in range(1, steps)
    ]
    return max((c for c in candidates if inside(*c)), key=lambda c: clearance(*c))


def county_point(page: Any, code: str) -> tuple[float, float]:
    """Where the county is on the page (a point inside it)."""
    features = json.loads((GEO / "520000.json").read_text(encoding="utf-8"))["features"]
    feature = next(f for f in features if f["properties"]["adcode"] == code)
    x, y = page.evaluate(
        f"([lng, lat]) => ({INSTANCE})('#risk-map').convertToPixel({{seriesIndex: 0}}, [lng, lat])",
        list(inside_point(feature)),
    )
    box = page.locator("#risk-map").bounding_box()
    return box["x"] + x, box["y"] + y


def click_county(page: Any, code: str) -> None:
    page.mouse.click(*county_point(page, code))


def hover_county(page: Any, code: str) -> None:
    x, y = county_point(page, code)
    page.mouse.move(x - 2, y)
    page.mouse.move(x, y)


def drawn_colour(page: Any, code: str) -> str:
    return str(
        page.evaluate(
            f"""code => {{
                const chart = ({INSTANCE})('#risk-map');
                const index = chart.getOption().series[0].data.findIndex(d => d.name === code);
                return chart.getVisual({{seriesIndex: 0, dataIndex: index}}, 'color');
            }}""",
            code,
        )
    ).lower()


def test_province_map_colours_counties_and_drills_down(desk: tuple[Any, list[str]]) -> None:
    page, requested = desk
    nanming = Region.objects.get(code=NANMING)
    assert current_levels([nanming])[nanming.pk].level == "MEDIUM", "demo: 南明区 is MEDIUM"
    set_risk_level(User.objects.get(username="gz_admin"), nanming, "HIGH", reason="浏览器测试")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    staff_login(page, "gz_admin")
    page.goto(reverse("dashboard:regional"))

    mapped = page.get_by_test_id("risk-map")
    expect(mapped).to_have_attribute("data-view", "520000")
    counties = Region.objects.filter(level=RegionLevel.COUNTY, code__startswith="52").count()
    assert counties == 88
    expect(mapped).to_have_attribute("data-counties", str(counties))
    regions = page.evaluate(f"() => ({INSTANCE})('#risk-map').getOption().series[0].data.length")
    assert regions == counties
    assert drawn_colour(page, NANMING) == HIGH_COLOUR
    assert drawn_colour(page, "520302") == HIGH_COLOUR, "demo: 红花岗区 is HIGH"
    assert drawn_colour(page, "520115") != HIGH_COLOUR, "demo: 观山湖区 is LOW"
    with translation.override("zh-hans"):
        labels = chart_labels()
    pieces = page.evaluate(f"() => ({INSTANCE})('#risk-map').getOption().visualMap[0].pieces")
    assert [p["label"] for p in pieces] == ["暂无数据", "低风险", "中风险", "高风险"]
    assert [p["label"] for p in pieces][1:] == [
        labels["levels"][k] for k in ("LOW", "MEDIUM", "HIGH")
    ]

    click_county(page, KAIYANG)  # a click on a county of Guiyang opens Guiyang's counties
    expect(mapped).to_have_attribute("data-view", GUIYANG)
    in_guiyang = Region.objects.filter(parent__code=GUIYANG, level=RegionLevel.COUNTY).count()
    expect(mapped).to_have_attribute("data-counties", str(in_guiyang))
    expect(page.get_by_test_id("risk-map-back")).to_be_visible()
    expect(page.get_by_test_id("risk-map-open")).to_have_attribute("href", f"?region={GUIYANG}")
    # The tooltip names the county, its level and since when (never its code).
    hover_county(page, NANMING)
    tooltip = page.locator("#risk-map div").filter(has_text="南明区").last
    since = current_levels([nanming])[nanming.pk].effective_from
    expect(tooltip).to_contain_text("高风险")
    expect(tooltip).to_contain_text(f"自 {timezone.localtime(since):%Y-%m-%d %H:%M} 起")
    assert NANMING not in tooltip.inner_text()

    page.get_by_test_id("risk-map-back").click()
    expect(mapped).to_have_attribute("data-view", "520000")
    click_county(page, KAIYANG)
    expect(mapped).to_have_attribute("data-view", GUIYANG)
    with page.expect_navigation():
        click_county(page, KAIYANG)  # in the prefecture, a county opens its own figures
    assert parse_qs(urlsplit(page.url).query)["region"] == [KAIYANG]
    expect(page.locator("h1")).to_contain_text("开阳县")
    expect(mapped).to_have_attribute("data-view", KAIYANG)
    expect(mapped).to_have_attribute("data-counties", "1")
    assert not errors, errors
    assert {urlsplit(u).hostname for u in requested} <= LOCAL, requested


def test_charts_are_wide_chinese_and_say_when_empty(desk: tuple[Any, list[str]]) -> None:
    page, requested = desk
    assert not Registration.objects.exists(), "no arrival: the arrivals chart is empty"
    staff_login(page, "gz_admin")
    page.goto(reverse("dashboard:regional"))
    page.wait_for_function("() => window.charts === 6")
    with translation.override("zh-hans"):
        labels = chart_labels()

    for name in CHARTS:
        selector = f"#chart-{name}"
        card = page.locator(selector).locator("xpath=..")
        width = card.bounding_box()["width"]
        assert width >= 560, f"{selector}'s card is {width} px wide at 1440 px"
        height = page.locator(selector).bounding_box()["height"]
        assert height >= 320, f"{selector} is {height} px high"
        option = page.evaluate(f"() => ({INSTANCE})('{selector}').getOption()")
        words = [s.get("name", "") for s in option.get("series", [])]
        words += [a.get("name", "") for key in ("xAxis", "yAxis") for a in option.get(key, [])]
        for word in filter(None, words):
            assert not word.isascii(), f"{selector} writes {word!r}"

    risk = page.evaluate(f"() => ({INSTANCE})('#chart-risk').getOption()")
    assert [s["name"] for s in risk["series"]] == [
        labels["levels"][k] for k in ("LOW", "MEDIUM", "HIGH", "UNASSESSED")
    ]
    assert risk["grid"][0]["containLabel"] is True, "axis labels are measured, not cut"
    bookings = page.evaluate(f"() => ({INSTANCE})('#chart-bookings').getOption()")
    assert bookings["series"][0]["name"] == labels["series"]["used"] == "已预约占容量比例"
    assert bookings["xAxis"][0]["max"] >= 100

    arrivals = page.locator("#chart-arrivals")
    expect(arrivals).to_have_attribute("data-empty", "1")
    title = page.evaluate(f"() => ({INSTANCE})('#chart-arrivals').getOption().title[0].text")
    assert title == "暂无数据"
    assert page.locator("#chart-risk").get_attribute("data-empty") is None
    assert {urlsplit(u).hostname for u in requested} <= LOCAL, requested
