"""Issue 17, item 4 (first part): only a registered kiosk of the hall (a device the hall
manager registered and can switch off) or the hall's staff issues tickets, and each kiosk is
rate-limited. The finding: anonymous POSTs to /api/v1/hall/{point}/walk-in took no login, CSRF
or rate limit, and 120 fake EMERGENCY tickets filled a zone to its cap in 2.6 s.

Demo facts: GY-HALL-01 (its clerk "clerk" and hall manager "manager"; gz_admin is over it,
nanming_admin is not); GY-BR-HX is another hall; P01 is served at GY-HALL-01."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tests.hallqueue.conftest import paired_kiosk
from trafficdesk.accounts.access import SYSTEM
from trafficdesk.audit.models import AuditEntry
from trafficdesk.hallqueue import services as hall_services
from trafficdesk.hallqueue.kiosk_http import KIOSK_COOKIE
from trafficdesk.hallqueue.models import KioskDevice, Ticket
from trafficdesk.sites.models import ServicePoint, Zone

HALL = "GY-HALL-01"
WALK_IN = f"/api/v1/hall/{HALL}/walk-in"
CHECK_IN = f"/api/v1/hall/{HALL}/check-in"
UNREGISTERED_ZH = "这台取号机未登记或已停用，请联系大厅负责人"
EMERGENCY = {"business": "P01", "applicant_class": "EMERGENCY"}


def _walk_in(client: Client, body: dict[str, Any] | None = None, **headers: Any) -> Any:
    return client.post(
        WALK_IN, body or {"business": "P01"}, content_type="application/json", **headers
    )


def _zones(point: ServicePoint) -> list[Zone]:
    return list(Zone.objects.filter(service_point=point))


# --- the finding -------------------------------------------------------------------------


def test_an_anonymous_flood_of_emergency_walk_ins_is_refused_and_fills_nothing(
    client: Client, hall: ServicePoint
) -> None:
    statuses = {_walk_in(client, EMERGENCY).status_code for _ in range(120)}
    assert statuses == {403}
    assert not Ticket.objects.filter(service_point=hall).exists()
    assert [zone.present for zone in _zones(hall)] == [0] * len(_zones(hall))


def test_a_kiosk_taken_over_cannot_flood_either_its_rate_stops_it(
    client: Client, hall: ServicePoint, kiosk_device: KioskDevice
) -> None:
    """The negative control of the flood: a registered kiosk does get tickets, and the same
    120 POSTs from it stop at KIOSK_RATE_PER_DEVICE (30 a minute), short of the zone's cap."""
    statuses = [_walk_in(client, EMERGENCY).status_code for _ in range(120)]
    assert statuses[:30] == [201] * 30 and set(statuses[30:]) == {429}
    assert Ticket.objects.filter(service_point=hall).count() == 30
    assert all(zone.present <= 30 < zone.occupancy_cap for zone in _zones(hall))


# --- who issues tickets ------------------------------------------------------------------


def test_a_registered_kiosk_gets_tickets_by_api_and_page(
    client: Client, hall: ServicePoint, kiosk_device: KioskDevice
) -> None:
    made = _walk_in(client)
    assert made.status_code == 201 and made.json()["label"] == "A001"
    page = client.post(reverse("hallqueue:kiosk", args=[HALL]), {"business": "P01"})
    assert page.status_code == 200 and 'data-testid="ticket-label"' in page.content.decode()
    kiosk_device.refresh_from_db()
    assert kiosk_device.last_seen_at is not None


def test_anonymous_api_and_page_are_told_to_ask_the_hall_manager(
    client: Client, hall: ServicePoint
) -> None:
    with translation.override("zh-hans"):
        api = _walk_in(client, HTTP_ACCEPT_LANGUAGE="zh-hans")
        check_in = client.post(CHECK_IN, {"token": "x" * 20}, content_type="application/json")
    assert api.status_code == 403 and api.json()["detail"] == UNREGISTERED_ZH
    assert check_in.status_code == 403
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("hallqueue:kiosk", args=[HALL]))
    html = page.content.decode()
    assert page.status_code == 403 and UNREGISTERED_ZH in html
    assert 'data-testid="walkin-form"' not in html and "Traceback" not in html
    posted = client.post(reverse("hallqueue:kiosk", args=[HALL]), {"business": "P01"})
    assert posted.status_code == 403
    assert not Ticket.objects.filter(service_point=hall).exists()


def test_a_switched_off_kiosk_is_refused(
    client: Client, hall: ServicePoint, kiosk_device: KioskDevice, users: dict[str, Any]
) -> None:
    assert _walk_in(client).status_code == 201
    hall_services.revoke_kiosk(users["manager"], kiosk_device)
    refused = _walk_in(client)
    assert refused.status_code == 403 and refused.json()["code"] == "kiosk.unregistered"
    assert client.get(reverse("hallqueue:kiosk", args=[HALL])).status_code == 403
    assert Ticket.objects.filter(service_point=hall).count() == 1


def test_a_made_up_token_is_refused(client: Client, hall: ServicePoint) -> None:
    client.cookies[KIOSK_COOKIE] = "made-up-token-" + "x" * 30
    assert _walk_in(client).status_code == 403


def test_a_kiosk_of_another_hall_is_refused_here(client: Client, demo: Any) -> None:
    other = ServicePoint.objects.get(code="GY-BR-HX")
    paired_kiosk(client, other)
    assert _walk_in(client).status_code == 403
    assert client.get(reverse("hallqueue:kiosk", args=[HALL])).status_code == 403
    assert client.get(reverse("hallqueue:kiosk", args=[other.code])).status_code == 200


def test_the_halls_staff_issue_tickets_others_do_not(
    client: Client, hall: ServicePoint, users: dict[str, Any]
) -> None:
    for name in ("clerk", "manager"):
        client.force_login(users[name])
        assert _walk_in(client).status_code == 201, name
    for name in ("gz_admin", "officer", "auditor"):
        client.force_login(users[name])
        assert _walk_in(client).status_code == 403, name


def test_a_cross_site_post_with_the_kiosk_cookie_is_refused(
    client: Client, hall: ServicePoint, kiosk_device: KioskDevice
) -> None:
    """The cookie is SameSite=Strict, and the API also wants same-site JSON: a form another
    site posts (text/plain or from another Origin) issues nothing."""
    other_origin = _walk_in(client, HTTP_ORIGIN="https://evil.example")
    as_form = client.post(WALK_IN, '{"business": "P01"}', content_type="text/plain")
    assert other_origin.status_code == 403 and as_form.status_code == 403
    assert not Ticket.objects.filter(service_point=hall).exists()
    assert _walk_in(client, HTTP_ORIGIN="http://testserver").status_code == 201


# --- the rate per kiosk ------------------------------------------------------------------


def test_over_its_rate_a_kiosk_waits_a_minute_then_goes_on(
    client: Client,
    hall: ServicePoint,
    kiosk_device: KioskDevice,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.KIOSK_RATE_PER_DEVICE = "3/m"
    assert [_walk_in(client).status_code for _ in range(3)] == [201, 201, 201]
    with translation.override("zh-hans"):
        over = _walk_in(client, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert over.status_code == 429 and over["Retry-After"] == "60"
    assert "取号" in over.json()["detail"]
    page = client.post(reverse("hallqueue:kiosk", args=[HALL]), {"business": "P01"})
    assert page.status_code == 429 and page["Retry-After"] == "60"
    assert 'data-testid="refusal"' in page.content.decode()
    other = paired_kiosk(Client(), hall, "二楼取号机")  # another kiosk has its own count
    assert other.pk != kiosk_device.pk
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 61)
    assert _walk_in(client).status_code == 201


# --- pairing -----------------------------------------------------------------------------


def test_the_pairing_link_works_once_and_sets_a_strict_httponly_cookie(
    client: Client, hall: ServicePoint, users: dict[str, Any]
) -> None:
    manager = Client()
    manager.force_login(users["manager"])
    shown = manager.post(reverse("hallqueue:kiosks", args=[HALL]), {"name": "一楼取号机"})
    assert shown.status_code == 200
    url = shown.context["pair_url"]
    assert url in shown.content.decode()
    device = KioskDevice.objects.get(service_point=hall, name="一楼取号机")
    assert "code=" in url and url.split("code=")[1] not in device.token_digest

    path = url.removeprefix("http://testserver")
    confirm = client.get(path)
    assert confirm.status_code == 200 and 'data-testid="pair"' in confirm.content.decode()
    assert KIOSK_COOKIE not in confirm.cookies
    code = url.split("code=")[1]
    paired = client.post(reverse("hallqueue:kiosk-pair", args=[HALL]), {"code": code})
    assert paired.status_code == 302 and paired["Location"] == f"/hall/{HALL}/kiosk/"
    cookie = paired.cookies[KIOSK_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert client.get(paired["Location"]).status_code == 200
    assert _walk_in(client).status_code == 201

    again = Client().post(reverse("hallqueue:kiosk-pair", args=[HALL]), {"code": code})
    assert again.status_code == 403  # the code was used up: a leaked link opens nothing
    assert KioskDevice.objects.filter(service_point=hall).count() == 1


# --- who registers and switches off kiosks (page and API alike) -----------------------------


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("manager", True),
        ("gz_admin", True),
        ("clerk", False),
        ("nanming_admin", False),
        ("auditor", False),
        ("citizen", False),
    ],
)
def test_only_the_halls_manager_or_an_admin_over_it_registers_kiosks(
    client: Client,
    hall: ServicePoint,
    users: dict[str, Any],
    who: str,
    allowed: bool,
    request: pytest.FixtureRequest,
) -> None:
    client.force_login(request.getfixturevalue("citizen") if who == "citizen" else users[who])
    page = client.post(reverse("hallqueue:kiosks", args=[HALL]), {"name": f"{who} 页面"})
    api = client.post(
        f"/api/v1/hall/{HALL}/kiosks", {"name": f"{who} 接口"}, content_type="application/json"
    )
    listed = client.get(f"/api/v1/hall/{HALL}/kiosks")
    if allowed:
        assert page.status_code == 200 and api.status_code == 201 and listed.status_code == 200
        assert "/kiosk/pair/?code=" in api.json()["pair_url"]
        assert {k["name"] for k in listed.json()} == {f"{who} 页面", f"{who} 接口"}
        assert AuditEntry.objects.filter(action="hall.kiosk_register").count() == 2
    else:
        assert page.status_code == 403 and api.status_code == 403 and listed.status_code == 403
        assert not KioskDevice.objects.exists()


def test_a_manager_of_another_hall_cannot_register_kiosks_here(
    client: Client, hall: ServicePoint, users: dict[str, Any]
) -> None:
    other = ServicePoint.objects.get(code="GY-BR-HX")
    manager = users["manager"]
    manager.service_point = other
    manager.region = other.region
    manager.save(update_fields=["service_point", "region"])
    client.force_login(manager)
    assert client.post(reverse("hallqueue:kiosks", args=[HALL]), {"name": "x"}).status_code == 403
    assert client.get(reverse("hallqueue:kiosks", args=[other.code])).status_code == 200


@pytest.mark.parametrize(("who", "allowed"), [("manager", True), ("gz_admin", True),
                                              ("clerk", False), ("nanming_admin", False)])  # fmt: skip
def test_only_they_switch_kiosks_off_by_page_and_by_api(
    client: Client, hall: ServicePoint, users: dict[str, Any], who: str, allowed: bool
) -> None:
    by_page, _code = hall_services.register_kiosk(SYSTEM, hall, "页面停用")
    by_api, _code = hall_services.register_kiosk(SYSTEM, hall, "接口停用")
    client.force_login(users[who])
    page = client.post(
        reverse("hallqueue:kiosks", args=[HALL]), {"do": "revoke", "kiosk": by_page.pk}
    )
    api = client.post(f"/api/v1/hall/kiosks/{by_api.pk}/revoke")
    by_page.refresh_from_db()
    by_api.refresh_from_db()
    if allowed:
        assert page.status_code == 302 and api.status_code == 200
        assert by_page.revoked_at is not None and by_api.revoked_at is not None
        assert AuditEntry.objects.filter(action="hall.kiosk_revoke").count() == 2
    else:
        assert page.status_code == 403 and api.status_code == 403
        assert by_page.revoked_at is None and by_api.revoked_at is None


def test_the_manager_page_lists_kiosks_and_refuses_a_bad_name(
    client: Client, hall: ServicePoint, users: dict[str, Any], kiosk_device: KioskDevice
) -> None:
    client.force_login(users["manager"])
    client.cookies["django_language"] = "zh-hans"
    manage = client.get(reverse("hallqueue:manager", args=[HALL])).content.decode()
    assert f'href="/hall/{HALL}/kiosks/"' in manage
    listed = client.get(reverse("hallqueue:kiosks", args=[HALL])).content.decode()
    assert kiosk_device.name in listed and "pair-url" not in listed  # the link is shown once
    bad = client.post(reverse("hallqueue:kiosks", args=[HALL]), {"name": "   "})
    assert bad.status_code == 422 and 'role="alert"' in bad.content.decode()
