"""Staff usernames are never in an anonymous answer: the public risk history (and the current
risk shown with a region) names the department; staff still see who recorded a level."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from trafficdesk.accounts.models import User


def _record(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["gz_admin"])
    response = client.post(
        "/api/v1/regions/520111/risk",
        json.dumps({"level": "HIGH", "reason": "聚集"}),
        content_type="application/json",
    )
    assert response.status_code == 201
    client.logout()


def test_anonymous_callers_see_the_department_not_the_username(
    client: Client, users: dict[str, Any]
) -> None:
    _record(client, users)
    history = client.get("/api/v1/regions/520111/risk", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert history.status_code == 200
    assert "gz_admin" not in history.content.decode()
    assert history.json()[0]["author"] == "交管部门"
    detail = client.get("/api/v1/regions/520111").content.decode()
    levels = client.get("/api/v1/regions/risk-levels", {"under": "520100"}).content.decode()
    assert "gz_admin" not in detail and "gz_admin" not in levels


def test_citizens_do_not_see_the_username_either(client: Client, users: dict[str, Any]) -> None:
    _record(client, users)
    client.force_login(User.objects.create(username="c1", mobile="13900001111", role="citizen"))
    assert "gz_admin" not in client.get("/api/v1/regions/520111/risk").content.decode()


def test_staff_still_see_who(client: Client, users: dict[str, Any]) -> None:
    _record(client, users)
    client.force_login(users["gz_admin"])
    assert client.get("/api/v1/regions/520111/risk").json()[0]["author"] == "gz_admin"
