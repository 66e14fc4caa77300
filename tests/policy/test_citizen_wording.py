"""What citizens are told (policy.citizen): one plain sentence of why, then ways forward
within a real distance; the staff hint never reaches them."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from trafficdesk.accounts.models import User
from trafficdesk.catalog.models import Business
from trafficdesk.core.vocabulary import RiskLevel
from trafficdesk.policy import citizen, services
from trafficdesk.policy.document import default_policy
from trafficdesk.policy.rules import BusinessFacts, Situation, decide
from trafficdesk.regions.models import Region
from trafficdesk.regions.services import set_risk_level
from trafficdesk.sites.models import ServicePoint

JARGON = re.compile(r"第\s*\d\s*阶段|phase \d|R\d\.|[A-Z]{3,}")


def _closed(
    level: str, phase: int, kind: str, category: str, cls: str, designated: bool = False
) -> Any:
    return decide(
        default_policy(),
        Situation(level, phase, kind, designated),
        BusinessFacts(category, False),
        cls,
    )


@pytest.mark.parametrize(
    ("level", "phase", "kind", "category", "cls", "designated"),
    [
        ("MEDIUM", 3, "quick_claim", "ACCIDENT", "GENERAL", False),
        ("HIGH", 3, "hall", "PLATE_LICENCE", "GENERAL", False),
        ("HIGH", 3, "hall", "PLATE_LICENCE", "GENERAL", True),
        ("HIGH", 3, "hall", "EXAM", "EMERGENCY", True),
        ("LOW", 0, "hall", "PLATE_LICENCE", "GENERAL", False),
        ("MEDIUM", 1, "hall", "VIOLATION", "GENERAL", False),
    ],
)
def test_every_closing_rule_has_one_plain_sentence(
    level: str, phase: int, kind: str, category: str, cls: str, designated: bool
) -> None:
    decision = _closed(level, phase, kind, category, cls, designated)
    assert not decision.open
    for language in ("zh-hans", "en"):
        with translation.override(language):
            sentence = citizen.plain_reason(decision, kind)
            assert sentence and not JARGON.search(sentence), sentence
            assert sentence != "This office does not offer this business to you now."
            assert sentence.count("。") <= 1 and sentence.count(". ") == 0, sentence
            if level in ("MEDIUM", "HIGH") and phase > 0:
                assert str(RiskLevel(level).label) in sentence, sentence


def test_the_medium_risk_quick_claim_centre_in_plain_chinese(demo: Any) -> None:
    point = ServicePoint.objects.select_related("region").get(code="GY-QC-NM")
    decision = services.decide_for(point, Business.objects.get(code="A01"), "GENERAL")
    with translation.override("zh-hans"):
        assert citizen.plain_reason(decision, point.kind) == (
            "该地区为中风险地区，此类场所（快处快赔中心）将在后续阶段恢复开放。"
        )


def test_open_places_nearby_are_within_the_radius_nearest_first(demo: Any) -> None:
    p01 = Business.objects.select_related("category").get(code="P01")
    wudang = Region.objects.select_related("parent").get(code="520112")  # no office of its own
    answer = services.open_services(wudang, p01, "GENERAL")
    assert not answer.open and answer.nearby
    kms = [a.km for a in answer.nearby]
    assert all(k is not None and k <= services.NEARBY_RADIUS_KM for k in kms)
    assert kms == sorted(kms)  # type: ignore[type-var]


def test_zunyi_is_not_offered_guiyang_as_nearby(demo: Any) -> None:
    p01 = Business.objects.select_related("category").get(code="P01")
    huichuan = Region.objects.select_related("parent").get(code="520303")  # 遵义市汇川区
    answer = services.open_services(huichuan, p01, "GENERAL")
    assert answer.nearby == []
    hall = ServicePoint.objects.select_related("region").get(code="GY-HALL-01")
    ways = citizen.ways_forward(hall, p01, "GENERAL", origin=services.region_point(huichuan))
    assert not [w for w in ways if w.kind == "service_point"]


def test_the_next_opening_date_comes_from_a_scheduled_change(demo: Any) -> None:
    point = ServicePoint.objects.select_related("region").get(code="GY-QC-NM")
    a01 = Business.objects.select_related("category").get(code="A01")
    assert services.next_open_at(point, a01, "GENERAL") is None
    when = timezone.now() + timedelta(days=3)
    set_risk_level(
        User.objects.get(username="gz_admin"),
        point.region,
        "LOW",
        reason="测试：三天后降为低风险",
        effective_from=when,
    )
    assert services.next_open_at(point, a01, "GENERAL") == when
    ways = citizen.ways_forward(point, a01, "GENERAL")
    assert "next_open" in [w.kind for w in ways]
    assert [w for w in ways if w.kind == "phone"][0].phone == point.phone


def test_the_staff_hint_never_reaches_the_open_page(client: Client, demo: Any) -> None:
    page = client.get("/open/", {"county": "520115", "business": "P01", "class": "GENERAL"})
    html = page.content.decode()
    with translation.override("zh-hans"):
        assert "建议根据需求增开窗口" not in html
    assert "R12" not in html and 'data-rule="' not in html
