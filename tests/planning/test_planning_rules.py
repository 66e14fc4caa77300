"""The planner against textbook Erlang C values and against the simulation."""

from __future__ import annotations

import math

import pytest

from trafficdesk.planning.rules import (
    erlang_c,
    mean_wait,
    options,
    recommend,
    simulate,
    wait_within,
)


def erlang_c_by_the_book(c: int, a: float) -> float:
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize(
    ("servers", "load", "expected"),
    [
        (1, 0.5, 0.5),  # M/M/1: P(wait) = rho
        (2, 1.0, 1 / 3),
        (3, 2.0, 4 / 9),
        (10, 8.0, 0.4092),  # Erlang C table value
        (5, 4.0, 0.5541),
    ],
)
def test_textbook_values(servers: int, load: float, expected: float) -> None:
    assert erlang_c(servers, load) == pytest.approx(expected, abs=5e-4)
    assert erlang_c(servers, load) == pytest.approx(erlang_c_by_the_book(servers, load), rel=1e-9)


def test_unstable_and_empty_loads() -> None:
    assert erlang_c(3, 3.0) == 1.0 and erlang_c(3, 5.0) == 1.0 and erlang_c(3, 0.0) == 0.0
    assert mean_wait(1, 3 / 60, 1 / 30) == math.inf


def test_mm1_mean_wait_matches_the_formula() -> None:
    lam, mu = 0.5, 1.0  # Wq = rho / (mu - lam) = 1.0
    assert mean_wait(1, lam, mu) == pytest.approx(1.0)
    assert wait_within(1, lam, mu, 0) == pytest.approx(0.5)


def test_recommendation_is_the_fewest_windows_meeting_the_target() -> None:
    found = options(60, 10, target_minutes=15, target_share=0.9, zone_cap=100, max_windows=30)
    best = recommend(found)
    assert best is not None and best.within_target >= 0.9
    assert all(not o.meets_target for o in found if o.windows < best.windows)
    assert [o.windows for o in found] == sorted(o.windows for o in found)


def test_zone_cap_can_rule_out_an_option() -> None:
    found = options(60, 10, target_minutes=15, target_share=0.5, zone_cap=11, max_windows=30)
    best = recommend(found)
    assert best is not None and best.people_in_hall <= 11


def test_simulation_agrees_with_erlang_c() -> None:
    """Single class, FIFO: the simulated share waiting <= 15 min and mean wait agree with
    Erlang C within 0.04 (share) and 20% (mean), averaged over 5 seeded days of ~4,000 arrivals."""
    arrivals, service, windows = 60.0, 10.0, 11
    runs = [
        simulate(
            windows=windows,
            arrivals_per_hour={"GENERAL": arrivals},
            service_minutes=service,
            hours=66,
            target_minutes=15,
            seed=seed,
        )
        for seed in range(5)
    ]
    share = sum(r.within_target for r in runs) / len(runs)
    mean = sum(r.mean_wait_min for r in runs) / len(runs)
    assert share == pytest.approx(wait_within(windows, arrivals / 60, 1 / service, 15), abs=0.04)
    assert mean == pytest.approx(mean_wait(windows, arrivals / 60, 1 / service), rel=0.2)


def test_priority_classes_wait_less() -> None:
    result = simulate(
        windows=8,
        arrivals_per_hour={"EMERGENCY": 5, "GREEN": 10, "GENERAL": 31},
        service_minutes=10,
        hours=40,
        target_minutes=15,
        seed=3,
    )
    assert result.waits_by_class["EMERGENCY"] <= result.waits_by_class["GENERAL"]
    assert result.served == result.arrivals


def test_arrivals_cap() -> None:
    assert (
        simulate(
            windows=30,
            arrivals_per_hour={"GENERAL": 600},
            service_minutes=3,
            hours=100,
            target_minutes=15,
            arrivals=500,
        ).arrivals
        == 500
    )


def test_plan_for_the_demo_hall(client: object, users: dict, demo: object) -> None:  # type: ignore[type-arg]
    from django.test import Client
    from django.utils import timezone

    from trafficdesk.planning.services import plan
    from trafficdesk.sites.models import ServicePoint

    result = plan(ServicePoint.objects.get(code="GY-HALL-01"), timezone.localdate())
    assert result.groups and {g.category for g in result.groups} >= {
        "PLATE_LICENCE",
        "REGISTRATION",
    }
    assert isinstance(client, Client)
    client.force_login(users["gz_admin"])
    body = client.get("/api/v1/planning/GY-HALL-01").json()
    assert body["service_point"] == "GY-HALL-01" and body["groups"]
    assert client.get("/planning/").status_code == 200
    client.force_login(users["clerk"])
    assert client.get("/api/v1/planning/GY-HALL-01").status_code == 403
