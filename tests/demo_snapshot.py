"""The demo data as the session loaded it, put back in a fraction of a second after a
transactional test flushed the database.

Loading the demo through its services takes seconds (every region of the country, the
catalogue, the slots, audited staff operations); a transactional test flushes it at its end,
and each one after that needed it again. Instead, the rows of every table are read once,
right after the session's load, and written back after a flush: on PostgreSQL with COPY (the
text form keeps every type exactly), on SQLite through a snapshot file attached beside the test
database (INSERT ... SELECT, so no value goes through Python). Foreign keys are deferred
to the commit (Django creates them DEFERRABLE INITIALLY DEFERRED on both), so the order of
the tables does not matter.

The restored database equals the snapshot row for row; `tests/test_demo_snapshot.py`
checks that after a flush, and that new rows get fresh ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

# Django's own bookkeeping, which a flush leaves alone.
UNTOUCHED = {"django_migrations"}


def _cache_tables() -> set[str]:
    """Database cache tables: what they held at the load is stale later, so they are left
    empty (a miss), never put back."""
    return {
        str(cache["LOCATION"])
        for cache in settings.CACHES.values()
        if cache["BACKEND"].endswith("DatabaseCache")
    }


SNAPSHOT_SCHEMA = "demo_snapshot"


@dataclass(frozen=True)
class TableRows:
    table: str
    copy: bytes | None  # PostgreSQL: COPY's text form; on SQLite the rows are in the file


_snapshot: list[TableRows] | None = None


def _tables() -> list[str]:
    return sorted(
        name
        for name in connection.introspection.table_names(include_views=False)
        if name not in UNTOUCHED | _cache_tables() and not name.startswith("sqlite_")
    )


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _read(table: str) -> TableRows:
    if connection.vendor != "postgresql":
        return TableRows(table, None)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {_quoted(table)} TO STDOUT") as copy,
    ):
        data = b"".join(bytes(chunk) for chunk in copy)
    return TableRows(table, data)


def _snapshot_file() -> Path:
    return Path(f"{connection.settings_dict['NAME']}.demo-snapshot")


@contextmanager
def _attached() -> Iterator[None]:
    """The SQLite snapshot file, attached to the test database (outside any transaction:
    SQLite refuses ATTACH inside one)."""
    with connection.cursor() as cursor:
        cursor.execute(f"ATTACH DATABASE %s AS {SNAPSHOT_SCHEMA}", [str(_snapshot_file())])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DETACH DATABASE {SNAPSHOT_SCHEMA}")


def take() -> None:
    """Read every table as it is now (just after the session's demo load)."""
    global _snapshot
    tables = _tables()
    if connection.vendor != "postgresql":
        _snapshot_file().unlink(missing_ok=True)
        with _attached(), connection.cursor() as cursor:
            for table in tables:
                cursor.execute(
                    f"CREATE TABLE {SNAPSHOT_SCHEMA}.{_quoted(table)} AS"  # noqa: S608
                    f" SELECT * FROM main.{_quoted(table)}"
                )
    _snapshot = [_read(table) for table in tables]


def taken() -> bool:
    return _snapshot is not None


def discard() -> None:
    """Forget the snapshot, and on SQLite remove its file (at the end of the session: the
    test database it belongs to goes too)."""
    global _snapshot
    _snapshot = None
    if connection.vendor != "postgresql":
        _snapshot_file().unlink(missing_ok=True)


def _write(cursor: CursorWrapper, rows: TableRows) -> None:
    table = _quoted(rows.table)
    if connection.vendor != "postgresql":
        cursor.execute(
            f"INSERT INTO main.{table} SELECT * FROM {SNAPSHOT_SCHEMA}.{table}"  # noqa: S608
        )
    elif rows.copy:
        with cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
            copy.write(rows.copy)


def _reset_sequences() -> None:
    """PostgreSQL hands out ids from sequences the COPY did not move: set each past the
    largest id copied (SQLite's AUTOINCREMENT follows inserted ids by itself)."""
    statements = connection.ops.sequence_reset_sql(
        no_style(), list(apps.get_models(include_auto_created=True))
    )
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _put_back() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        assert _snapshot is not None
        for rows in _snapshot:
            table = _quoted(rows.table)
            cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608 - schema names
            if cursor.fetchone() is not None:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - schema names
        for rows in _snapshot:
            _write(cursor, rows)
        if connection.vendor == "postgresql":
            _reset_sequences()


def restore() -> None:
    """Put the snapshot back into a flushed database: first empty what the flush's
    post_migrate signal filled again (content types, permissions), then every table's rows."""
    assert _snapshot is not None, "take() first"
    if connection.vendor == "postgresql":
        _put_back()
        return
    with _attached():
        _put_back()
