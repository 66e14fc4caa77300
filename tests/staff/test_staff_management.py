"""Regional administrators manage the staff accounts of their region, on the staff pages and
through the API (the same services): create, edit, deactivate, reset a password, unlock."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from trafficdesk.accounts import access
from trafficdesk.accounts.models import Role, User
from trafficdesk.audit.models import AuditEntry, Outcome
from trafficdesk.demo.services import DEMO_PASSWORD
from trafficdesk.regions.models import Region
from trafficdesk.sites.models import ServicePoint, Window
from trafficdesk.staff import services

NANMING, GUANSHANHU = "520102", "520115"
NM_POINT = "GY-QC-NM"


@pytest.fixture
def county_admin(users: dict[str, Any]) -> User:
    admin: User = users["nanming_admin"]
    assert admin.region is not None and admin.region.code == NANMING and not admin.is_superuser
    return admin


@pytest.fixture
def admin_client(client: Client, county_admin: User) -> Client:
    client.force_login(county_admin)
    return client


def _window(number: int, point: str = NM_POINT) -> Window:
    return Window.objects.get(service_point__code=point, number=number)


def _post_new(client: Client, **overrides: Any) -> Any:
    data = {
        "username": "nm_clerk",
        "full_name": "李 四",
        "role": Role.CLERK,
        "region": NANMING,
        "service_point": NM_POINT,
        "windows": [str(_window(1).pk)],
    }
    data.update(overrides)
    return client.post("/accounts/staff/new/", data)


def _entries(action: str, user: User) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, object_id=str(user.pk)))


def test_the_list_shows_only_the_county_staff_and_no_citizens(admin_client: Client) -> None:
    User.objects.create(username="citizen-zz", role=Role.CITIZEN, mobile="13900001111")
    response = admin_client.get("/accounts/staff/")
    assert response.status_code == 200
    shown = {u.username for u in response.context["page"]}
    assert "nanming_admin" in shown
    assert not shown & {"clerk", "manager", "gz_admin", "admin", "citizen-zz"}, shown
    visible = re.sub(r"<[^>]+>", " ", response.content.decode())
    assert NANMING not in visible and "regional_admin" not in visible  # no internal codes


def test_the_province_admin_lists_the_province_but_not_the_superuser(
    client: Client, users: dict[str, Any]
) -> None:
    client.force_login(users["gz_admin"])
    shown = {u.username for u in client.get("/accounts/staff/").context["page"]}
    assert {"clerk", "manager", "nanming_admin", "officer", "auditor"} <= shown
    assert "admin" not in shown


def test_filters_by_role_point_and_status(admin_client: Client, county_admin: User) -> None:
    made = services.create_staff(
        county_admin,
        "nm_clerk",
        services.StaffDetails(
            "王 五", Role.CLERK, county_admin.region, ServicePoint.objects.get(code=NM_POINT)
        ),
    )
    services.set_staff_active(county_admin, made.user, False)

    def names(query: str) -> set[str]:
        return {u.username for u in admin_client.get(f"/accounts/staff/?{query}").context["page"]}

    assert names("role=clerk") == {"nm_clerk"}
    assert names(f"point={NM_POINT}") == {"nm_clerk"}
    assert names("status=inactive") == {"nm_clerk"}
    assert "nm_clerk" not in names("status=active")
    assert names("q=王") == {"nm_clerk"}


def test_a_county_admin_creates_a_clerk_with_a_window(
    admin_client: Client, county_admin: User
) -> None:
    response = _post_new(admin_client)
    assert response.status_code == 200, response.content.decode()[:2000]
    password = response.context["password"]
    assert len(password) >= 12 and password in response.content.decode()
    made = User.objects.get(username="nm_clerk")
    assert made.role == Role.CLERK and made.region.code == NANMING and made.is_active
    assert made.service_point.code == NM_POINT
    assert list(made.windows.all()) == [_window(1)]
    assert made.must_change_password and made.check_password(password)
    assert password not in json.dumps([e.summary for e in AuditEntry.objects.all()])
    (entry,) = _entries("accounts.staff.add", made)
    assert entry.actor == county_admin and entry.outcome == Outcome.OK


def test_a_county_admin_edits_its_staff(admin_client: Client, county_admin: User) -> None:
    _post_new(admin_client)
    made = User.objects.get(username="nm_clerk")
    response = admin_client.post(
        "/accounts/staff/nm_clerk/",
        {
            "full_name": "李 四",
            "role": Role.HALL_MANAGER,
            "region": NANMING,
            "service_point": NM_POINT,
            "windows": [str(_window(2).pk)],
        },
    )
    assert response.status_code == 302
    made.refresh_from_db()
    assert made.role == Role.HALL_MANAGER and list(made.windows.all()) == [_window(2)]
    (entry,) = _entries("accounts.staff.change", made)
    assert set(entry.detail["fields"]) == {"role", "windows"}


def test_deactivated_staff_cannot_log_in_and_come_back_when_reactivated(
    admin_client: Client, county_admin: User
) -> None:
    made = services.create_staff(
        county_admin,
        "nm_officer",
        services.StaffDetails("赵 六", Role.AUDITOR, county_admin.region),
    ).user
    made.set_password(DEMO_PASSWORD)
    made.must_change_password = False
    made.save()
    assert (
        admin_client.post("/accounts/staff/nm_officer/active/", {"active": "0"}).status_code == 302
    )
    made.refresh_from_db()
    assert not made.is_active and User.objects.filter(username="nm_officer").exists()
    assert _entries("accounts.staff.deactivate", made)
    other = Client()
    other.post("/accounts/staff/login/", {"username": "nm_officer", "password": DEMO_PASSWORD})
    assert "_auth_user_id" not in other.session
    admin_client.post("/accounts/staff/nm_officer/active/", {"active": "1"})
    assert _entries("accounts.staff.reactivate", made)
    response = other.post(
        "/accounts/staff/login/", {"username": "nm_officer", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302 and other.session["_auth_user_id"] == str(made.pk)


def test_a_deactivated_user_loses_its_open_session(client: Client, county_admin: User) -> None:
    made = services.create_staff(
        county_admin, "nm_aud", services.StaffDetails("钱 七", Role.AUDITOR, county_admin.region)
    ).user
    made.must_change_password = False
    made.save()
    client.force_login(made)
    assert client.get("/accounts/me/").status_code == 200
    services.set_staff_active(county_admin, made, False)
    assert client.get("/accounts/me/").status_code == 302  # to the login page


def test_reset_password_forces_the_change_page(admin_client: Client, county_admin: User) -> None:
    made = services.create_staff(
        county_admin, "nm_aud", services.StaffDetails("钱 七", Role.AUDITOR, county_admin.region)
    ).user
    response = admin_client.post("/accounts/staff/nm_aud/password/")
    assert response.status_code == 200
    password = response.context["password"]
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    )
    assert _entries("accounts.staff.password_reset", made)
    user = Client()
    login = user.post("/accounts/staff/login/", {"username": "nm_aud", "password": password})
    assert login.status_code == 302
    # Every other page (and the API) leads to the change page until the password is changed.
    for path in ("/", "/accounts/me/", "/audit/"):
        answer = user.get(path)
        assert answer.status_code == 302 and answer["Location"] == "/accounts/password/", path
    assert user.get("/api/v1/accounts/me").status_code == 403
    page = user.get("/accounts/password/")
    assert page.status_code == 200 and 'data-testid="must-change"' in page.content.decode()
    weak = user.post(
        "/accounts/password/",
        {"old_password": password, "new_password1": "123", "new_password2": "123"},
    )
    assert weak.status_code == 422
    new = "Quiet-River-2046"
    changed = user.post(
        "/accounts/password/",
        {"old_password": password, "new_password1": new, "new_password2": new},
    )
    assert changed.status_code == 302
    made.refresh_from_db()
    assert not made.must_change_password and made.check_password(new)
    assert _entries("accounts.password.change", made)
    assert user.get("/accounts/me/").status_code == 200


def test_unlock_is_audited(admin_client: Client, county_admin: User) -> None:
    response = admin_client.post("/accounts/staff/nanming_admin/unlock/")
    assert response.status_code == 302
    assert _entries("accounts.staff.unlock", county_admin)


# --- refusals ---------------------------------------------------------------------------------


def _denied_for(action: str = "accounts.staff") -> int:
    return AuditEntry.objects.filter(action=action, outcome=Outcome.DENIED).count()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/accounts/staff/clerk/"),
        ("post", "/accounts/staff/clerk/active/"),
        ("post", "/accounts/staff/clerk/password/"),
        ("post", "/accounts/staff/clerk/unlock/"),
        ("get", "/accounts/staff/admin/"),
    ],
)
def test_staff_of_another_county_are_refused_on_the_page(
    admin_client: Client, users: dict[str, Any], method: str, path: str
) -> None:
    before = _denied_for()
    response = getattr(admin_client, method)(path, {"active": "0"} if method == "post" else None)
    assert response.status_code == 403
    assert response.context["exception"]  # a reason in plain words
    assert _denied_for() == before + 1
    clerk = User.objects.get(username="clerk")
    assert clerk.is_active and not clerk.must_change_password


def test_a_citizen_is_not_a_staff_account(admin_client: Client) -> None:
    User.objects.create(username="citizen-yy", role=Role.CITIZEN, mobile="13900002222")
    assert admin_client.get("/accounts/staff/citizen-yy/").status_code == 404
    assert admin_client.get("/api/v1/accounts/staff/citizen-yy").status_code == 404


def test_a_region_outside_its_own_is_refused(admin_client: Client) -> None:
    response = _post_new(
        admin_client, region=GUANSHANHU, service_point="", windows=[], role=Role.AUDITOR
    )
    assert response.status_code == 403
    assert "观山湖" in str(response.context["exception"])
    assert not User.objects.filter(username="nm_clerk").exists()


def test_a_service_point_or_window_outside_its_region_is_refused(admin_client: Client) -> None:
    point = _post_new(admin_client, service_point="GY-HALL-01", windows=[])
    assert point.status_code == 422
    assert point.context["form"].errors["service_point"]
    window = _post_new(admin_client, windows=[str(_window(1, "GY-HALL-01").pk)])
    assert window.status_code == 422 and window.context["form"].errors["windows"]
    assert not User.objects.filter(username="nm_clerk").exists()


def test_raising_to_superuser_is_refused(admin_client: Client) -> None:
    response = _post_new(admin_client, is_superuser="on")
    assert response.status_code == 403
    assert not User.objects.filter(username="nm_clerk").exists()
    api = admin_client.put(
        "/api/v1/accounts/staff/nanming_admin",
        {
            "full_name": "南明区 管理员",
            "role": Role.REGIONAL_ADMIN,
            "region": NANMING,
            "is_superuser": True,
        },
        content_type="application/json",
    )
    assert api.status_code == 403 and api.json()["detail"]
    assert not User.objects.get(username="nanming_admin").is_superuser


def test_an_admin_cannot_deactivate_itself(admin_client: Client, county_admin: User) -> None:
    response = admin_client.post("/accounts/staff/nanming_admin/active/", {"active": "0"})
    assert response.status_code == 403
    county_admin.refresh_from_db()
    assert county_admin.is_active


@pytest.mark.parametrize(
    "overrides",
    [
        {"role": "citizen"},
        {"role": "superuser"},
        {"username": ""},
        {"username": "bad name!"},
        {"username": "clerk"},  # taken
        {"username": "login"},  # the login page's address
        {"region": "999999"},
        {"service_point": ""},  # a clerk needs one
    ],
)
def test_bad_input_gives_4xx(admin_client: Client, overrides: dict[str, Any]) -> None:
    response = _post_new(admin_client, **overrides)
    assert response.status_code == 422, overrides
    assert response.context["form"].errors


def test_other_roles_may_not_manage_staff(client: Client, users: dict[str, Any]) -> None:
    for name in ("clerk", "manager", "auditor", "officer"):
        client.force_login(users[name])
        assert client.get("/accounts/staff/").status_code == 403, name
        assert client.get("/api/v1/accounts/staff").status_code == 403, name
    client.logout()
    assert client.get("/accounts/staff/").status_code == 302
    assert client.get("/api/v1/accounts/staff").status_code == 401


# --- the API refuses what the page refuses ------------------------------------------------------


def _api_new(client: Client, **overrides: Any) -> Any:
    data = {
        "username": "nm_api",
        "full_name": "孙 八",
        "role": Role.CLERK,
        "region": NANMING,
        "service_point": NM_POINT,
        "windows": [_window(1).pk],
    }
    data.update(overrides)
    return client.post("/api/v1/accounts/staff", data, content_type="application/json")


def test_the_api_creates_edits_resets_unlocks_and_deactivates(
    admin_client: Client, county_admin: User
) -> None:
    made = _api_new(admin_client)
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["staff"]["windows"] == [_window(1).pk] and len(body["temporary_password"]) >= 12
    user = User.objects.get(username="nm_api")
    edited = admin_client.put(
        "/api/v1/accounts/staff/nm_api",
        {"full_name": "孙 八", "role": Role.CLERK, "region": NANMING, "service_point": NM_POINT},
        content_type="application/json",
    )
    assert edited.status_code == 200 and edited.json()["windows"] == []
    reset = admin_client.post("/api/v1/accounts/staff/nm_api/password")
    assert reset.status_code == 200
    user.refresh_from_db()
    assert user.check_password(reset.json()["temporary_password"]) and user.must_change_password
    assert admin_client.post("/api/v1/accounts/staff/nm_api/unlock").status_code == 200
    off = admin_client.post(
        "/api/v1/accounts/staff/nm_api/active", {"active": False}, content_type="application/json"
    )
    assert off.status_code == 200 and off.json()["is_active"] is False
    listed = {s["username"] for s in admin_client.get("/api/v1/accounts/staff").json()}
    assert "nm_api" in listed and "clerk" not in listed
    actions = set(
        AuditEntry.objects.filter(object_id=str(user.pk)).values_list("action", flat=True)
    )
    assert {
        "accounts.staff.add",
        "accounts.staff.change",
        "accounts.staff.password_reset",
        "accounts.staff.unlock",
        "accounts.staff.deactivate",
    } <= actions


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"region": GUANSHANHU, "service_point": None, "windows": [], "role": Role.AUDITOR}, 403),
        ({"service_point": "GY-HALL-01", "windows": []}, 422),
        ({"is_superuser": True}, 403),
        ({"role": "citizen"}, 422),
        ({"username": "clerk"}, 422),
        ({"region": "999999"}, 422),
        ({"windows": [987654]}, 422),
        ({"role": 5}, 422),
    ],
)
def test_the_api_refuses_what_the_page_refuses(
    admin_client: Client, overrides: dict[str, Any], status: int
) -> None:
    response = _api_new(admin_client, **overrides)
    assert response.status_code == status, response.content
    assert response.json()["detail"]
    assert not User.objects.filter(username="nm_api").exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/accounts/staff/clerk"),
        ("post", "/api/v1/accounts/staff/clerk/password"),
        ("post", "/api/v1/accounts/staff/clerk/unlock"),
    ],
)
def test_the_api_refuses_staff_of_another_county(
    admin_client: Client, method: str, path: str
) -> None:
    response = getattr(admin_client, method)(path)
    assert response.status_code == 403 and response.json()["detail"]
    assert not User.objects.get(username="clerk").must_change_password


def test_the_access_module_decides(county_admin: User, users: dict[str, Any]) -> None:
    assert access.staff_why_not(county_admin, users["nanming_admin"]) is None
    assert access.staff_why_not(county_admin, users["clerk"])
    assert access.staff_why_not(users["gz_admin"], users["clerk"]) is None
    assert access.staff_why_not(users["gz_admin"], users["admin"])  # a superuser
    assert access.staff_why_not(users["clerk"], users["clerk"])
    assert access.allows(county_admin, access.Action.STAFF_MANAGE, Region.objects.get(code=NANMING))
    assert not access.allows(
        county_admin, access.Action.STAFF_MANAGE, Region.objects.get(code=GUANSHANHU)
    )
