"""A rush's live counter through the production server: every open screen sees the number
of applications and places as it changes, read once a second per server process for all of
them (core.live.sse_watch), with no write per viewer."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.booking.conftest import make_id
from tests.real_server import OPEN, EventReader, free_port, start_server, stop
from trafficdesk.booking import rush
from trafficdesk.catalog.models import Business

SCREENS = 20


def latest(reader: EventReader, timeout: float = 10.0, **wanted: Any) -> dict[str, Any]:
    """The counter a screen shows once it reaches `wanted`."""
    deadline = time.monotonic() + timeout
    shown: dict[str, Any] = {}
    while time.monotonic() < deadline:
        if reader.events:
            shown = json.loads(reader.events[-1]["data"])
            if all(shown.get(k) == v for k, v in wanted.items()):
                return shown
        time.sleep(0.05)
    raise AssertionError(f"the screen shows {shown}, not {wanted}")


def test_every_screen_follows_the_rush_counter(
    transactional_db: Any, users: dict[str, Any], make_slot: Any, make_citizen: Any
) -> None:
    slots = [make_slot(people=3), make_slot(people=4)]
    now = timezone.now()
    window = rush.open_rush(
        users["gz_admin"],
        service_point=slots[0].service_point,
        business=Business.objects.get(code="P01"),
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=1),
        slots=slots,
    )
    port = free_port()
    server = start_server(port, workers=1, LIVE_SAMPLE_MS="200")
    try:
        screens = [EventReader(port, f"/booking/rush/{window.pk}/events/") for _ in range(SCREENS)]
        for screen in screens:
            assert screen.response.status == 200
            assert latest(screen, applications=0) == {
                "applications": 0,
                "places": 7,
                "status": "open",
            }
        with CaptureQueriesContext(connection) as applying:
            for i in range(3):
                rush.apply(make_citizen(), window, make_id(96_300 + i))
        for screen in screens:
            assert latest(screen, applications=3)["places"] == 7
        assert not any("liveevent" in q["sql"].lower() for q in applying.captured_queries), (
            "an application wrote a live event: counters are sampled, not written"
        )
        missing = EventReader(port, "/booking/rush/999999/events/")
        assert missing.response.status == 404
    finally:
        while OPEN:
            OPEN.pop().close()
        stop(server)
