"""Runs inside Django against the throwaway database (see bench/rebooking.py)."""

from __future__ import annotations

import json
import os
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
from trafficdesk.booking import numbers  # noqa: E402
from trafficdesk.booking.models import Booking, BookingItem, Slot  # noqa: E402
from trafficdesk.booking.rebooking import rebook_affected  # noqa: E402
from trafficdesk.catalog.models import Business  # noqa: E402
from trafficdesk.demo.services import load_demo  # noqa: E402
from trafficdesk.regions.models import Region  # noqa: E402
from trafficdesk.regions.services import set_risk_level  # noqa: E402
from trafficdesk.sites.models import ServicePoint  # noqa: E402

PER_SLOT = 50


def main(bookings: int) -> None:
    load_demo()
    Slot.objects.all().delete()
    p01 = Business.objects.get(code="P01")
    hall, branch = (
        ServicePoint.objects.get(code="GY-HALL-01"),
        ServicePoint.objects.get(code="GY-BR-QZ"),
    )
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    past = timezone.now() - timedelta(days=1)

    def slots(point: ServicePoint, count: int, booked: int) -> list[Slot]:
        return Slot.objects.bulk_create(
            [
                Slot(
                    service_point=point,
                    category=p01.category,
                    starts_at=start + timedelta(minutes=i),
                    ends_at=start + timedelta(minutes=i + 60),
                    capacity_minutes=PER_SLOT * 20,
                    capacity_people=PER_SLOT,
                    priority_release_at=past,
                    booked_minutes=booked * 20,
                    booked_people=booked,
                    booked_general_minutes=booked * 20,
                )
                for i in range(count)
            ],
            batch_size=2000,
        )

    hall_slots = slots(hall, bookings // PER_SLOT, PER_SLOT)
    slots(branch, bookings // PER_SLOT // 2, 0)
    holders = User.objects.bulk_create(
        [User(username=f"bench-{i}", mobile=f"139{i:08d}", role="citizen") for i in range(1000)]
    )
    rows = []
    for i in range(bookings):
        rows.append(
            Booking(
                token=f"bench-{i}",
                holder=holders[i % 1000],
                slot=hall_slots[i // PER_SLOT],
                id_digest=f"{i:064d}",
                id_masked="5201**********0000",
                minutes=20,
            )
        )
    created = Booking.objects.bulk_create(numbers.unused(rows), batch_size=5000)
    BookingItem.objects.bulk_create(
        [BookingItem(booking=b, business=p01, id_digest=b.id_digest) for b in created],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    set_risk_level(
        User.objects.get(username="gz_admin"),
        Region.objects.get(code="520115"),
        "HIGH",
        reason="bench",
        effective_from=timezone.now(),
    )
    began = time.perf_counter()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        result = profiler.runcall(rebook_affected, "520115")
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
    else:
        result = rebook_affected("520115")
    seconds = time.perf_counter() - began
    overbooked = Slot.objects.filter(booked_people__gt=F("capacity_people")).count()
    active_at_hall = Booking.objects.filter(status="active", slot__service_point=hall).count()
    print(
        json.dumps(
            {
                "bookings": bookings,
                "checked": result.checked,
                "moved": result.moved,
                "cancelled": result.cancelled,
                "seconds": round(seconds, 2),
                "overbooked_slots": overbooked,
                "left_invalid": active_at_hall,
                "database": "postgresql",
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
