"""The demo snapshot of the test suite (tests/demo_snapshot.py) puts back exactly what the
session loaded, and the database goes on handing out fresh ids after it."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from django.db import connection

from tests import demo_snapshot
from trafficdesk.accounts.models import User


def _contents(schema: str = "main") -> dict[str, list[str]]:
    """Every table's rows, sorted, as text: of the database, or (`schema="snapshot"`) of the
    snapshot as the session took it."""
    if connection.vendor == "postgresql":
        if schema == "snapshot":
            assert demo_snapshot._snapshot is not None
            return {
                rows.table: sorted((rows.copy or b"").splitlines())
                for rows in demo_snapshot._snapshot
            }
        return {
            table: sorted((demo_snapshot._read(table).copy or b"").splitlines())
            for table in demo_snapshot._tables()
        }
    # SQLite: the stored values as they are, through a plain connection (Django's converts
    # by declared type, which the snapshot's tables do not keep).
    name = str(connection.settings_dict["NAME"])
    path = str(demo_snapshot._snapshot_file()) if schema == "snapshot" else name
    contents: dict[str, list[str]] = {}
    with closing(sqlite3.connect(path)) as plain:
        for table in demo_snapshot._tables():
            rows = plain.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            contents[table] = sorted(map(repr, rows.fetchall()))
    return contents


def test_a_flushed_database_gets_the_demo_back_row_for_row(
    transactional_db: Any, demo: Any
) -> None:
    from django.core.management import call_command

    from trafficdesk.audit import triggers

    assert demo_snapshot.taken()
    loaded = _contents("snapshot")
    triggers.remove(connection)  # as between transactional tests (tests/conftest.py)
    call_command("flush", verbosity=0, interactive=False)
    triggers.install(connection)
    assert not User.objects.filter(username="gz_admin").exists()
    demo_snapshot.restore()
    assert _contents() == loaded
    assert sum(1 for rows in loaded.values() if rows) > 20

    # New rows get ids past the restored ones.
    highest = User.objects.order_by("-pk").values_list("pk", flat=True).first()
    fresh = User.objects.create_user(username="after-restore", password="x-1234567890")
    assert highest is not None and fresh.pk > highest
