"""Reference data through /api/v1/: regions, risk levels, catalogue, service points."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client


def test_openapi_schema_lists_the_routes(client: Client, db: Any) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "TrafficDesk API"
    for route in (
        "/api/v1/regions/",
        "/api/v1/regions/{code}",
        "/api/v1/catalog/businesses",
        "/api/v1/sites/service-points",
        "/api/v1/accounts/otp/request",
    ):
        assert route in schema["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_regions_list_and_filter(client: Client, demo: Any) -> None:
    counties = client.get("/api/v1/regions/", {"parent": "520100"}).json()
    assert len(counties) == 10 and {c["parent_code"] for c in counties} == {"520100"}
    provinces = client.get("/api/v1/regions/", {"level": "province"}).json()
    codes = [p["code"] for p in provinces]
    assert len(codes) == 34 and "520000" in codes and codes == sorted(codes), "all of China"
    assert {p["level"] for p in provinces} == {"province"}


def test_region_detail_has_current_risk(client: Client, demo: Any) -> None:
    body = client.get("/api/v1/regions/520302").json()
    assert body["name_zh"] == "红花岗区" and body["current_risk"]["level"] == "HIGH"
    assert body["current_risk"]["reason"]


def test_current_risk_levels_for_a_city(client: Client, demo: Any) -> None:
    levels = client.get("/api/v1/regions/risk-levels", {"under": "520100"}).json()
    assert len(levels) == 10
    assert {entry["region_code"]: entry["level"] for entry in levels}["520102"] == "MEDIUM"


def test_risk_history_is_newest_first(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["gz_admin"])
    client.post(
        "/api/v1/regions/520111/risk",
        json.dumps({"level": "HIGH", "reason": "聚集"}),
        content_type="application/json",
    )
    history = client.get("/api/v1/regions/520111/risk").json()
    assert [h["level"] for h in history][:2] == ["HIGH", "LOW"]
    assert history[0]["author"] == "gz_admin"


def test_setting_risk_needs_login(client: Client, demo: Any) -> None:
    response = client.post(
        "/api/v1/regions/520111/risk",
        json.dumps({"level": "HIGH", "reason": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 401


def test_risk_suggestion(client: Client, db: Any) -> None:
    payload = {
        "total_confirmed": 60,
        "new_in_last_14_days": 3,
        "cluster_outbreak_in_last_14_days": True,
    }
    assert (
        client.post(
            "/api/v1/regions/risk-suggestion", payload, content_type="application/json"
        ).json()["level"]
        == "HIGH"
    )
    bad = dict(payload, new_in_last_14_days=61)
    assert (
        client.post(
            "/api/v1/regions/risk-suggestion", bad, content_type="application/json"
        ).status_code
        == 422
    )


def test_catalogue_has_26_online_businesses(client: Client, demo: Any) -> None:
    online = client.get("/api/v1/catalog/businesses", {"online": "true"}).json()
    assert len(online) == 26
    assert {b["code"] for b in online} >= {"D01", "V01", "V07"}
    assert all(not b["on_site_required"] for b in online)
    mailed = {b["code"]: b["deliverable"] for b in online}
    assert (mailed["V01"], mailed["D01"], mailed["V05"], mailed["X02"]) == (
        "plate",
        "licence",
        "sticker",
        "",
    )
    assert len(client.get("/api/v1/catalog/categories").json()) == 7


def test_service_points_with_zones_and_windows(client: Client, demo: Any) -> None:
    points = client.get("/api/v1/sites/service-points", {"region": "520100"}).json()
    assert len(points) >= 4 and len({p["kind"] for p in points}) >= 4
    hall = client.get("/api/v1/sites/service-points/GY-HALL-01").json()
    assert hall["designated_emergency"] and hall["ppe_complete"]
    assert {w["kind"] for w in hall["windows"]} == {"normal", "emergency", "green"}
    assert all(z["occupancy_cap"] > 0 for z in hall["zones"])


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/regions/", {"parent": "abc"}),
        ("get", "/api/v1/regions/", {"level": "planet"}),
        ("get", "/api/v1/regions/999999", None),
        ("get", "/api/v1/sites/service-points/NOPE", None),
        ("get", "/api/v1/regions/risk-levels", {"under": "x"}),
        ("post", "/api/v1/accounts/otp/request", "not json"),
        ("post", "/api/v1/accounts/otp/verify", {"mobile": "13912345678"}),
    ],
)
def test_bad_input_is_a_clear_4xx(
    client: Client, demo: Any, method: str, path: str, body: Any
) -> None:
    if method == "get":
        response = client.get(path, body or {})
    else:
        data = body if isinstance(body, str) else json.dumps(body)
        response = client.post(path, data, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert response.json()
