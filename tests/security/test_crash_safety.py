"""Crash safety: a booking rush against the real server (tests/real_server), SIGKILL in the middle of
the load, restart, and check that every booking a client saw acknowledged exists, that no
slot is over capacity (counters equal the bookings) and that no zone is over its cap.

Runs on the database of the current pass: SQLite in the first, PostgreSQL in the second."""

from __future__ import annotations

import http.client
import json
import threading
import time
from datetime import timedelta
from typing import Any

from django.db.models import Count, F, Q
from django.utils import timezone

from tests.booking.conftest import make_id
from tests.real_server import free_port, kill_hard, session_for, start_server
from trafficdesk.accounts.models import User
from trafficdesk.booking.models import Booking, Slot
from trafficdesk.catalog.models import Business
from trafficdesk.sites.models import ServicePoint, Zone

CLIENTS = 8
SERVER_ENV = {"BOOKING_RATE_PER_USER": "100000/m", "ASGI_SYNC_THREADS": "4"}


def test_no_acknowledged_booking_is_lost_when_the_server_is_killed(
    transactional_db: Any, demo: Any
) -> None:
    p01 = Business.objects.get(code="P01")
    hall = ServicePoint.objects.get(code="GY-HALL-01")
    start = timezone.now().replace(minute=0, second=13, microsecond=0) + timedelta(days=2)  # off the demo slots
    slots = [
        Slot.objects.create(
            service_point=hall,
            category=p01.category,
            starts_at=start + timedelta(minutes=i),
            ends_at=start + timedelta(minutes=i + 60),
            capacity_minutes=15 * 20,
            capacity_people=15,
            priority_release_at=start - timedelta(days=3),
        )
        for i in range(6)
    ]
    users = [
        User.objects.create(username=f"crash-{i}", mobile=f"1350000{i:04d}", role="citizen")
        for i in range(CLIENTS)
    ]
    sessions = [session_for(u) for u in users]
    acknowledged: list[str] = []
    lock = threading.Lock()
    state = {"port": free_port(), "stop": False, "serial": 0}
    server = start_server(state["port"], **SERVER_ENV)

    def client(index: int) -> None:
        session_key, csrf = sessions[index]
        while not state["stop"]:
            with lock:
                state["serial"] += 1
                serial = state["serial"]
            body = json.dumps(
                {
                    "slot": slots[serial % len(slots)].pk,
                    "businesses": ["P01"],
                    "id_number": make_id(20_000 + serial),
                }
            )
            try:
                conn = http.client.HTTPConnection("127.0.0.1", state["port"], timeout=5)
                conn.request(
                    "POST",
                    "/api/v1/bookings",
                    body,
                    {
                        "Content-Type": "application/json",
                        "X-CSRFToken": csrf,
                        "Referer": "http://127.0.0.1/",
                        "Cookie": f"sessionid={session_key}; csrftoken={csrf}",
                    },
                )
                response = conn.getresponse()
                payload = response.read()
                conn.close()
            except (OSError, http.client.HTTPException):
                time.sleep(0.05)  # killed mid-answer: not acknowledged, so not counted
                continue
            if response.status == 201:
                with lock:
                    acknowledged.append(json.loads(payload)["token"])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        # Kill once bookings are being acknowledged (a loaded machine takes longer to get
        # there), and a moment later, so that some are in flight.
        deadline = time.monotonic() + 30
        while not acknowledged and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        before_kill = len(acknowledged)
        kill_hard(server)
        server = start_server(state["port"], **SERVER_ENV)
        time.sleep(2)
    finally:
        state["stop"] = True
        for thread in threads:
            thread.join(15)
        kill_hard(server)
    assert before_kill > 0, "the load never got through before the kill"
    tokens = set(Booking.objects.filter(status="active").values_list("token", flat=True))
    assert set(acknowledged) <= tokens, (
        f"{len(set(acknowledged) - tokens)} acknowledged bookings lost"
    )
    assert (
        Slot.objects.filter(
            Q(booked_people__gt=F("capacity_people")) | Q(booked_minutes__gt=F("capacity_minutes"))
        ).count()
        == 0
    )
    for slot in Slot.objects.filter(pk__in=[s.pk for s in slots]).annotate(
        active=Count("bookings", filter=Q(bookings__status="active"))
    ):
        assert slot.booked_people == slot.active
    assert Zone.objects.filter(present__gt=F("occupancy_cap")).count() == 0
