"""Content-Security-Policy on every response, and JSON reaching pages only through
json_script (issue 17 item 3; docs/security.md)."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from trafficdesk.sites.models import ServicePoint

XSS = "</script><script>window.__xss=1</script>"


def _policy(response: Any) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in header.split("; ") if " " in d}


def _assert_strict(response: Any) -> None:
    policy = _policy(response)
    assert policy["default-src"] == "'self'"
    assert re.fullmatch(r"'self'( 'nonce-[\w+/=-]+')?", policy["script-src"])
    assert "unsafe" not in policy["script-src"] and "unsafe" not in policy["style-src"]
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    for name in ("base-uri", "form-action", "connect-src", "font-src", "media-src"):
        assert policy[name] == "'self'"
    assert policy["img-src"] == "'self' data:"


def test_the_policy_is_on_a_page_the_api_and_an_error_page(client: Client, demo: Any) -> None:
    for path, status in (
        ("/", 200),
        ("/api/v1/catalog/categories", 200),
        ("/api/v1/docs", 200),
        ("/no-such-page/", 404),
    ):
        response = client.get(path)
        assert response.status_code == status, path
        _assert_strict(response)


def test_the_admin_site_has_the_policy(client: Client, users: dict[str, Any]) -> None:
    response = client.get("/admin/login/")
    assert response.status_code == 200
    _assert_strict(response)


def test_a_service_point_name_cannot_break_out_of_the_dashboard_data(
    client: Client, users: dict[str, Any]
) -> None:
    ServicePoint.objects.filter(code="GY-HALL-01").update(name_zh=XSS, name_en=XSS)
    client.force_login(users["gz_admin"])
    response = client.get("/dashboard/?region=520100")
    assert response.status_code == 200
    body = response.content.decode()
    assert XSS not in body and "<script>window.__xss" not in body
    assert "\\u003C/script\\u003E\\u003Cscript\\u003Ewindow.__xss=1" in body
    _assert_strict(response)


def test_no_template_has_an_inline_handler_or_an_inline_script() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "trafficdesk"
    handler = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
    style = re.compile(r"<style(?![^>]*\bnonce=)", re.IGNORECASE)
    inline = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.IGNORECASE)
    for template in root.rglob("templates/**/*.html"):
        text = template.read_text()
        assert not handler.search(text), template
        assert not inline.search(text), template
        assert not style.search(text), template
        assert "hx-on" not in text, template
        assert "data_json" not in text, template
