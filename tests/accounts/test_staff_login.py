"""Staff log in with username and password and are locked out after repeated failures."""

from __future__ import annotations

from typing import Any

from django.test import Client

from trafficdesk.demo.services import DEMO_PASSWORD


def test_staff_login_succeeds(client: Client, users: dict[str, Any]) -> None:
    response = client.post(
        "/accounts/staff/login/", {"username": "clerk", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(users["clerk"].pk)


def test_locked_out_after_five_failures_even_with_the_right_password(
    client: Client, users: dict[str, Any]
) -> None:
    for _ in range(5):
        response = client.post("/accounts/staff/login/", {"username": "clerk", "password": "wrong"})
    response = client.post(
        "/accounts/staff/login/", {"username": "clerk", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert 'role="alert"' in response.content.decode()


def test_wrong_password_says_so_without_saying_which_part(
    client: Client, users: dict[str, Any]
) -> None:
    unknown = client.post("/accounts/staff/login/", {"username": "nobody", "password": "x"})
    wrong = client.post("/accounts/staff/login/", {"username": "clerk", "password": "x"})
    assert unknown.status_code == wrong.status_code == 200
    assert unknown.context["form"].non_field_errors() == wrong.context["form"].non_field_errors()


def test_citizens_have_no_password_login(client: Client, db: Any) -> None:
    from trafficdesk.accounts.models import User

    citizen = User.objects.create(username="citizen-x", mobile="13912340000")
    citizen.set_unusable_password()
    citizen.save()
    response = client.post("/accounts/staff/login/", {"username": "citizen-x", "password": ""})
    assert "_auth_user_id" not in client.session and response.status_code == 200
