"""The policy against the database: phases, versions, cache reload, events, API and pages."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from trafficdesk.accounts.models import User
from trafficdesk.audit.models import AuditEntry
from trafficdesk.catalog.models import Business
from trafficdesk.policy import citizen, services
from trafficdesk.policy.document import default_policy
from trafficdesk.policy.models import DomainEvent, EventKind, PhaseSetting
from trafficdesk.regions.models import Region
from trafficdesk.regions.services import set_risk_level
from trafficdesk.sites.models import ServicePoint


def region(code: str) -> Region:
    return Region.objects.select_related("parent").get(code=code)


def point(code: str) -> ServicePoint:
    return ServicePoint.objects.select_related("region").get(code=code)


def business(code: str) -> Business:
    return Business.objects.select_related("category").get(code=code)


def test_phase_is_inherited_from_the_nearest_region(demo: Any) -> None:
    phases = services.phases_in_force([region("520115"), region("520302"), region("520100")])
    assert phases[region("520115").pk] == 3  # Guiyang city setting
    assert phases[region("520302").pk] == 2  # province setting (Zunyi has none)


def test_county_setting_overrides_city_and_future_settings_wait(users: dict[str, Any]) -> None:
    services.set_phase(users["gz_admin"], region("520115"), 1, reason="局部收紧")
    services.set_phase(
        users["gz_admin"],
        region("520111"),
        0,
        reason="明天起",
        effective_from=timezone.now() + timedelta(days=1),
    )
    phases = services.phases_in_force([region("520115"), region("520111")])
    assert phases[region("520115").pk] == 1 and phases[region("520111").pk] == 3
    tomorrow = timezone.now() + timedelta(days=2)
    assert services.phases_in_force([region("520111")], tomorrow)[region("520111").pk] == 0


def test_set_phase_is_scoped_audited_and_recorded_as_an_event(users: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        services.set_phase(users["nanming_admin"], region("520103"), 1, reason="x")
    assert AuditEntry.objects.filter(action="phase.set", outcome="denied").exists()
    services.set_phase(users["nanming_admin"], region("520102"), 1, reason="收紧")
    assert AuditEntry.objects.filter(
        action="phase.set", outcome="ok", actor_label="nanming_admin"
    ).exists()
    event = DomainEvent.objects.filter(kind=EventKind.PHASE_CHANGED).first()
    assert event is not None and event.region == region("520102") and event.payload["phase"] == 1
    with pytest.raises(services.InvalidPolicyChange):
        services.set_phase(users["gz_admin"], region("520102"), 4, reason="x")
    with pytest.raises(PermissionDenied):
        services.set_phase(users["clerk"], region("520115"), 1, reason="x")


def test_risk_change_emits_a_domain_event_in_the_same_transaction(users: dict[str, Any]) -> None:
    set_risk_level(users["gz_admin"], region("520115"), "HIGH", reason="聚集性疫情")
    event = DomainEvent.objects.filter(kind=EventKind.RISK_CHANGED, region=region("520115")).first()
    assert event is not None and event.payload["level"] == "HIGH"


def test_signal_subscribers_hear_about_changes(
    users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    heard: list[DomainEvent] = []

    def listener(sender: Any, event: DomainEvent, **kwargs: Any) -> None:
        heard.append(event)

    services.policy_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            set_risk_level(users["gz_admin"], region("520115"), "MEDIUM", reason="x")
            services.set_phase(users["gz_admin"], region("520115"), 2, reason="y")
    finally:
        services.policy_changed.disconnect(listener)
    assert [e.kind for e in heard] == [EventKind.RISK_CHANGED, EventKind.PHASE_CHANGED]


def test_decisions_follow_risk_changes(users: dict[str, Any]) -> None:
    hall, plates = point("GY-HALL-01"), business("P01")
    assert services.decide_for(hall, plates, "GENERAL").open
    set_risk_level(users["gz_admin"], hall.region, "HIGH", reason="聚集性疫情")
    general = services.decide_for(hall, plates, "GENERAL")
    emergency = services.decide_for(hall, plates, "EMERGENCY")
    assert not general.open and emergency.open and emergency.window_kinds == ("emergency",)


def test_publishing_a_policy_reloads_it(
    users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    document = default_policy().model_dump(mode="json")
    document["capacity_factor"] = {"LOW": 0.8, "MEDIUM": 0.4, "HIGH": 0.2}
    before = services.current_version_id()
    with django_capture_on_commit_callbacks(execute=True):
        version = services.publish_policy(users["gz_admin"], document, reason="收紧限流")
    assert services.current_version_id() == version.pk != before
    assert services.current_policy().capacity_factor["LOW"] == 0.8
    decision = services.decide_for(point("GY-HALL-01"), business("P01"), "GENERAL")
    assert decision.capacity_factor == 0.8
    assert AuditEntry.objects.filter(action="policy.publish").exists()
    assert DomainEvent.objects.filter(kind=EventKind.POLICY_CHANGED).exists()


def test_a_future_policy_waits_for_its_time(
    users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    document = default_policy().model_dump(mode="json")
    document["capacity_factor"] = {"LOW": 0.9, "MEDIUM": 0.5, "HIGH": 0.3}
    with django_capture_on_commit_callbacks(execute=True):
        version = services.publish_policy(
            users["gz_admin"],
            document,
            reason="下周",
            effective_from=timezone.now() + timedelta(days=7),
        )
    assert services.current_version_id() != version.pk
    assert services.current_version_id(timezone.now() + timedelta(days=8)) == version.pk


def test_an_invalid_policy_is_refused_with_the_reason(users: dict[str, Any]) -> None:
    document = default_policy().model_dump(mode="json")
    document["level_phase_cap"]["HIGH"] = 3
    with pytest.raises(services.InvalidPolicyChange, match="phase caps"):
        services.publish_policy(users["gz_admin"], document, reason="x")


def test_open_services_in_a_low_county(demo: Any) -> None:
    answer = services.open_services(region("520115"), business("P01"), "GENERAL")
    assert [a.point.code for a in answer.open] == ["GY-HALL-01"]
    assert answer.open[0].open_windows >= 1


def test_open_services_explains_closed_points_and_finds_nearby(demo: Any) -> None:
    answer = services.open_services(region("520102"), business("A01"), "GENERAL")
    assert not answer.open
    closed = {a.point.code: {r.rule for r in a.decision.reasons} for a in answer.closed}
    assert "R3.POINT_KIND_NOT_YET" in closed["GY-QC-NM"] and "R3.PHASE_CAPPED" in closed["GY-QC-NM"]
    assert answer.nearby == [] or all(a.can_go_today for a in answer.nearby)


def test_open_next_ranks_by_readiness(demo: Any) -> None:
    ranked = [p.code for p, _open in services.open_next(region("520100"))]
    assert ranked[0] == "GY-HALL-01"  # complete PPE, diversion 5, largest hall area
    assert ranked.index("GY-QC-NM") > ranked.index(
        "GY-BR-QZ"
    )  # incomplete PPE ranks after complete
    assert ranked[-1] in {"GY-QC-NM", "GY-SS-YY"}


# --- API -----------------------------------------------------------------------------------


def test_decisions_api(client: Client, demo: Any) -> None:
    body = client.get(
        "/api/v1/decisions", {"point": "GY-HALL-01", "business": "P01", "class": "GENERAL"}
    ).json()
    assert body["open"] and body["window_kinds"] == ["normal"] and not body["appointment_required"]
    assert {r["rule"] for r in body["reasons"]} >= {"R1.LOW.OPEN", "R12.MORE_WINDOWS"}


def test_open_services_api(client: Client, demo: Any) -> None:
    body = client.get(
        "/api/v1/open-services", {"region": "520102", "business": "A01", "class": "GENERAL"}
    ).json()
    assert body["open"] == [] and body["closed"][0]["decision"]["reasons"]
    # The plain sentence a citizen reads on the page, beside the precise rules.
    centre = body["closed"][0]
    point = ServicePoint.objects.get(code=centre["code"])
    decision = services.decide_for(point, business("A01"), "GENERAL")
    assert centre["why"] == citizen.plain_reason(decision, point.kind)
    assert centre["phone"] == point.phone and centre["distance_km"] is not None
    city = client.get("/api/v1/open-services", {"region": "520100", "business": "P01"}).json()
    assert "GY-HALL-01" in {p["code"] for p in city["open"]}


@pytest.mark.parametrize(
    "params",
    [
        {"point": "NOPE", "business": "P01"},
        {"point": "GY-HALL-01", "business": "NOPE"},
        {"point": "GY-HALL-01", "business": "P01", "class": "VIP"},
        {"point": "GY-HALL-01", "business": "P01", "at": "yesterday"},
        {"business": "P01"},
    ],
)
def test_decisions_api_bad_input_is_4xx(client: Client, demo: Any, params: dict[str, str]) -> None:
    assert client.get("/api/v1/decisions", params).status_code in (404, 422)


def test_phase_and_policy_api(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["nanming_admin"])
    ok = client.post(
        "/api/v1/policy/phases",
        json.dumps({"region": "520102", "phase": 1, "reason": "收紧"}),
        content_type="application/json",
    )
    assert ok.status_code == 201
    denied = client.post(
        "/api/v1/policy/phases",
        json.dumps({"region": "520103", "phase": 1, "reason": "x"}),
        content_type="application/json",
    )
    assert denied.status_code == 403 and "520103" in denied.json()["detail"]
    county = client.post(
        "/api/v1/policy/versions",
        json.dumps({"document": {"x": 1}, "reason": "x"}),
        content_type="application/json",
    )
    assert county.status_code == 403, "the province's policy is published by the province"
    client.force_login(users["gz_admin"])
    bad = client.post(
        "/api/v1/policy/versions",
        json.dumps({"document": {"x": 1}, "reason": "x"}),
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["detail"]
    assert client.get("/api/v1/policy").json()["document"]["level_phase_cap"]["HIGH"] == 0
    ranked = client.get("/api/v1/policy/open-next", {"region": "520100"}).json()
    assert ranked[0]["code"] == "GY-HALL-01" and ranked[0]["rank"] == 1


# --- pages and admin -------------------------------------------------------------------------


def test_public_page_answers(client: Client, demo: Any) -> None:
    page = client.get("/open/", {"county": "520115", "business": "P01", "class": "GENERAL"})
    assert page.status_code == 200 and "GY-HALL-01" in page.content.decode()
    partial = client.get("/open/", {"county": "520102", "business": "A01"}, HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    # Citizens read one plain sentence; the rule's code and its phase arithmetic are for staff.
    assert "<html" not in html and 'data-testid="why"' in html
    assert "R3.POINT_KIND_NOT_YET" not in html and "第2阶段" not in html
    client.force_login(User.objects.get(username="gz_admin"))
    staff = client.get("/open/", {"county": "520102", "business": "A01"}, HTTP_HX_REQUEST="true")
    assert 'data-rule="R3.POINT_KIND_NOT_YET"' in staff.content.decode()
    assert client.get("/open/", {"county": "999999", "business": "P01"}).status_code == 422


def test_admin_overview_and_policy_pages(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["gz_admin"])
    overview = client.get("/open/overview/")
    assert overview.status_code == 200 and 'data-testid="open-next"' in overview.content.decode()
    add = client.get("/admin/policy/policyversion/add/")
    assert add.status_code == 200 and "level_phase_cap" in add.content.decode()
    document = default_policy().model_dump(mode="json")
    document["capacity_factor"]["LOW"] = 0.9
    response = client.post(
        "/admin/policy/policyversion/add/",
        {
            "document": json.dumps(document),
            "effective_from_0": timezone.localdate().isoformat(),
            "effective_from_1": "00:00:00",
            "reason": "admin edit",
        },
    )
    assert response.status_code == 302
    bad = client.post(
        "/admin/policy/policyversion/add/",
        {
            "document": "{not json",
            "effective_from_0": "2026-11-25",
            "effective_from_1": "00:00:00",
            "reason": "x",
        },
    )
    assert bad.status_code == 200 and "JSON" in bad.content.decode()
    phase = client.post(
        "/admin/policy/phasesetting/add/",
        {
            "region": region("520111").pk,
            "phase": 1,
            "effective_from_0": "2026-11-25",
            "effective_from_1": "00:00:00",
            "reason": "admin phase",
        },
    )
    assert phase.status_code == 302
    assert PhaseSetting.objects.filter(reason="admin phase").exists()


def test_county_admin_cannot_set_another_countys_phase_in_admin(
    client: Client, users: dict[str, Any]
) -> None:
    client.force_login(users["nanming_admin"])
    response = client.post(
        "/admin/policy/phasesetting/add/",
        {
            "region": region("520103").pk,
            "phase": 1,
            "effective_from_0": "2026-11-25",
            "effective_from_1": "00:00:00",
            "reason": "x",
        },
    )
    assert response.status_code == 200
    assert not PhaseSetting.objects.filter(region__code="520103").exists()


def test_overview_is_for_administrators_only(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["clerk"])
    assert client.get("/open/overview/").status_code == 403


def test_a_naive_moment_from_an_api_client_is_read_in_the_configured_zone(
    client: Client, users: dict[str, Any]
) -> None:
    client.force_login(users["gz_admin"])
    response = client.post(
        "/api/v1/policy/phases",
        json.dumps(
            {
                "region": "520102",
                "phase": 2,
                "reason": "naive",
                "effective_from": "2026-12-01T09:00",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content[:300]
    assert (
        client.get(
            "/api/v1/decisions",
            {"point": "GY-HALL-01", "business": "P01", "at": "2026-12-01T10:00"},
        ).status_code
        == 200
    )


def test_public_page_offers_counties_by_city_and_sees_a_rename_at_once(
    client: Client, demo: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from trafficdesk.regions.models import Region

    first = client.get("/open/").content.decode()
    county = Region.objects.get(code="520115")
    assert f'<optgroup label="{county.parent.name_zh}">' in first
    assert f'<option value="520115">{county.name_zh}</option>' in first

    def form(page: str) -> str:  # the form, without the page's per-request CSRF token
        return page.split('data-testid="open-form"', 1)[1].split("</form>", 1)[0]

    with CaptureQueriesContext(connection) as again:
        assert form(client.get("/open/").content.decode()) == form(first)
    assert not [q for q in again.captured_queries if "regions_region" in q["sql"]]
    county.name_zh = "观山湖新区"
    county.save()
    assert '<option value="520115">观山湖新区</option>' in client.get("/open/").content.decode()


def test_public_page_keeps_the_chosen_county_and_business_selected(
    client: Client, demo: Any
) -> None:
    page = client.get("/open/", {"county": "520115", "business": "P01"}).content.decode()
    form = page.split('data-testid="open-form"', 1)[1].split("</form>", 1)[0]
    assert form.count(" selected>") == 3  # county, business, and the applicant class
    assert '<option value="520115" selected>' in page and '<option value="P01" selected>' in page
    other = client.get("/open/", {"county": "520102", "business": "A01"}).content.decode()
    assert '<option value="520102" selected>' in other and '<option value="520115">' in other
