from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

PUBLIC_PAGES = [
    "/",
    "/sites/",
    "/catalog/",
    "/accounts/login/",
    "/accounts/staff/login/",
    "/api/v1/docs",
]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_render_with_demo_data(client: Client, demo: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200


def test_home_shows_guizhou_counties_and_risk_mix(client: Client, demo: Any) -> None:
    body = client.get("/").content.decode()
    assert 'data-testid="county-count">88<' in body
    assert "高风险: 2" in body or "高风险：2" in body or "high risk: 2" in body


def test_home_is_chinese_by_default_and_english_on_request(client: Client, demo: Any) -> None:
    assert 'lang="zh-hans"' in client.get("/").content.decode()
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="en"' in english


def test_admin_login_page_is_served(client: Client, demo: Any) -> None:
    response = client.get("/admin/", follow=True)
    assert response.status_code == 200
    assert b"TrafficDesk" in response.content
