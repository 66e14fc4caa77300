"""Fuzz every API operation from the OpenAPI schema (schemathesis): no 5xx, and every
response matches the schema. Runs in-process against the WSGI application and a real database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from trafficdesk.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
CHECKS = [
    checks.not_a_server_error,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


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


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_matches_its_schema(
    case: Any, demo: Any, _keep_the_test_connection: None
) -> None:
    """The promise is "no 5xx, and every response matches the schema": domain validation
    (checksums, policies) may refuse schema-valid data with a 4xx that says why."""
    case.call_and_validate(checks=CHECKS)
