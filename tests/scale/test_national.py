"""One database per province, the national view (docs/scaling.md; docs/adr/0002).

Two province databases (Guizhou 52, Hubei 42) and a national one in a PostgreSQL cluster of
the test's own (wal_level=logical), each served by a TrafficDesk process of its own with its
DATABASE_URL and PROVINCE_CODE (scripts/national_demo.py), replicated by the publications
and subscriptions `manage.py national_setup` makes. Nothing is faked: the bookings go
through the booking services, the figures through refresh_snapshot, the risk level through
set_risk_level, and the arrival through the checkpoint's register.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from scripts import national_demo
from scripts.national_demo import PROVINCES, Demo, wait_for

#: A database test for the runner's PostgreSQL pass (scripts/run_tests.py), though its
#: databases are its own; on SQLite it is skipped with the reason.
pytestmark = pytest.mark.django_db
CI = os.environ.get("CI", "").lower() == "true"
FIGURES = ("windows_open", "bookings_today", "capacity_today", "arrivals_from_risk_today")
HUBEI_COUNTY = "420103"  # 江汉区, not the Hubei hall's county


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    if connection.vendor != "postgresql":
        pytest.skip(
            "PostgreSQL only: the national view is fed by PostgreSQL logical replication "
            "between databases; this pass runs on SQLite"
        )
    problem = national_demo.missing()
    if problem:
        if CI:
            pytest.fail(problem)
        pytest.skip(problem)
    made = national_demo.up()
    try:
        yield made
    finally:
        national_demo.drop(made)


def _rows(node: national_demo.Node, table: str) -> set[tuple[Any, ...]]:
    return set(node.sql(f"SELECT * FROM {table}"))  # noqa: S608 - our own table names


def _caught_up(demo: Demo) -> bool:
    """The national database holds exactly the rows the provinces wrote of their own."""
    provinces = [demo.province(code) for code in PROVINCES]
    for table in ("national_countysnapshot", "national_provincesnapshot"):
        if _rows(demo.national, table) != set().union(*(_rows(p, table) for p in provinces)):
            return False
    own = set().union(
        *({r for r in _rows(p, "regions_countyrisk") if r[1] == p.province} for p in provinces)
    )
    return _rows(demo.national, "regions_countyrisk") == own


def test_bookings_land_only_in_their_province_and_the_national_view_adds_them_up(
    demo: Demo,
) -> None:
    guizhou, hubei = demo.province("52"), demo.province("42")
    booked = {
        code: demo.province(code).step("book", demo.seeded[code]["slot"], n)["token"]
        for n, code in enumerate(PROVINCES, start=1)
    }
    assert guizhou.step("bookings")["tokens"] == [booked["52"]]
    assert hubei.step("bookings")["tokens"] == [booked["42"]]
    assert demo.national.step("bookings")["tokens"] == []

    # Negative control: before the provinces refresh their figures, the national view
    # shows none of the bookings.
    before = demo.national.step("view")["total"]
    assert (before["bookings_today"], before["windows_open"]) == (0, 0)

    figures = {code: demo.province(code).step("refresh") for code in PROVINCES}
    wait_for(lambda: _caught_up(demo), timeout=30)
    view = demo.national.step("view")
    assert set(view["provinces"]) == set(PROVINCES)
    for code, refreshed in figures.items():
        shown = view["provinces"][code]
        for name in FIGURES:
            assert shown[name] == refreshed["totals"].get(name, 0), (code, name)
        assert shown["online_backlog"] == refreshed["online_backlog"]
        assert sum(shown["risk"].values()) == refreshed["risk_rows"]
    for name in (*FIGURES, "online_backlog"):
        assert view["total"][name] == sum(p[name] for p in view["provinces"].values()), name
    assert view["total"]["windows_open"] == 2  # one open window in each province's hall
    # The national view at the other end of the system: not a figure either province made.
    assert view["total"]["bookings_today"] == sum(
        f["totals"].get("bookings_today", 0) for f in figures.values()
    )


def test_a_risk_level_set_in_hubei_flags_an_arrival_at_a_guizhou_checkpoint(demo: Demo) -> None:
    guizhou, hubei = demo.province("52"), demo.province("42")
    # Negative control: Guizhou knows no level for the Hubei county yet.
    before = guizhou.step("register", "CP-52", HUBEI_COUNTY, 11)
    assert before["from_risk_area"] is False
    assert "origin.high" not in before["reasons"]

    hubei.step("set_risk", HUBEI_COUNTY, "HIGH")

    def guizhou_knows() -> bool:
        return guizhou.sql(
            "SELECT level FROM regions_countyrisk WHERE county_code = %s", (HUBEI_COUNTY,)
        ) == [("HIGH",)]

    wait_for(guizhou_knows, timeout=30, what="Hubei's risk level reaching Guizhou")
    after = guizhou.step("register", "CP-52", HUBEI_COUNTY, 12)
    assert after["from_risk_area"] is True
    assert after["origin_risk"] == "HIGH"
    assert "origin.high" in after["reasons"]

    # Hubei's own row is written there, not sent back to it; Guizhou's reaches Hubei.
    assert hubei.sql(
        "SELECT province_code FROM regions_countyrisk WHERE county_code = %s", (HUBEI_COUNTY,)
    ) == [("42",)]
    assert hubei.sql(
        "SELECT level FROM regions_countyrisk WHERE county_code = %s", (PROVINCES["52"],)
    ) == [("LOW",)]

    # The arrival counts in Guizhou's figures and so in the national view.
    guizhou.step("refresh")
    wait_for(lambda: _caught_up(demo), timeout=30)
    view = demo.national.step("view")
    assert view["provinces"]["52"]["arrivals_from_risk_today"] == 1
    assert view["provinces"]["42"]["risk"]["HIGH"] == 1
