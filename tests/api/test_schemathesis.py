"""Fuzz every API operation from the OpenAPI schema (schemathesis): no 5xx, and every
response matches the schema. Runs in-process against the WSGI application and a real database."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
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


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_matches_its_schema(case: Any, demo: Any) -> None:
    """The promise is "no 5xx, and every response matches the schema": domain validation
    (checksums, policies) may refuse schema-valid data with a 4xx that says why."""
    case.call_and_validate(checks=CHECKS)
