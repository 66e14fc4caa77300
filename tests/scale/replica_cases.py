"""The read-replica cases, run by tests/scale/test_replica.py in a child pytest whose
DATABASE_URL is a throwaway primary and REPLICA_DATABASE_URL its streaming replica
(scripts/pg_replica.py). Not collected on its own (the name does not start with test_).

Replay on the replica is paused (pg_wal_replay_pause) to make it behind on purpose: what a
page shows then tells which database served it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from trafficdesk.core import dbrouter
from trafficdesk.regions.models import Region

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

COUNTY = "520111"  # in the demo data, under Guiyang (520100)


def _libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


@pytest.fixture
def control() -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    """Superuser connections straight to the primary and the replica (not Django's)."""
    database = settings.DATABASES["default"]["NAME"]
    primary = psycopg.connect(
        _libpq(os.environ["TD_PRIMARY_URL"]), dbname=database, autocommit=True
    )
    replica = psycopg.connect(
        _libpq(os.environ["TD_REPLICA_URL"]), dbname=database, autocommit=True
    )
    try:
        yield primary, replica
    finally:
        replica.execute("SELECT pg_wal_replay_resume()")
        primary.close()
        replica.close()


def _caught_up(primary: psycopg.Connection, replica: psycopg.Connection) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        row = replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    pytest.fail("the replica did not catch up in 20 s")


def _pause_replay(primary: psycopg.Connection, replica: psycopg.Connection) -> None:
    """Commit something, let the replica replay it, then stop replaying: the replica is
    from now on behind, and its lag grows from about zero."""
    primary.execute("SELECT txid_current()")  # a commit with a fresh timestamp
    _caught_up(primary, replica)
    replica.execute("SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + 10
    while replica.execute("SELECT pg_get_wal_replay_pause_state()").fetchone() != ("paused",):
        assert time.monotonic() < deadline, "replay did not pause"
        time.sleep(0.05)


def _wait_lag_behind(primary: psycopg.Connection, replica: psycopg.Connection) -> None:
    """Wait until the replica has received WAL it has not replayed (it knows it is behind)."""
    target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row = replica.execute("SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn", [target]).fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    pytest.fail("the replica did not receive the primary's WAL in 10 s")


def _county_level(page: Any) -> str | None:
    """The county's risk level as the dashboard shows it."""
    assert page.status_code == 200
    county = page.context["data"]["risk_map"]["counties"].get(COUNTY) or {}
    return county.get("level")


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_dashboard_is_served_from_the_replica(
    users: dict[str, Any], control: tuple[psycopg.Connection, psycopg.Connection]
) -> None:
    primary, replica = control
    client = _signed_in(users["gz_admin"])
    city = Region.objects.get(code="520100")
    _pause_replay(primary, replica)
    Region.objects.filter(pk=city.pk).update(name_zh="只在主库上的名字")  # committed on the primary
    _wait_lag_behind(primary, replica)
    assert dbrouter.replica_lag_seconds() is not None
    assert dbrouter.replica_lag_seconds() <= settings.REPLICA_MAX_LAG_SECONDS  # type: ignore[operator]

    with CaptureQueriesContext(connections["replica"]) as on_replica:
        page = client.get("/dashboard/?region=520100")
    assert page.status_code == 200
    assert page.context["region"].name_zh == city.name_zh  # the replica's, older, name
    assert Region.objects.using("default").get(pk=city.pk).name_zh == "只在主库上的名字"
    assert any("regions_region" in q["sql"] for q in on_replica.captured_queries)


def test_a_write_then_a_read_in_the_same_session_sees_the_write(
    users: dict[str, Any], control: tuple[psycopg.Connection, psycopg.Connection]
) -> None:
    primary, replica = control
    writer, other = _signed_in(users["gz_admin"]), _signed_in(users["gz_admin"])
    before = _county_level(writer.get("/dashboard/?region=520100"))
    new = "MEDIUM" if before == "HIGH" else "HIGH"
    _pause_replay(primary, replica)

    wrote = writer.post(f"/regions/risk/{COUNTY}/", {"level": new, "reason": "replica test"})
    assert wrote.status_code == 302, wrote.content.decode()[:500]
    assert settings.REPLICA_WROTE_COOKIE in wrote.cookies
    _wait_lag_behind(primary, replica)
    assert dbrouter.replica_is_fresh()  # the replica is behind, but within the bound

    assert _county_level(writer.get("/dashboard/?region=520100")) == new, (
        "the session that wrote reads its own write (from the primary)"
    )
    # Negative control: another session, which wrote nothing, is served by the lagging
    # replica and does not see the write yet.
    assert _county_level(other.get("/dashboard/?region=520100")) == before


def test_replay_stopped_beyond_the_lag_bound_reads_fall_back_to_the_primary(
    users: dict[str, Any], control: tuple[psycopg.Connection, psycopg.Connection]
) -> None:
    primary, replica = control
    client = _signed_in(users["gz_admin"])
    city = Region.objects.get(code="520100")
    _pause_replay(primary, replica)
    Region.objects.filter(pk=city.pk).update(name_zh="主库上的新名字")
    _wait_lag_behind(primary, replica)
    # Within the bound: still the replica's (old) name.
    assert client.get("/dashboard/?region=520100").context["region"].name_zh == city.name_zh

    deadline = time.monotonic() + settings.REPLICA_MAX_LAG_SECONDS + 10
    while dbrouter.replica_lag_seconds() <= settings.REPLICA_MAX_LAG_SECONDS:  # type: ignore[operator]
        assert time.monotonic() < deadline, "the lag never went past the bound"
        time.sleep(0.2)
    assert not dbrouter.replica_is_fresh()
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        page = client.get("/dashboard/?region=520100")
    assert page.context["region"].name_zh == "主库上的新名字"  # the primary's
    assert not any("regions_region" in q["sql"] for q in on_replica.captured_queries)
