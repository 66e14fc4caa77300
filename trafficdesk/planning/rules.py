"""Window-count planning (SPEC R12), pure: Erlang C for the quick answer, a discrete-event
simulation (SimPy) with the priority classes to check it."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar

import simpy

from trafficdesk.core.vocabulary import CLASS_RANK

K = TypeVar("K", bound=Hashable)


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits, M/M/c with `offered_load` = arrival rate x mean service
    time (in Erlangs). 1.0 when the load is not below the number of servers."""
    if servers <= 0:
        return 1.0
    if offered_load <= 0:
        return 0.0
    if offered_load >= servers:
        return 1.0
    blocking = 1.0
    for k in range(1, servers + 1):  # Erlang B by recursion, numerically stable
        blocking = offered_load * blocking / (k + offered_load * blocking)
    rho = offered_load / servers
    return blocking / (1 - rho * (1 - blocking))


def wait_within(servers: int, arrival_rate: float, service_rate: float, minutes: float) -> float:
    """P(wait <= minutes) in M/M/c (rates per minute)."""
    load = arrival_rate / service_rate
    if load >= servers:
        return 0.0
    return 1 - erlang_c(servers, load) * math.exp(
        -(servers * service_rate - arrival_rate) * minutes
    )


def mean_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    load = arrival_rate / service_rate
    if load >= servers:
        return math.inf
    return erlang_c(servers, load) / (servers * service_rate - arrival_rate)


@dataclass(frozen=True)
class Option:
    windows: int
    occupancy: float
    probability_waits: float
    mean_wait_min: float
    within_target: float
    people_in_hall: float
    meets_target: bool
    fits_zone: bool


def options(
    arrivals_per_hour: float,
    service_minutes: float,
    *,
    target_minutes: float,
    target_share: float,
    zone_cap: int,
    max_windows: int,
) -> list[Option]:
    """Every window count from the least stable one up to `max_windows`, with its expected
    waits and occupancy."""
    arrival_rate = arrivals_per_hour / 60
    service_rate = 1 / service_minutes
    load = arrival_rate / service_rate
    found = []
    for windows in range(max(1, math.floor(load) + 1), max_windows + 1):
        within = wait_within(windows, arrival_rate, service_rate, target_minutes)
        waiting = mean_wait(windows, arrival_rate, service_rate)
        in_hall = arrival_rate * waiting + load  # Little: L = Lq + a
        found.append(
            Option(
                windows,
                load / windows,
                erlang_c(windows, load),
                waiting,
                within,
                in_hall,
                within >= target_share,
                in_hall <= zone_cap,
            )
        )
    return found


def recommend(found: Sequence[Option]) -> Option | None:
    """The fewest windows that meet the target and keep the expected crowd within the zone cap."""
    return next((o for o in found if o.meets_target and o.fits_zone), None)


# --- which day, and what if --------------------------------------------------------------------

#: How far ahead the planner looks for the next day a service point is open.
LOOK_AHEAD_DAYS = 14
#: The largest what-if the planner takes (walk-ins a day at one service point).
MAX_WALK_INS = 100_000


def is_weekday(day: date) -> bool:
    return day.weekday() < 5


def next_working_day(now: datetime, closes_at: time, is_open: Callable[[date], bool]) -> date:
    """The day to plan for at `now` (local time): today while the point has not closed yet and
    is open today, else the next day it is open; failing that within LOOK_AHEAD_DAYS, the next
    weekday."""
    today = now.date()
    if now.time() < closes_at and is_open(today):
        return today
    for ahead in range(1, LOOK_AHEAD_DAYS + 1):
        day = today + timedelta(days=ahead)
        if is_open(day):
            return day
    day = today + timedelta(days=1)
    while not is_weekday(day):
        day += timedelta(days=1)
    return day


def walk_ins_per_day(value: float, unit: str, hours: float) -> float:
    """A what-if of expected walk-ins as a total for the day: "hour" means per opening hour."""
    if value < 0:
        raise ValueError("walk-ins cannot be negative")
    return value * hours if unit == "hour" else value


def split_walk_ins(
    total: float, forecast: Mapping[K, float], groups: Sequence[K]
) -> dict[K, float]:
    """Share a day's expected walk-ins among the groups as the forecast shares them, or
    evenly when there is no forecast."""
    if not groups:
        return {}
    known = sum(max(0.0, forecast.get(g, 0.0)) for g in groups)
    if known <= 0:
        return {g: total / len(groups) for g in groups}
    return {g: total * max(0.0, forecast.get(g, 0.0)) / known for g in groups}


# --- simulation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimResult:
    arrivals: int
    served: int
    mean_wait_min: float
    within_target: float
    max_in_system: int
    waits_by_class: dict[str, float]


def simulate(
    *,
    windows: int,
    arrivals_per_hour: dict[str, float],
    service_minutes: float,
    hours: float,
    target_minutes: float,
    seed: int = 1,
    arrivals: int | None = None,
) -> SimResult:
    """A hall day: Poisson arrivals per class, exponential service, one queue served by
    `windows` windows, higher classes first (non-pre-emptive). `arrivals` caps the count."""
    rng = random.Random(seed)  # noqa: S311 - simulation, not security
    env = simpy.Environment()
    counters = simpy.PriorityResource(env, capacity=windows)
    waits: list[tuple[str, float]] = []
    state = {"in_system": 0, "max": 0, "arrived": 0}
    total_rate = sum(arrivals_per_hour.values()) / 60
    classes = list(arrivals_per_hour)
    weights = [arrivals_per_hour[c] for c in classes]
    limit = arrivals if arrivals is not None else 10**9

    def customer(applicant_class: str) -> simpy.events.ProcessGenerator:
        arrived = env.now
        state["in_system"] += 1
        state["max"] = max(state["max"], state["in_system"])
        with counters.request(priority=CLASS_RANK[applicant_class]) as request:
            yield request
            waits.append((applicant_class, env.now - arrived))
            yield env.timeout(rng.expovariate(1 / service_minutes))
        state["in_system"] -= 1

    def source() -> simpy.events.ProcessGenerator:
        while env.now < hours * 60 and state["arrived"] < limit:
            yield env.timeout(rng.expovariate(total_rate))
            state["arrived"] += 1
            env.process(customer(rng.choices(classes, weights)[0]))

    env.process(source())
    env.run()
    all_waits = [w for _c, w in waits]
    by_class: dict[str, list[float]] = {}
    for applicant_class, wait in waits:
        by_class.setdefault(applicant_class, []).append(wait)
    return SimResult(
        arrivals=state["arrived"],
        served=len(waits),
        mean_wait_min=sum(all_waits) / len(all_waits) if all_waits else 0.0,
        within_target=sum(1 for w in all_waits if w <= target_minutes) / len(all_waits)
        if all_waits
        else 1.0,
        max_in_system=state["max"],
        waits_by_class={c: sum(v) / len(v) for c, v in by_class.items()},
    )
