"""Data for bench/live_streams.py, after bench/_rush_setup.py loaded the demo.

    python bench/_live_setup.py OUT.json TICKETS

TICKETS walk-in P01 tickets at GY-HALL-01 (its zone's cap raised so they all wait inside)
for window 3, and the demo clerk's logged-in session.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trafficdesk.settings")

import django  # noqa: E402

django.setup()

from bench._hot_path_setup import session  # noqa: E402
from trafficdesk.accounts.models import User  # noqa: E402
from trafficdesk.catalog.models import Business  # noqa: E402
from trafficdesk.hallqueue import services as hall  # noqa: E402
from trafficdesk.sites.models import ServicePoint, Window, Zone  # noqa: E402

POINT, BUSINESS, WINDOW_NUMBER = "GY-HALL-01", "P01", 3


def main(out: str, tickets: int) -> None:
    point = ServicePoint.objects.select_related("region").get(code=POINT)
    # The benchmark runs at any hour: its hall issues walk-in tickets all day.
    ServicePoint.objects.filter(pk=point.pk).update(
        opens_at=time(0, 0), closes_at=time(23, 59, 59), lunch_starts_at=None, lunch_ends_at=None
    )
    point.refresh_from_db()
    business = Business.objects.select_related("category").get(code=BUSINESS)
    Zone.objects.filter(service_point=point).update(occupancy_cap=10_000)
    for _ in range(tickets):
        hall.walk_in(point, business)
    window = Window.objects.get(service_point=point, number=WINDOW_NUMBER)
    clerk = User.objects.get(username="clerk")
    Path(out).write_text(
        json.dumps({"point": POINT, "window": window.pk, "clerk_session": session(clerk)})
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
