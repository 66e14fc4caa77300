from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from trafficdesk.audit.models import AuditEntry
from trafficdesk.core.validators import id_check_char
from trafficdesk.deferral import services
from trafficdesk.deferral.models import DeferralWindow
from trafficdesk.demo.services import DEMO_DRIVERS
from trafficdesk.regions.models import Region


def demo_id(index: int) -> str:
    raw = DEMO_DRIVERS[index][0]
    return raw[:17] + id_check_char(raw[:17])


def test_clerk_looks_up_a_driver_and_the_look_up_is_audited(users: dict[str, Any]) -> None:
    driver, answers = services.check_person(users["clerk"], demo_id(0))
    assert driver is not None and driver.id_masked.count("*") == 10
    assert answers[0].kind == "renewal" and answers[0].result.standing == "deferred"
    assert AuditEntry.objects.filter(action="personal_data.lookup", actor_label="clerk").exists()


def test_vehicle_by_plate(users: dict[str, Any]) -> None:
    vehicle, answers = services.check_vehicle(users["clerk"], "贵A12345")
    assert vehicle is not None and answers[0].result.standing == "deferred"
    with pytest.raises(services.DeferralError):
        services.check_vehicle(users["clerk"], "not a plate")


def test_citizens_and_officers_cannot_look_people_up(users: dict[str, Any], db: Any) -> None:
    from trafficdesk.accounts.models import User

    citizen = User.objects.create(username="c-def", mobile="13955550000")
    for actor in (citizen, users["officer"], users["auditor"]):
        with pytest.raises(PermissionDenied):
            services.check_person(actor, demo_id(0))


def test_announcing_the_end_makes_late_ones_penalisable(users: dict[str, Any]) -> None:
    window = DeferralWindow.objects.get()
    today = timezone.localdate()
    services.announce_end(users["gz_admin"], window, today - timedelta(days=45), grace_days=10)
    _driver, answers = services.check_person(users["clerk"], demo_id(0))  # renewal due 40 days ago
    assert answers[0].result.standing == "penalisable"
    assert AuditEntry.objects.filter(action="deferral.close").exists()


def test_opening_windows_is_scoped_and_validated(users: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        services.open_window(
            users["nanming_admin"],
            Region.objects.get(code="520103"),
            name="x",
            starts_on=date(2026, 1, 1),
        )
    with pytest.raises(services.DeferralError):
        services.open_window(
            users["gz_admin"],
            Region.objects.get(code="520000"),
            name="x",
            starts_on=date(2026, 2, 1),
            ends_on=date(2026, 1, 1),
        )
    window = services.open_window(
        users["nanming_admin"],
        Region.objects.get(code="520102"),
        name="南明",
        starts_on=date(2026, 1, 1),
        kinds=("inspection",),
    )
    assert window.covers_inspection and not window.covers_renewal


def test_ending_soon_report(users: dict[str, Any]) -> None:
    window = DeferralWindow.objects.get()
    today = timezone.localdate()
    services.announce_end(users["gz_admin"], window, today - timedelta(days=1), grace_days=5)
    rows = services.ending_soon(users["gz_admin"], 7)
    kinds = {(r.kind, r.new_deadline) for r in rows}
    assert ("renewal", today + timedelta(days=4)) in kinds and (
        "inspection",
        today + timedelta(days=4),
    ) in kinds
    assert all("*" in r.who or r.kind == "inspection" for r in rows)
    assert services.ending_soon(users["gz_admin"], 2) == []
    with pytest.raises(PermissionDenied):
        services.ending_soon(users["clerk"], 7)


def test_api(client: Client, users: dict[str, Any]) -> None:
    response = client.get(
        "/api/v1/deferral/check", {"kind": "inspection", "due": "2020-01-01", "on": "2020-02-01"}
    )
    assert response.status_code == 200 and response.json()["penalty"] is True
    assert (
        client.get("/api/v1/deferral/check", {"kind": "x", "due": "2020-01-01"}).status_code == 422
    )
    assert (
        client.post(
            "/api/v1/deferral/lookup", {"plate": "贵A12345"}, content_type="application/json"
        ).status_code
        == 401
    )
    client.force_login(users["clerk"])
    found = client.post(
        "/api/v1/deferral/lookup", {"plate": "贵A12345"}, content_type="application/json"
    ).json()
    assert found["found"] and found["deadlines"][0]["standing"] == "deferred"
    assert (
        client.post("/api/v1/deferral/lookup", {}, content_type="application/json").status_code
        == 422
    )
    assert client.get("/api/v1/deferral/ending-soon").status_code == 403
    client.force_login(users["gz_admin"])
    assert client.get("/api/v1/deferral/ending-soon", {"days": 30}).status_code == 200


def test_pages(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["clerk"])
    page = client.post("/deferral/lookup/", {"query": demo_id(1)})
    assert page.status_code == 200 and 'data-testid="deadlines"' in page.content.decode()
    assert demo_id(1) not in page.content.decode()
    client.force_login(users["gz_admin"])
    assert client.get("/deferral/report/?days=30").status_code == 200
