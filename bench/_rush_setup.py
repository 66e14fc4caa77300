"""Data for bench/booking_rush.py, run as a subprocess with the server's environment.

    python bench/_rush_setup.py OUT.json CITIZENS HOT COLD

Loads the demo (Guizhou, GY-HALL-01 in 520115: LOW risk, phase 3), then creates CITIZENS
citizens with logged-in sessions (no SMS login: a SessionStore with the auth keys, exactly
what django.contrib.auth.login would store) and two identical sets of slots for business
P01 at GY-HALL-01 — one for the HTTP load, one for pgbench — each HOT small slots followed by
COLD large ones, with contiguous ids. Writes what the benchmark needs to OUT.json.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trafficdesk.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._rush_load import resident_id  # noqa: E402
from trafficdesk.accounts.models import FamilyMember, Identity, Role, User  # noqa: E402
from trafficdesk.booking.models import Slot  # noqa: E402
from trafficdesk.booking.services import _decisions  # noqa: E402
from trafficdesk.catalog.models import Business  # noqa: E402
from trafficdesk.core.identity import id_digest  # noqa: E402
from trafficdesk.core.validators import mask_resident_id  # noqa: E402
from trafficdesk.demo.services import load_demo  # noqa: E402
from trafficdesk.sites.models import ServicePoint  # noqa: E402

POINT, BUSINESS = "GY-HALL-01", "P01"
#: The ID numbers the load books with (bench/_rush_load.py's plan: 0, 1, …; the open loop's
#: from OPEN_LOOP_FIRST_ID + 1), and how many of each.
CLOSED_LOOP_IDS, OPEN_LOOP_FIRST_ID, OPEN_LOOP_IDS = 30_000, 1_000_000, 30_000
HOT_PEOPLE, COLD_PEOPLE = 20, 50


def citizens(count: int) -> tuple[list[str], list[int]]:
    users = User.objects.bulk_create(
        [
            User(
                username=f"bench-citizen-{i:04d}",
                role=Role.CITIZEN,
                mobile=f"139{i:08d}",
                password="!bench-unusable",  # noqa: S106 - an unusable hash, as for SMS logins
            )
            for i in range(count)
        ]
    )
    may_book_the_load_ids(users)
    keys = []
    for user in users:
        session = import_module(settings.SESSION_ENGINE).SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.SESSION_AUTH_BACKEND
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return keys, [u.pk for u in users]


def slot_set(point: ServicePoint, category_id: int, minutes: int, first: int, hot: int, cold: int):
    """HOT + COLD slots, one a minute from tomorrow 00:00:13 local (never on a demo slot's
    whole hour), with contiguous ids: [lo, lo + hot) hot, [lo + hot, lo + hot + cold) cold."""
    now = timezone.now()
    base = timezone.localtime(now).replace(hour=0, minute=0, second=13, microsecond=0)
    base += timedelta(days=1)
    rows = []
    for k in range(hot + cold):
        starts = base + timedelta(minutes=first + k)
        people = HOT_PEOPLE if k < hot else COLD_PEOPLE
        rows.append(
            Slot(
                service_point=point,
                category_id=category_id,
                starts_at=starts,
                ends_at=starts + timedelta(minutes=30),
                capacity_minutes=people * minutes,
                capacity_people=people,
                priority_reserved_minutes=0,
                priority_release_at=now - timedelta(hours=1),
            )
        )
    ids = [s.pk for s in Slot.objects.bulk_create(rows, batch_size=5000)]
    if ids != list(range(ids[0], ids[0] + len(ids))):
        raise RuntimeError("slot ids are not contiguous; pgbench needs id ranges")
    return {
        "hot": [ids[0], ids[0] + hot - 1],
        "cold": [ids[0] + hot, ids[-1]],
        "last_starts_at": rows[-1].starts_at.isoformat(),
    }


def may_book_the_load_ids(users: list[User]) -> None:
    """The real-name rule (accounts.realname): an account books for its own ID number and
    its declared family members only. The load sends ID number i with the session of
    citizen i % len(users) (bench/_rush_load.py, bench/_open_loop.py), so each citizen binds
    an ID of its own and has its share of the load's numbers declared (written directly:
    FAMILY_MEMBERS_MAX and the identity check are not what this benchmark measures)."""
    now = timezone.now()
    Identity.objects.bulk_create(
        Identity(
            user=user,
            id_digest=id_digest(resident_id(5_000_000 + i)),
            id_masked=mask_resident_id(resident_id(5_000_000 + i)),
            verified_at=now,
        )
        for i, user in enumerate(users)
    )
    serials = [
        *range(CLOSED_LOOP_IDS),
        *range(OPEN_LOOP_FIRST_ID + 1, OPEN_LOOP_FIRST_ID + 1 + OPEN_LOOP_IDS),
    ]
    FamilyMember.objects.bulk_create(
        (
            FamilyMember(
                account=users[serial % len(users)],
                id_digest=id_digest(resident_id(serial)),
                id_masked=mask_resident_id(resident_id(serial)),
                relation="other",
                verified_at=now,
            )
            for serial in serials
        ),
        batch_size=5000,
    )


def main(out: str, count: int, hot: int, cold: int) -> None:
    load_demo()
    point = ServicePoint.objects.select_related("region__parent").get(code=POINT)
    business = Business.objects.select_related("category").get(code=BUSINESS)
    with transaction.atomic():
        keys, user_ids = citizens(count)
        http = slot_set(point, business.category_id, business.service_minutes, 0, hot, cold)
        pg = slot_set(point, business.category_id, business.service_minutes, hot + cold, hot, cold)
        opened = slot_set(
            point, business.category_id, business.service_minutes, 2 * (hot + cold), hot, cold
        )
    probe = timezone.now() + timedelta(days=1)
    decision = _decisions(point, [business], "GENERAL", probe)[0][1]
    if not decision.open:
        raise RuntimeError(f"{BUSINESS} at {POINT} is not open for GENERAL: {decision.reasons}")
    Path(out).write_text(
        json.dumps(
            {
                "sessions": keys,
                "user_ids": [min(user_ids), max(user_ids)],
                "point": POINT,
                "region_id": point.region_id,
                "business": BUSINESS,
                "business_id": business.pk,
                "minutes": business.service_minutes,
                "risk_level": decision.risk_level,
                "phase": decision.effective_phase,
                "hot_people": HOT_PEOPLE,
                "cold_people": COLD_PEOPLE,
                "http": http,
                "pgbench": pg,
                "open": opened,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
