"""Every page and API route against every role and anonymous: allowed or refused as expected.

A route missing from the table fails the test, so new routes must be classified."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from trafficdesk.accounts.models import User

ROLES = ("anonymous", "citizen", "clerk", "manager", "gz_admin", "officer", "auditor")
PUBLIC = set(ROLES)
LOGGED_IN = PUBLIC - {"anonymous"}
HALL = {"clerk", "manager"}

# path → roles that get a page (status < 400); everyone else gets 302 to a login page, 401 or 403.
PAGES: dict[str, set[str]] = {
    "/": PUBLIC,
    "/sites/": PUBLIC,
    "/catalog/": PUBLIC,
    "/open/?county=520115&business=P01": PUBLIC,
    "/booking/": PUBLIC,
    "/online/": PUBLIC,
    "/c/GY-N-TOLL/": PUBLIC,
    "/hall/GY-HALL-01/kiosk/": PUBLIC,
    "/hall/GY-HALL-01/board/": PUBLIC,
    "/accounts/me/": LOGGED_IN,
    "/booking/mine/": LOGGED_IN,
    "/online/mine/": LOGGED_IN,
    "/sites/mine/": HALL,
    "/hall/console/": HALL,
    "/hall/mine/": {"manager"},
    "/hall/GY-HALL-01/manage/": {"manager", "gz_admin"},
    "/booking/calendar/": {"clerk", "manager", "gz_admin"},
    "/deferral/lookup/": {"clerk", "manager", "gz_admin"},
    "/online/queue/": {"clerk", "manager", "gz_admin"},
    "/online/phone/D01/": {"clerk", "manager", "gz_admin"},
    "/planning/": {"manager", "gz_admin"},
    "/regions/risk/": {"gz_admin"},
    "/regions/risk/import/": {"gz_admin"},
    "/regions/risk/520102/": {"gz_admin"},
    "/open/overview/": {"gz_admin"},
    "/dashboard/": {"gz_admin"},
    "/deferral/report/": {"gz_admin"},
    "/checkpoints/": {"officer"},
    "/checkpoints/GY-N-TOLL/console/": {"officer"},
    "/checkpoints/GY-N-TOLL/export.csv": {"officer"},
    "/audit/": {"auditor"},
    "/admin/": {"manager", "gz_admin", "auditor"},
    "/api/v1/accounts/me": LOGGED_IN,
    "/api/v1/bookings": LOGGED_IN,
    "/api/v1/online/applications": LOGGED_IN,
    "/api/v1/planning/GY-HALL-01": {"manager", "gz_admin"},
    "/api/v1/deferral/ending-soon": {"gz_admin"},
}

# URL names covered above or by dedicated tests (IDOR, tokens, webhooks, exports, APIs with bodies).
COVERED_ELSEWHERE = {
    "set_language",
    "dashboard:home",
    "accounts:staff-login",
    "accounts:citizen-login",
    "accounts:citizen-verify",
    "accounts:logout",
    "booking:book",
    "booking:detail",
    "booking:cancel",
    "booking:no-show",
    "online:apply",
    "online:detail",
    "online:act",
    "hallqueue:console-action",
    "hallqueue:board-events",
    "checkpoint:export",
    "checkpoint:qr",
    "receipt",
    "register",
    "planner",
}


def _names(resolver: URLResolver, prefix: str = "") -> set[str]:
    found = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in {"admin", "api"}:
                continue
            found |= _names(entry, f"{prefix}{entry.namespace}:" if entry.namespace else prefix)
        elif isinstance(entry, URLPattern) and entry.name:
            found.add(prefix + entry.name)
    return found


def test_every_named_page_is_classified() -> None:
    from django.urls import resolve

    classified = {
        resolve(path.split("?")[0]).view_name for path in PAGES if not path.startswith("/api/")
    }
    missing = _names(get_resolver()) - classified - COVERED_ELSEWHERE
    assert not missing, f"classify these routes in the matrix: {sorted(missing)}"


@pytest.fixture
def login(users: dict[str, Any]) -> Any:
    citizen = User.objects.create(username="matrix-citizen", mobile="13900001234", role="citizen")

    def as_role(client: Client, role: str) -> None:
        if role == "anonymous":
            return
        client.force_login(citizen if role == "citizen" else users[role])

    return as_role


@pytest.mark.parametrize("role", ROLES)
def test_matrix(client: Client, login: Any, role: str) -> None:
    login(client, role)
    wrong = []
    for path, allowed in PAGES.items():
        response = client.get(path)
        to_login = response.status_code == 302 and "login" in response.get("Location", "")
        ok = response.status_code < 400 and not to_login
        if (role in allowed) != ok:
            wrong.append((path, response.status_code))
    assert not wrong, f"{role}: {wrong}"


def test_cross_region_staff_are_refused(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["nanming_admin"])
    assert client.get("/hall/GY-HALL-01/manage/").status_code == 403
    assert client.post("/regions/risk/520103/", {"level": "HIGH", "reason": "x"}).status_code == 403
    assert client.get("/api/v1/planning/GY-HALL-01").status_code == 403


def test_cross_citizen_objects_are_refused(client: Client, demo: Any) -> None:
    """IDOR: one citizen's booking, application and QR code are not another's."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.booking.conftest import make_id
    from trafficdesk.booking.models import Slot
    from trafficdesk.booking.services import book
    from trafficdesk.catalog.models import Business
    from trafficdesk.online.services import submit
    from trafficdesk.sites.models import ServicePoint

    owner = User.objects.create(username="idor-owner", mobile="13900007777", role="citizen")
    intruder = User.objects.create(username="idor-intruder", mobile="13900008888", role="citizen")
    p01 = Business.objects.get(code="P01")
    start = timezone.now() + timedelta(days=2)
    slot = Slot.objects.create(
        service_point=ServicePoint.objects.get(code="GY-HALL-01"),
        category=p01.category,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        capacity_minutes=100,
        capacity_people=5,
        priority_release_at=start,
    )
    booking = book(owner, slot.pk, ["P01"], make_id(31_000))
    application = submit(
        owner, Business.objects.get(code="X02"), {"driver_id": make_id(31_001), "plate": "贵A12345"}
    )
    client.force_login(intruder)
    for path in (
        f"/api/v1/bookings/{booking.token}",
        f"/api/v1/bookings/{booking.token}/qr.svg",
        f"/booking/b/{booking.token}/",
        f"/api/v1/online/applications/{application.reference}",
        f"/online/a/{application.reference}/",
    ):
        assert client.get(path).status_code in (403, 404), path
