"""Every decision for a province: 90 counties, 300 service points, 60 businesses, 5 classes.

Target (BENCH.md): under 1 s. Runs the pure engine over synthetic but seeded data, the way
a province-wide refresh would after a policy change: a fresh engine (empty memo) each time.
Also reports the same sweep without memoisation, for comparison in the same run.
"""

from __future__ import annotations

import os
import random
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

from trafficdesk.policy.document import CLASSES, default_policy  # noqa: E402
from trafficdesk.policy.rules import BusinessFacts, Engine, Situation, decide  # noqa: E402

COUNTIES, POINTS, BUSINESSES = 90, 300, 60
CATEGORIES = [
    "PLATE_LICENCE",
    "LICENCE",
    "EXAM",
    "REGISTRATION",
    "INSPECTION",
    "VIOLATION",
    "ACCIDENT",
]
KINDS = ["hall", "branch", "exam_centre", "quick_claim", "service_station"]


def province(seed: int = 2020) -> tuple[list[Situation], list[BusinessFacts]]:
    rng = random.Random(seed)
    counties = [
        (rng.choices(["LOW", "MEDIUM", "HIGH", None], weights=[70, 20, 8, 2])[0], rng.randint(0, 3))
        for _ in range(COUNTIES)
    ]
    points = []
    for _ in range(POINTS):
        level, phase = rng.choice(counties)
        points.append(Situation(level, phase, rng.choice(KINDS), rng.random() < 0.2))
    businesses = [
        BusinessFacts(rng.choice(CATEGORIES), rng.random() < 0.4) for _ in range(BUSINESSES)
    ]
    return points, businesses


def sweep(points: list[Situation], businesses: list[BusinessFacts]) -> tuple[float, int, int]:
    engine = Engine(default_policy())
    start = time.perf_counter()
    decisions = opened = 0
    for situation in points:
        for business in businesses:
            for applicant_class in CLASSES:
                decisions += 1
                opened += engine.decide(situation, business, applicant_class).open
    return time.perf_counter() - start, decisions, opened


def raw_sweep(points: list[Situation], businesses: list[BusinessFacts]) -> float:
    policy = default_policy()
    start = time.perf_counter()
    for situation in points:
        for business in businesses:
            for applicant_class in CLASSES:
                decide(policy, situation, business, applicant_class)
    return time.perf_counter() - start


def run() -> dict[str, object]:
    points, businesses = province()
    runs = [sweep(points, businesses) for _ in range(5)]
    seconds = min(r[0] for r in runs)
    raw = raw_sweep(points, businesses)
    return {
        "counties": COUNTIES,
        "service_points": POINTS,
        "businesses": BUSINESSES,
        "classes": len(CLASSES),
        "decisions": runs[0][1],
        "open_decisions": runs[0][2],
        "seconds": round(seconds, 4),
        "seconds_median_of_5": round(sorted(r[0] for r in runs)[2], 4),
        "seconds_without_memo": round(raw, 4),
        "target_seconds": 1.0,
        "meets_target": seconds < 1.0,
    }
