"""Data for bench/hot_path_cost.py, run as a subprocess with the probe's environment.

    python bench/_hot_path_setup.py OUT.json

Loads the demo (GY-HALL-01 in 520115: LOW risk, open to general applicants), then creates
citizens with logged-in sessions (what django.contrib.auth.login stores, in the configured
session engine), a large slot with room for every accepted booking (one for the product,
one for the reference), a full slot, and walk-in tickets for P01 at the hall for the window
console (the clerk's own session); the zone's cap is raised so they all wait inside.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import time as clock_time
from datetime import timedelta
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench._hot_path_settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._rush_load import resident_id  # noqa: E402
from trafficdesk.accounts.models import Identity, Role, User  # noqa: E402
from trafficdesk.booking.models import Slot  # noqa: E402
from trafficdesk.catalog.models import Business  # noqa: E402
from trafficdesk.core.identity import id_digest  # noqa: E402
from trafficdesk.core.validators import mask_resident_id  # noqa: E402
from trafficdesk.demo.services import load_demo  # noqa: E402
from trafficdesk.hallqueue import services as hall  # noqa: E402
from trafficdesk.sites.models import ServicePoint, Window, Zone  # noqa: E402

POINT, BUSINESS, WINDOW_NUMBER = "GY-HALL-01", "P01", 3
CITIZENS, TICKETS = 120, 120
FIRST_SERIAL = 10_000


def session(user: User) -> str:
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.SESSION_AUTH_BACKEND
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    # An active session: its idle-timeout mark is fresh for the whole (slow, under valgrind) run.
    store["last_seen"] = int(time.time()) + 3600
    store.create()
    assert store.session_key is not None
    return store.session_key


def slot(point: ServicePoint, business: Business, people: int, minute: int) -> Slot:
    now = timezone.now()
    starts = timezone.localtime(now).replace(hour=0, minute=minute, second=17, microsecond=0)
    starts += timedelta(days=2)
    return Slot.objects.create(
        service_point=point,
        category_id=business.category_id,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
        capacity_minutes=people * business.service_minutes,
        capacity_people=people,
        priority_reserved_minutes=0,
        priority_release_at=now - timedelta(hours=1),
    )


def main(out: str) -> None:
    load_demo()
    point = ServicePoint.objects.select_related("region__parent").get(code=POINT)
    # The benchmark runs at any hour: its hall issues walk-in tickets all day.
    ServicePoint.objects.filter(pk=point.pk).update(
        opens_at=clock_time(0, 0),
        closes_at=clock_time(23, 59, 59),
        lunch_starts_at=None,
        lunch_ends_at=None,
    )
    point.refresh_from_db()
    business = Business.objects.select_related("category").get(code=BUSINESS)
    citizens = User.objects.bulk_create(
        [
            User(
                username=f"hot-path-{i:04d}",
                role=Role.CITIZEN,
                mobile=f"138{i:08d}",
                password="!bench-unusable",  # noqa: S106 - an unusable hash, as for SMS logins
            )
            for i in range(CITIZENS)
        ]
    )
    # Each citizen's account is bound to the ID number it books with (real-name booking): the
    # hot path is a citizen booking for themselves, not the first booking that binds the ID.
    id_numbers = [resident_id(FIRST_SERIAL + i) for i in range(CITIZENS)]
    Identity.objects.bulk_create(
        Identity(
            user=user,
            id_digest=id_digest(number),
            id_masked=mask_resident_id(number),
            verified_at=timezone.now(),
        )
        for user, number in zip(citizens, id_numbers, strict=True)
    )
    roomy = slot(point, business, 1000, 7)
    roomy_lean = slot(point, business, 1000, 8)
    full = slot(point, business, 1, 9)
    Slot.objects.filter(pk=full.pk).update(
        booked_people=1, booked_minutes=business.service_minutes, booked_general_minutes=0
    )
    window = Window.objects.get(service_point=point, number=WINDOW_NUMBER)
    Zone.objects.filter(service_point=point).update(occupancy_cap=10_000)
    for _ in range(TICKETS):
        hall.walk_in(point, business)
    clerk = User.objects.get(username="clerk")
    Path(out).write_text(
        json.dumps(
            {
                "sessions": [session(u) for u in citizens],
                "id_numbers": id_numbers,
                "clerk_session": session(clerk),
                "business": BUSINESS,
                "business_id": business.pk,
                "minutes": business.service_minutes,
                "roomy_slot": roomy.pk,
                "roomy_lean_slot": roomy_lean.pk,
                "full_slot": full.pk,
                "window": window.pk,
                "point": POINT,
                "county": point.region.code,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
