"""Pure booking rules: the rush allocation (published rule, seeded draw)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

from trafficdesk.policy.rules import CLASS_ORDER

CLASS_RANK = {name: rank for rank, name in enumerate(CLASS_ORDER)}
RULE = "priority class (EMERGENCY > ESSENTIAL > GREEN > RESUMPTION > GENERAL), then application date, then a seeded draw"


@dataclass(frozen=True, slots=True)
class Applicant:
    request_id: int
    class_rank: int
    applied_on: int  # date ordinal


@dataclass(frozen=True, slots=True)
class Place:
    slot_id: int
    seats: int


def allocate(
    applicants: Sequence[Applicant], places: Sequence[Place], seed: str
) -> list[tuple[int, int | None]]:
    """Pure and deterministic: the same applicants, places and seed give the same result,
    whatever order they come in. Returns (request_id, slot_id or None) in rank order."""
    ordered = sorted(applicants, key=lambda a: a.request_id)
    random.Random(seed).shuffle(ordered)  # noqa: S311 - a published, reproducible draw, not a secret
    ordered.sort(key=lambda a: (a.class_rank, a.applied_on))  # stable: the draw breaks ties
    seats = [(p.slot_id, p.seats) for p in sorted(places, key=lambda p: p.slot_id) if p.seats > 0]
    result: list[tuple[int, int | None]] = []
    index, left = 0, seats[0][1] if seats else 0
    for applicant in ordered:
        while index < len(seats) and left == 0:
            index += 1
            left = seats[index][1] if index < len(seats) else 0
        if index < len(seats):
            result.append((applicant.request_id, seats[index][0]))
            left -= 1
        else:
            result.append((applicant.request_id, None))
    return result


def result_digest(result: Sequence[tuple[int, int | None]]) -> str:
    digest = hashlib.sha256()
    for request_id, slot_id in result:
        digest.update(f"{request_id}:{slot_id if slot_id is not None else '-'};".encode())
    return digest.hexdigest()


def seed_hash(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()
