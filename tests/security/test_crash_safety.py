"""Crash safety: a booking rush against the real server (tests/real_server), SIGKILL in the middle of
the load, restart, and check that every booking a client saw acknowledged exists, that no
slot is over capacity (counters equal the bookings) and that no zone is over its cap
(the rush and the checks: tests/rush.py).

Runs on the database of the current pass: SQLite in the first, PostgreSQL in the second."""

from __future__ import annotations

import time
from typing import Any

from tests.real_server import free_port, kill_hard, session_for, start_server
from tests.rush import Rush, assert_nothing_lost_or_overbooked, may_book_the_rush_ids, rush_slots
from trafficdesk.accounts.models import User
from trafficdesk.catalog.models import Business
from trafficdesk.sites.models import ServicePoint

CLIENTS = 8
SERVER_ENV = {
    "BOOKING_RATE_PER_USER": "100000/m",
    "ASGI_SYNC_THREADS": "4",
    "BOOKING_MAX_ACTIVE_PER_ACCOUNT": "100000",
}


def test_no_acknowledged_booking_is_lost_when_the_server_is_killed(
    transactional_db: Any, demo: Any
) -> None:
    p01 = Business.objects.get(code="P01")
    hall = ServicePoint.objects.get(code="GY-HALL-01")
    slots = rush_slots(hall, p01.category)
    users = [
        User.objects.create(username=f"crash-{i}", mobile=f"1350000{i:04d}", role="citizen")
        for i in range(CLIENTS)
    ]
    may_book_the_rush_ids(users)
    port = free_port()
    server = start_server(port, **SERVER_ENV)
    rush = Rush(lambda: port, [session_for(u) for u in users], slots)
    try:
        with rush:
            # Kill once bookings are being acknowledged (a loaded machine takes longer to get
            # there), and a moment later, so that some are in flight.
            rush.wait_for_acknowledged(1, timeout=30)
            time.sleep(1)
            before_kill = len(rush.acknowledged)
            kill_hard(server)
            server = start_server(port, **SERVER_ENV)
            time.sleep(2)
    finally:
        kill_hard(server)
    assert before_kill > 0, "the load never got through before the kill"
    assert_nothing_lost_or_overbooked(rush.acknowledged, slots)
