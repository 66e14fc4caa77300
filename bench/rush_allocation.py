"""Allocating 1,000,000 rush requests over 10,000 slots with the published rule. Target < 10 s."""

from __future__ import annotations

import os
import random
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

from trafficdesk.booking.rules import Applicant, Place, allocate, result_digest  # noqa: E402

REQUESTS, SLOTS, SEATS = 1_000_000, 10_000, 50


def run() -> dict[str, object]:
    rng = random.Random(7)
    applicants = [
        Applicant(
            i, rng.choices(range(5), weights=[1, 2, 3, 14, 80])[0], 738000 + rng.randrange(14)
        )
        for i in range(1, REQUESTS + 1)
    ]
    places = [Place(slot_id, SEATS) for slot_id in range(1, SLOTS + 1)]
    start = time.perf_counter()
    result = allocate(applicants, places, "bench-seed")
    seconds = time.perf_counter() - start
    won = sum(1 for _r, s in result if s is not None)
    start = time.perf_counter()
    digest = result_digest(result)
    digest_seconds = time.perf_counter() - start
    return {
        "requests": REQUESTS,
        "slots": SLOTS,
        "seats": SLOTS * SEATS,
        "won": won,
        "seconds": round(seconds, 3),
        "digest_seconds": round(digest_seconds, 3),
        "result_digest": digest,
        "target_seconds": 10,
        "meets_target": seconds < 10,
    }
