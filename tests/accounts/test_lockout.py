"""A username is locked out from one address only: colleagues behind the hall's shared address
still log in; the lockout page says when to retry and whom to ask; unlocking lets them in."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.test import Client
from django.utils import timezone

from trafficdesk.demo.services import DEMO_PASSWORD
from trafficdesk.staff import services

HALL_ADDRESS = "10.20.30.40"
LOGIN = "/accounts/staff/login/"


def _login(client: Client, username: str, password: str, address: str = HALL_ADDRESS) -> Any:
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def _fail_five_times(client: Client, username: str) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, username, "wrong-password")


def test_the_lockout_is_per_username_and_address(users: dict[str, Any]) -> None:
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    a, b = Client(), Client()
    _fail_five_times(a, "clerk")
    locked = _login(a, "clerk", DEMO_PASSWORD)
    assert locked.status_code == 429 and "_auth_user_id" not in a.session
    # A colleague at the same address is not locked out.
    colleague = _login(b, "manager", DEMO_PASSWORD)
    assert colleague.status_code == 302
    assert b.session["_auth_user_id"] == str(users["manager"].pk)
    # Nor is the same account from another address.
    elsewhere = _login(Client(), "clerk", DEMO_PASSWORD, address="10.99.0.1")
    assert elsewhere.status_code == 302


def test_the_lockout_page_says_when_to_retry_and_whom_to_ask(users: dict[str, Any]) -> None:
    client = Client()
    before = timezone.localtime()
    _fail_five_times(client, "clerk")
    page = _login(client, "clerk", DEMO_PASSWORD)
    assert page.status_code == 429
    text = re.sub(r"<[^>]+>", " ", page.content.decode())
    retry = page.context["retry_time"]
    minutes = round(settings.AXES_COOLOFF_TIME * 60)
    expected = {(before + timedelta(minutes=minutes + d)).strftime("%H:%M") for d in (0, 1)}
    assert retry in expected, (retry, expected)
    assert f"{retry} 之后再试" in text or f"{retry}" in text
    assert f"{minutes} 分钟" in text
    assert "管理员" in text and "解锁" in text
    assert 'role="alert"' in page.content.decode()


def test_unlocking_lets_the_user_in_again(users: dict[str, Any]) -> None:
    client = Client()
    _fail_five_times(client, "clerk")
    assert _login(client, "clerk", DEMO_PASSWORD).status_code == 429
    assert services.unlock_staff(users["gz_admin"], users["clerk"]) >= 1
    response = _login(client, "clerk", DEMO_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(users["clerk"].pk)


def test_unlocking_on_the_staff_page(client: Client, users: dict[str, Any]) -> None:
    clerk = Client()
    _fail_five_times(clerk, "clerk")
    client.force_login(users["gz_admin"])
    assert client.post("/accounts/staff/clerk/unlock/").status_code == 302
    assert _login(clerk, "clerk", DEMO_PASSWORD).status_code == 302
