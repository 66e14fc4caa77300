"""Runs inside Django against the throwaway database (see bench/rush_end_to_end.py)."""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.utils import timezone  # noqa: E402

from trafficdesk.accounts.models import User  # noqa: E402
from trafficdesk.booking import rush  # noqa: E402
from trafficdesk.booking.models import Booking, RushRequest, RushWindow, Slot  # noqa: E402
from trafficdesk.catalog.models import Business  # noqa: E402
from trafficdesk.core import sql  # noqa: E402
from trafficdesk.demo.services import load_demo  # noqa: E402
from trafficdesk.notify.models import SmsMessage  # noqa: E402
from trafficdesk.sites.models import ServicePoint  # noqa: E402

ACCOUNTS = 100_000
CLASSES = ["GENERAL"] * 97 + ["RESUMPTION"] * 3


PHASES: dict[str, float] = {}


def timed(module: object, name: str) -> None:
    """Add the time spent in `module.name` to PHASES (the allocation's breakdown)."""
    original = getattr(module, name)

    def wrapper(*args: object, **kwargs: object) -> object:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            PHASES[name] = PHASES.get(name, 0.0) + time.perf_counter() - start

    setattr(module, name, wrapper)


def main(applications: int, slot_count: int, seats: int) -> None:
    load_demo()
    point = ServicePoint.objects.get(code="GY-EXAM-01")
    business = Business.objects.get(code="E02")
    minutes = business.service_minutes
    now = timezone.now()
    first = now.replace(minute=0, second=0, microsecond=0) + timedelta(
        days=30
    )  # past the demo slots
    slots = Slot.objects.bulk_create(
        [
            Slot(
                service_point=point,
                category=business.category,
                starts_at=first + timedelta(minutes=10 * i),
                ends_at=first + timedelta(minutes=10 * i + 60),
                capacity_minutes=seats * minutes,
                capacity_people=seats,
                priority_release_at=now,
            )
            for i in range(slot_count)
        ],
        batch_size=5000,
    )
    window = rush.open_rush(
        User.objects.get(username="gz_admin"),
        service_point=point,
        business=business,
        opens_at=now - timedelta(days=3),
        closes_at=now + timedelta(hours=1),
        slots=slots,
    )
    User.objects.bulk_create(
        [
            User(username=f"bench-{i}", mobile=f"139{i:08d}", role="citizen", password="!")  # noqa: S106 - an unusable password
            for i in range(ACCOUNTS)
        ],
        batch_size=5000,
    )
    holder_ids = list(
        User.objects.filter(username__startswith="bench-").values_list("id", flat=True)
    )
    today = timezone.localdate()
    # The service's own rate, on a sample (each one transaction with its checks).
    sample = 200
    start = time.perf_counter()
    citizen = User.objects.get(pk=holder_ids[0])
    from tests.booking.conftest import make_id

    for i in range(sample):
        rush.apply(citizen, window, make_id(900_000 + i))
    apply_per_s = sample / (time.perf_counter() - start)
    rng = random.Random(11)
    start = time.perf_counter()
    stored = sql.copy_rows(
        RushRequest._meta.db_table,
        (
            "rush_id",
            "holder_id",
            "id_digest",
            "id_masked",
            "applicant_class",
            "applied_on",
            "applied_at",
            "licence_class",
        ),  # fmt: skip
        (
            (
                window.pk,
                holder_ids[i % ACCOUNTS],
                hashlib.sha256(f"bench-{i}".encode()).hexdigest(),
                "5201**********" + f"{i % 10000:04d}",
                rng.choice(CLASSES),
                today - timedelta(days=rng.randrange(3)),
                now,
                "",
            )
            for i in range(applications - sample)
        ),
    )
    store_seconds = time.perf_counter() - start
    print(f"stored {stored} in {store_seconds:.1f} s", file=sys.stderr, flush=True)
    RushWindow.objects.filter(pk=window.pk).update(closes_at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    for name in ("_places", "_left_out", "allocate", "_book_winners", "queue_sms_bulk"):
        timed(rush, name)
    timed(rush.sql, "set_integers_by_id")
    start = time.perf_counter()
    outcome = rush.allocate_rush(window.pk)
    allocate_seconds = time.perf_counter() - start
    start = time.perf_counter()
    window.refresh_from_db()
    verified = rush.verify(window)
    verify_seconds = time.perf_counter() - start
    overbooked = Slot.objects.filter(rush=window, booked_people__gt=F("capacity_people")).count()
    print(
        json.dumps(
            {
                "applications": stored + sample,
                "slots": slot_count,
                "places": slot_count * seats,
                "won": outcome["won"],
                "bookings_written": Booking.objects.filter(rush_request__rush=window).count(),
                "notices_written": SmsMessage.objects.filter(kind__startswith="rush.").count(),
                "store_seconds": round(store_seconds, 2),
                "allocate_seconds": round(allocate_seconds, 2),
                "seconds": round(allocate_seconds, 2),
                "allocate_breakdown_s": {k: round(v, 2) for k, v in PHASES.items()},
                "verify_seconds": round(verify_seconds, 2),
                "verified": verified,
                "overbooked_slots": overbooked,
                "apply_per_s_one_client": round(apply_per_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
