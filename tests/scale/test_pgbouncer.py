"""TrafficDesk behind PgBouncer in transaction mode (docs/scaling.md, "PgBouncer").

The booking and hall-queue concurrency tests run again, in a child pytest, with DATABASE_URL
at a PgBouncer (Debian's package, scripts/pgbouncer.py) whose pool is smaller than the
number of threads, so that transactions of different clients share server connections.
The negative control shows why the pooler settings are needed: psycopg's default of
preparing a query after a few runs breaks as soon as two clients share a server connection.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from django.conf import settings

from scripts import pgbouncer
from trafficdesk.settings import database_settings

ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY_TESTS = [
    "tests/booking/test_concurrency.py",
    "tests/booking/test_races.py",
    "tests/hallqueue/test_hall_concurrency.py",
]
CI = os.environ.get("CI", "").lower() == "true"
#: The PostgreSQL pass's server (the one its throwaway database is on).
BACKEND = "postgres://postgres@127.0.0.1:5432/postgres"


def _backend() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    return f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/postgres"


def _missing() -> str | None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "PostgreSQL only: runs in the PostgreSQL pass of scripts/run_tests.py"
    global BACKEND
    BACKEND = _backend()
    if pgbouncer.binary() is None:
        return "pgbouncer is not installed (apt-get install pgbouncer)"
    try:
        with psycopg.connect(_libpq(BACKEND), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {BACKEND} does not answer: {exc}"
    return None


def _libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def _start(pool_size: int) -> Iterator[pgbouncer.Bouncer]:
    problem = _missing()
    if problem:
        if CI and not problem.startswith("PostgreSQL only"):
            pytest.fail(problem)
        pytest.skip(problem)
    parts = urlsplit(BACKEND)
    started = pgbouncer.start(
        backend_host=parts.hostname or "127.0.0.1",
        backend_port=parts.port or 5432,
        user=parts.username or "postgres",
        pool_size=pool_size,
    )
    yield started
    started.stop()


@pytest.fixture
def bouncer() -> Iterator[pgbouncer.Bouncer]:
    """A small pool: consecutive clients get the same idle server connection."""
    yield from _start(4)


@pytest.fixture
def busy_bouncer() -> Iterator[pgbouncer.Bouncer]:
    """Fewer server connections (12) than the concurrency tests have threads (up to 30), so
    transactions share them; big enough that tests whose threads wait for each other inside
    transactions (test_races) do not wait for a free one until their 5 s waits give up."""
    yield from _start(12)


def _connect(bouncer: pgbouncer.Bouncer, settings: dict[str, object]) -> psycopg.Connection:
    """A connection made as Django makes it: the OPTIONS are psycopg.connect's arguments."""
    options = dict(settings.get("OPTIONS") or {})  # type: ignore[call-overload]
    return psycopg.connect(_libpq(bouncer.url("postgres")), autocommit=True, **options)


def _two_clients_repeat_a_query(bouncer: pgbouncer.Bouncer, settings: dict[str, object]) -> None:
    """Two clients, one after the other, each running one query often enough for psycopg
    to prepare it; with a pool of 4 both land on the same idle server connection."""
    first, second = _connect(bouncer, settings), _connect(bouncer, settings)
    try:
        for client in (first, second):
            for i in range(8):
                client.execute("SELECT %s::int", [i]).fetchone()
    finally:
        first.close()
        second.close()


@pytest.mark.django_db
def test_pooler_settings_make_psycopg_prepare_nothing(bouncer: pgbouncer.Bouncer) -> None:
    url = bouncer.url("postgres")
    pooled = database_settings(url, pooler="pgbouncer")
    assert pooled["OPTIONS"]["prepare_threshold"] is None
    assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert "options" not in pooled["OPTIONS"]  # PgBouncer refuses startup options
    _two_clients_repeat_a_query(bouncer, pooled)

    # Negative control: the same URL without the pooler settings (psycopg's default
    # prepare_threshold of 5) fails once the second client prepares on the shared server.
    plain = database_settings(url, pooler="")
    plain.get("OPTIONS", {}).pop("options", None)  # a lock_timeout PgBouncer would refuse
    with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
        _two_clients_repeat_a_query(bouncer, plain)


def _transactions_through(bouncer: pgbouncer.Bouncer, database: str) -> int:
    """PgBouncer's own count of transactions it passed to `database` (admin console)."""
    with psycopg.connect(_libpq(bouncer.url("pgbouncer")), autocommit=True) as admin:
        result = admin.pgconn.exec_(b"SHOW STATS")  # the console speaks simple queries only
        columns = [result.fname(i).decode() for i in range(result.nfields)]
        for row in range(result.ntuples):
            values = {
                columns[i]: (result.get_value(row, i) or b"").decode()
                for i in range(result.nfields)
            }
            if values["database"] == database:
                return int(values["total_xact_count"])
    return 0


@pytest.mark.django_db
def test_concurrency_tests_pass_through_pgbouncer_in_transaction_mode(
    busy_bouncer: pgbouncer.Bouncer,
) -> None:
    bouncer = busy_bouncer
    name = f"trafficdesk_pgb_{secrets.token_hex(4)}"
    test_db = f"test_{name}"
    direct = urlsplit(BACKEND)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
        "DATABASE_URL": bouncer.url(name),
        "DATABASE_POOLER": "pgbouncer",
        "LIVE_DATABASE_URL": f"postgres://{direct.netloc}/",
        "TRAFFICDESK_DB_TESTS_ONLY": "1",
    }
    # --reuse-db: pytest-django creates the test database (through PgBouncer) and leaves it;
    # PgBouncer keeps server connections to it, so it is dropped here, directly, with FORCE.
    command = [
        sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "--reuse-db",
        *CONCURRENCY_TESTS,
    ]  # fmt: skip
    try:
        done = subprocess.run(  # noqa: S603
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        through = _transactions_through(bouncer, test_db)
    finally:
        bouncer_admin_kill(bouncer, test_db)
        with psycopg.connect(_libpq(BACKEND), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{test_db}" WITH (FORCE)')
    tail = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, tail
    assert " passed" in done.stdout and " skipped" not in done.stdout.split("\n")[-2], tail
    assert through > 100, f"only {through} transactions went through PgBouncer"


def bouncer_admin_kill(bouncer: pgbouncer.Bouncer, database: str) -> None:
    """Close PgBouncer's server connections to `database` before it is dropped."""
    try:
        with psycopg.connect(_libpq(bouncer.url("pgbouncer")), autocommit=True) as admin:
            admin.pgconn.exec_(f"KILL {database}".encode())
    except psycopg.Error:
        pass
