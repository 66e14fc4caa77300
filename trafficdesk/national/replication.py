"""PostgreSQL logical replication of the national read model (docs/adr/0003-province-databases.md).

- Each province database publishes its own rows: `td_province`.
- The national database subscribes to each (`td_from_<code>`), and publishes to each
  province the other provinces' risk levels (`td_for_<code>`, a PG15 row filter), to which
  the province subscribes (`td_national_<code>`). Changes a subscription applies are decoded again
  by the national server's publications, so a risk level set in Hubei cascades to Guizhou;
  the filters keep a province's own rows from coming back to it.

Every step is idempotent: what exists is left as it is."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from django.db import connection

PROVINCE_PUBLICATION = "td_province"
NATIONAL_SUBSCRIPTION = "td_national"
_CODE = re.compile(r"^[1-9][0-9]$")


class ReplicationSetupError(ValueError):
    pass


def _code(code: str) -> str:
    if not _CODE.fullmatch(code):
        raise ReplicationSetupError(f"{code!r} is not a 2-digit GB/T 2260 province code")
    return code


def _own_county(code: str, op: str = "=") -> str:
    return f"(substr(county_code, 1, 2) {op} '{_code(code)}')"


def province_publication_sql(code: str) -> str:
    """The province's own rows only: the other provinces' risk rows it receives stay here."""
    return (
        f"CREATE PUBLICATION {PROVINCE_PUBLICATION} FOR TABLE "
        f"regions_countyrisk WHERE {_own_county(code)}, "
        f"national_countysnapshot WHERE {_own_county(code)}, "
        f"national_provincesnapshot WHERE (province_code = '{_code(code)}')"
    )


def national_publication_sql(code: str) -> str:
    """What the national database sends to province `code`: every other province's levels."""
    return (
        f"CREATE PUBLICATION td_for_{_code(code)} FOR TABLE "
        f"regions_countyrisk WHERE {_own_county(code, '<>')}"
    )


def subscription_sql(name: str, conninfo: str, publication: str, *, slot_made: bool) -> str:
    quoted = conninfo.replace("'", "''")
    sql = f"CREATE SUBSCRIPTION {name} CONNECTION '{quoted}' PUBLICATION {publication}"
    return f"{sql} WITH (create_slot = false, slot_name = '{name}')" if slot_made else sql


def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        raise ReplicationSetupError(
            "The national view is replicated by PostgreSQL; this node's database is "
            f"{connection.vendor}, where the national page shows this node's own figures only."
        )


#: The catalogs asked whether an object exists, and the column holding its name: only these
#: names are ever put into the query's text (the name asked for is a bound parameter).
_CATALOGS = {("pg_publication", "pubname"), ("pg_subscription", "subname")}


def _exists(catalog: str, column: str, name: str) -> bool:
    if (catalog, column) not in _CATALOGS:
        raise ValueError(f"not a catalog asked here: {catalog}.{column}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {catalog} WHERE {column} = %s",  # noqa: S608 # nosec B608 - names from _CATALOGS only
            [name],
        )
        return cursor.fetchone() is not None


def _run(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def _publication(name: str, sql: str, done: list[str]) -> None:
    if not _exists("pg_publication", "pubname", name):
        _run(sql)
        done.append(f"publication {name}")


def _system_identifier(cursor: Any) -> int:
    cursor.execute("SELECT system_identifier FROM pg_control_system()")
    return int(cursor.fetchone()[0])


def _slot_first(name: str, conninfo: str) -> bool:
    """When the publisher is a database of this same cluster, make the subscription's slot
    first, from a connection of its own: CREATE SUBSCRIPTION would otherwise wait for its
    own transaction to end to build the slot's snapshot, for ever. True when it did."""
    with connection.cursor() as cursor:
        here = _system_identifier(cursor)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as publisher:
        there = publisher.cursor()
        if _system_identifier(there) != here:
            return False
        there.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [name])
        if there.fetchone() is None:
            there.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", [name])
    return True


def _subscription(name: str, conninfo: str, publication: str, done: list[str]) -> None:
    if not _exists("pg_subscription", "subname", name):
        slot_made = _slot_first(name, conninfo)
        _run(subscription_sql(name, conninfo, publication, slot_made=slot_made))
        done.append(f"subscription {name}")


def setup_province(code: str, national_url: str = "") -> list[str]:
    """Publish this province's rows; with `national_url`, subscribe to the others' levels
    (the national database's publication for this province must exist by then)."""
    _require_postgres()
    done: list[str] = []
    _publication(PROVINCE_PUBLICATION, province_publication_sql(code), done)
    if national_url:
        # named by province: its replication slot on the national server must be unique
        name = f"{NATIONAL_SUBSCRIPTION}_{_code(code)}"
        _subscription(name, national_url, f"td_for_{code}", done)
    return done


def setup_national(provinces: dict[str, str]) -> list[str]:
    """For each province code → its database URL: publish the others' levels to it, and
    subscribe to its rows (its `td_province` publication must exist by then)."""
    _require_postgres()
    done: list[str] = []
    for code in sorted(provinces):
        _publication(f"td_for_{_code(code)}", national_publication_sql(code), done)
    for code, url in sorted(provinces.items()):
        _subscription(f"td_from_{code}", url, PROVINCE_PUBLICATION, done)
    return done
