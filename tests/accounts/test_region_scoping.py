"""A staff member acts only within their region: a county administrator cannot change
another county, through the service, the API, the admin or the web page."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from trafficdesk.audit.models import AuditEntry
from trafficdesk.regions import services
from trafficdesk.regions.models import Region, RiskAssessment


def _region(code: str) -> Region:
    return Region.objects.get(code=code)


def test_county_admin_sets_own_county(users: dict[str, Any]) -> None:
    assessment = services.set_risk_level(
        users["nanming_admin"], _region("520102"), "HIGH", reason="新增聚集性疫情"
    )
    assert assessment.region.code == "520102"
    assert _region("520102").current_risk().level == "HIGH"


def test_county_admin_cannot_change_another_county(users: dict[str, Any]) -> None:
    before = RiskAssessment.objects.filter(region__code="520103").count()
    with pytest.raises(PermissionDenied, match="520103"):
        services.set_risk_level(users["nanming_admin"], _region("520103"), "HIGH", reason="x")
    assert RiskAssessment.objects.filter(region__code="520103").count() == before
    denied = AuditEntry.objects.filter(action="risk.set", outcome="denied").get()
    assert denied.actor_label == "nanming_admin" and denied.object_id == str(_region("520103").pk)


def test_provincial_admin_changes_any_guizhou_county(users: dict[str, Any]) -> None:
    for code in ("520103", "522301", "520602"):
        services.set_risk_level(users["gz_admin"], _region(code), "MEDIUM", reason="复核")
        assert _region(code).current_risk().level == "MEDIUM"


def test_other_roles_cannot_set_risk_even_in_their_region(users: dict[str, Any]) -> None:
    for username in ("clerk", "manager", "officer", "auditor"):
        with pytest.raises(PermissionDenied):
            services.set_risk_level(users[username], _region("520115"), "HIGH", reason="x")


def test_risk_is_set_per_county_not_per_city(users: dict[str, Any]) -> None:
    with pytest.raises(services.InvalidRiskChange):
        services.set_risk_level(users["gz_admin"], _region("520100"), "HIGH", reason="x")


def test_api_refuses_out_of_region_change_with_403_and_reason(
    client: Client, users: dict[str, Any]
) -> None:
    client.force_login(users["nanming_admin"])
    response = client.post(
        "/api/v1/regions/520103/risk",
        data=json.dumps({"level": "HIGH", "reason": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "520103" in response.json()["detail"]
    ok = client.post(
        "/api/v1/regions/520102/risk",
        data=json.dumps({"level": "LOW", "reason": "连续14天无新增"}),
        content_type="application/json",
    )
    assert ok.status_code == 201 and ok.json()["level"] == "LOW"


def test_admin_lists_only_own_region_and_refuses_other_county(
    client: Client, users: dict[str, Any]
) -> None:
    client.force_login(users["nanming_admin"])
    listing = client.get("/admin/regions/riskassessment/")
    assert listing.status_code == 200
    codes = {a.region.code for a in listing.context["cl"].result_list}
    assert codes == {"520102"}
    other = _region("520103")
    response = client.post(
        "/admin/regions/riskassessment/add/",
        {
            "region": other.pk,
            "level": "HIGH",
            "effective_from_0": "2026-11-25",
            "effective_from_1": "10:00:00",
            "reason": "x",
        },
    )
    assert response.status_code == 200  # the form is shown again with the error
    assert not RiskAssessment.objects.filter(region=other, level="HIGH", reason="x").exists()


def test_admin_service_points_are_scoped(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["nanming_admin"])
    listing = client.get("/admin/sites/servicepoint/")
    assert {p.code for p in listing.context["cl"].result_list} == {"GY-QC-NM"}
    hall = listing.context["cl"].model.objects.get(code="GY-HALL-01")
    assert client.get(f"/admin/sites/servicepoint/{hall.pk}/change/").status_code in (302, 404)


def test_web_page_shows_why_other_county_cannot_be_changed(
    client: Client, users: dict[str, Any]
) -> None:
    client.force_login(users["nanming_admin"])
    page = client.get("/regions/risk/520103/").content.decode()
    assert "520103" in page and 'role="alert"' in page
    assert client.post("/regions/risk/520103/", {"level": "HIGH", "reason": "x"}).status_code == 403
