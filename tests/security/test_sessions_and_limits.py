"""Session timeouts, rate limits and security headers."""

from __future__ import annotations

import json
import time
from typing import Any

from django.test import Client

from tests.booking.conftest import make_id


def test_idle_session_is_logged_out(client: Client, users: dict[str, Any], settings: Any) -> None:
    client.force_login(users["auditor"])
    assert client.get("/audit/").status_code == 200
    session = client.session
    session["last_seen"] = int(time.time()) - settings.SESSION_IDLE_SECONDS - 5
    session.save()
    response = client.get("/audit/")
    assert response.status_code == 302 and "/accounts/staff/login/" in response["Location"]


def test_absolute_session_lifetime_is_set(settings: Any) -> None:
    assert 0 < settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.SESSION_COOKIE_HTTPONLY and settings.SESSION_COOKIE_SAMESITE == "Lax"


def test_booking_requests_are_rate_limited_per_user(
    client: Client, settings: Any, demo: Any
) -> None:
    from trafficdesk.accounts.models import User

    settings.BOOKING_RATE_PER_USER = (
        "3/d"  # a day-long window: four quick requests never straddle two
    )
    client.force_login(User.objects.create(username="rl", mobile="13911110000"))
    statuses = [
        client.post(
            "/api/v1/bookings",
            json.dumps({"slot": 1, "businesses": ["P01"], "id_number": make_id(900 + i)}),
            content_type="application/json",
        ).status_code
        for i in range(4)
    ]
    assert statuses[-1] == 429 and 429 not in statuses[:3]


def test_security_headers(client: Client, demo: Any) -> None:
    response = client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_pages_with_personal_data_are_not_cached(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["clerk"])
    assert client.get("/deferral/lookup/")["Cache-Control"].startswith("no-store")


def test_csrf_is_enforced_on_forms_and_session_api(users: dict[str, Any]) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(users["gz_admin"])
    assert strict.post("/regions/risk/520111/", {"level": "HIGH", "reason": "x"}).status_code == 403
    api = strict.post(
        "/api/v1/regions/520111/risk",
        json.dumps({"level": "HIGH", "reason": "x"}),
        content_type="application/json",
    )
    assert api.status_code in (401, 403)


def _redis_answers() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_rate_limits_work_with_redis(
    client: Client, settings: Any, db: Any, sms_outbox: Any
) -> None:
    """With REDIS_URL set, the limits live in Redis (here: a throwaway key prefix)."""
    import os
    import secrets

    import pytest

    if not _redis_answers():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Redis is not answering on 127.0.0.1:6379")
        pytest.skip("Redis is not answering on 127.0.0.1:6379")
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "KEY_PREFIX": f"td-test-{secrets.token_hex(4)}",
        }
    }
    settings.RATELIMIT_USE_CACHE = "default"  # as settings.py does when REDIS_URL is set
    from django.core.cache import cache

    statuses = [
        client.post(
            "/api/v1/accounts/otp/request",
            {"mobile": "13955556666"},
            content_type="application/json",
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    from django_redis import get_redis_connection

    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    assert get_redis_connection("default").keys(f"{prefix}*")
    cache.delete_pattern("*")  # type: ignore[attr-defined]  # only keys with this test's prefix
