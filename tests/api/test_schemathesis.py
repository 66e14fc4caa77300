"""Fuzz every API operation from the OpenAPI schema (schemathesis), as an anonymous caller, as
a logged-in citizen and as a hall manager: no 5xx, every status is one the operation
documents, and every response (422s included) has the documented content type and matches
its schema. Runs in-process against the WSGI application and a real database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis import checks

from trafficdesk.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
CSRF = "schemathesisCsrfToken0123456789a"  # 32 characters, as Django's own secret
PERSONAS = ("anonymous", "citizen", "hall_manager")


@pytest.fixture
def _keep_the_test_connection() -> Iterator[None]:
    """Like Django's test client: the WSGI handler must not close the connection that holds
    the test's transaction at the end of each request."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def headers(persona: str, demo: Any) -> dict[str, str]:
    """The request headers of `persona`: its session cookie, and the CSRF cookie and header
    a logged-in browser sends with every write."""
    from trafficdesk.accounts.models import User
    from trafficdesk.accounts.services import citizen_for
    from trafficdesk.demo.services import DEMO_CITIZEN_MOBILE

    if persona == "anonymous":
        return {}
    if persona == "citizen":
        user = citizen_for(DEMO_CITIZEN_MOBILE)
    else:
        user = User.objects.get(username="manager")
    client = Client()
    client.force_login(user)
    session = client.cookies["sessionid"].value
    return {"Cookie": f"sessionid={session}; csrftoken={CSRF}", "X-CSRFToken": CSRF}


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_matches_its_schema(
    case: Any, headers: dict[str, str], _keep_the_test_connection: None
) -> None:
    """The promise is "no 5xx, no undocumented status, and every response matches the
    schema": domain validation (checksums, policies) may refuse schema-valid data with a
    documented 4xx that says why."""
    case.call_and_validate(headers=headers, checks=CHECKS)
