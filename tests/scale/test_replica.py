"""The read replica (docs/scaling.md, "Read replica"): a throwaway primary and its streaming
replica (scripts/pg_replica.py: pg_createcluster + pg_basebackup -R, free loopback ports), and
the cases of tests/scale/replica_cases.py run against them in a child pytest, since the
settings (DATABASE_URL, REPLICA_DATABASE_URL) are read once per process:

- test_a_dashboard_is_served_from_the_replica
- test_a_write_then_a_read_in_the_same_session_sees_the_write
- test_replay_stopped_beyond_the_lag_bound_reads_fall_back_to_the_primary

It runs in the PostgreSQL pass of scripts/run_tests.py. Under CI=true, missing
postgresql-common tools are a failure, not a skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from scripts import pg_replica

ROOT = Path(__file__).resolve().parents[2]
CI = os.environ.get("CI", "").lower() == "true"
CASES = "tests/scale/replica_cases.py"
EXPECTED = 3


def _skip_or_fail(reason: str) -> None:
    if CI:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.mark.django_db
def test_reads_from_a_streaming_replica() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("PostgreSQL only: runs in the PostgreSQL pass of scripts/run_tests.py")
    missing = pg_replica.missing_tools()
    if missing:
        _skip_or_fail(f"postgresql-common tools missing: {', '.join(missing)}")
    if os.geteuid() != 0:
        _skip_or_fail("pg_createcluster needs root to make throwaway clusters")
    pair = pg_replica.create_pair()
    try:
        env: dict[str, Any] = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DATABASE_"))},
            "DATABASE_URL": pair.url("primary", "trafficdesk"),
            "REPLICA_DATABASE_URL": pair.url("replica", "trafficdesk"),
            "REPLICA_MAX_LAG_SECONDS": "8",
            "REPLICA_LAG_CHECK_MS": "0",
            "TD_PRIMARY_URL": pair.url("primary"),
            "TD_REPLICA_URL": pair.url("replica"),
            "TRAFFICDESK_DB_TESTS_ONLY": "1",
        }
        env.pop("LIVE_DATABASE_URL", None)
        env.pop("REPLICA_READ_VIEWS", None)
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", CASES],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        pair.drop()
    tail = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, tail
    assert f"{EXPECTED} passed" in done.stdout, tail
