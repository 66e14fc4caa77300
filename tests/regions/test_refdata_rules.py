"""Issue 17 (reference data): impossible case counts are refused by the one rule that makes
the risk suggestion, and by the API that offers it (a plain 422)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from trafficdesk.regions.rules import CaseCounts, ImpossibleCounts, suggest_risk_level

URL = "/api/v1/regions/risk-suggestion"


@pytest.mark.parametrize("total", [0, 1, 30, 51])
def test_a_cluster_with_no_new_case_is_impossible(total: int) -> None:
    with pytest.raises(ImpossibleCounts) as info:
        suggest_risk_level(CaseCounts(total, 0, True))
    assert "新增" in info.value.message("zh-hans")
    assert "cluster" in info.value.message("en")


def test_no_new_case_and_no_cluster_is_still_low() -> None:
    assert suggest_risk_level(CaseCounts(30, 0, False)).level == "LOW"


def test_the_api_refuses_a_cluster_with_no_new_case(client: Client, db: Any) -> None:
    payload = {
        "total_confirmed": 60,
        "new_in_last_14_days": 0,
        "cluster_outbreak_in_last_14_days": True,
    }
    response = client.post(URL, payload, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_counts"
    assert "聚集性疫情" in response.json()["detail"]
    english = client.post(URL, payload, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 422
    assert english.json()["detail"].startswith("A cluster outbreak within 14 days")


def test_the_api_still_refuses_more_new_cases_than_in_total(client: Client, db: Any) -> None:
    payload = {
        "total_confirmed": 3,
        "new_in_last_14_days": 4,
        "cluster_outbreak_in_last_14_days": False,
    }
    response = client.post(URL, payload, content_type="application/json")
    assert response.status_code == 422 and response.json()["code"] == "invalid_counts"


def test_every_current_division_is_known_to_the_id_check() -> None:
    """historical_divisions.csv must be regenerated when divisions.csv changes."""
    import csv

    from trafficdesk.core.validators import known_region_codes
    from trafficdesk.regions.services import DIVISIONS_CSV

    with DIVISIONS_CSV.open(encoding="utf-8", newline="") as handle:
        current = {row["code"] for row in csv.DictReader(handle)}
    assert current <= known_region_codes()
    assert {"110103", "810000", "820000", "830000"} <= known_region_codes()
    assert "529999" not in known_region_codes()
