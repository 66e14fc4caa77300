from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trafficdesk.regions.models import Region
from trafficdesk.regions.rules import CaseCounts, code_prefix, parse_risk_level, suggest_risk_level
from trafficdesk.regions.services import load_divisions


def test_guizhou_has_its_cities_and_88_counties(db: Any) -> None:
    assert load_divisions("520000") == 98
    assert Region.objects.get(code="520000").name_zh == "贵州省"
    guizhou = Region.objects.filter(code__startswith="52")  # the demo loads the whole country
    cities = set(guizhou.filter(level="city").values_list("code", flat=True))
    assert cities == {
        "520100",
        "520200",
        "520300",
        "520400",
        "520500",
        "520600",
        "522300",
        "522600",
        "522700",
    }
    assert guizhou.filter(level="county").count() == 88
    guiyang = set(Region.objects.filter(parent__code="520100").values_list("name_zh", flat=True))
    assert {
        "南明区",
        "云岩区",
        "花溪区",
        "乌当区",
        "白云区",
        "观山湖区",
        "开阳县",
        "息烽县",
        "修文县",
        "清镇市",
    } == guiyang


def test_loading_twice_changes_nothing(db: Any) -> None:
    load_divisions("520000")
    ids = dict(Region.objects.values_list("code", "id"))
    load_divisions("520000")
    assert dict(Region.objects.values_list("code", "id")) == ids


@pytest.mark.parametrize("province", ["110000", "440000", "650000"])
def test_any_province_can_be_loaded(db: Any, province: str) -> None:
    count = load_divisions(province)
    assert count > 10
    root = Region.objects.get(code=province)
    assert all(root.contains(r) for r in Region.objects.filter(code__startswith=province[:2]))


def test_unknown_province_is_refused(db: Any) -> None:
    with pytest.raises(ValueError):
        load_divisions("990000")


def test_containment_follows_the_tree(db: Any) -> None:
    load_divisions("520000")
    province, guiyang, nanming = (
        Region.objects.get(code=c) for c in ("520000", "520100", "520102")
    )
    assert province.contains(guiyang) and guiyang.contains(nanming) and nanming.contains(nanming)
    assert not nanming.contains(guiyang)
    assert not Region.objects.get(code="520103").contains(nanming)


@pytest.mark.parametrize(
    ("total", "new", "cluster", "level"),
    [
        (0, 0, False, "LOW"),
        (30, 0, False, "LOW"),  # none new for 14 days
        (1, 1, False, "MEDIUM"),
        (50, 5, True, "MEDIUM"),  # at most 50 in total
        (51, 5, False, "MEDIUM"),  # more than 50, no cluster
        (51, 5, True, "HIGH"),  # more than 50 and a cluster
    ],
)
def test_r11_suggestion(total: int, new: int, cluster: bool, level: str) -> None:
    assert suggest_risk_level(CaseCounts(total, new, cluster)).level == level


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.booleans())
def test_suggestion_always_gives_a_level_and_reason(total: int, new: int, cluster: bool) -> None:
    if new > total or (cluster and new == 0):
        with pytest.raises(ValueError):
            suggest_risk_level(CaseCounts(total, new, cluster))
        return
    suggestion = suggest_risk_level(CaseCounts(total, new, cluster))
    assert (
        suggestion.level in {"LOW", "MEDIUM", "HIGH"}
        and suggestion.reason_zh
        and suggestion.reason_en
    )


@pytest.mark.parametrize(
    ("raw", "level"), [("高", "HIGH"), ("中风险", "MEDIUM"), (" low ", "LOW"), ("High", "HIGH")]
)
def test_risk_level_aliases(raw: str, level: str) -> None:
    assert parse_risk_level(raw) == level


def test_code_prefix() -> None:
    assert (
        code_prefix("520000"),
        code_prefix("520100"),
        code_prefix("520102"),
        code_prefix("52"),
    ) == (
        "52",
        "5201",
        "520102",
        "52",
    )
