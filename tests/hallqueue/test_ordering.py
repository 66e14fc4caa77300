"""Who is called next: class, then booked-on-time, then arrival; ageing bounds every wait."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from trafficdesk.hallqueue.rules import Waiting, order, window_may_serve

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def ticket(i: int, cls: str = "GENERAL", on_time: bool = False, minutes_ago: int = 0) -> Waiting:
    return Waiting(i, cls, on_time, NOW - timedelta(minutes=minutes_ago), 1)


def ids(tickets: list[Waiting]) -> list[int]:
    return [t.ticket_id for t in order(tickets, NOW, 20)]


def test_highest_class_first() -> None:
    assert ids(
        [
            ticket(1, "GENERAL", minutes_ago=5),
            ticket(2, "RESUMPTION"),
            ticket(3, "GREEN"),
            ticket(4, "ESSENTIAL"),
            ticket(5, "EMERGENCY"),
        ]
    ) == [5, 4, 3, 2, 1]


def test_booked_on_time_before_walk_in_within_a_class() -> None:
    assert ids([ticket(1, minutes_ago=10), ticket(2, on_time=True, minutes_ago=1)]) == [2, 1]


def test_earliest_arrival_breaks_ties() -> None:
    assert ids([ticket(1, minutes_ago=3), ticket(2, minutes_ago=9), ticket(3, minutes_ago=6)]) == [
        2,
        3,
        1,
    ]


def test_ageing_lifts_a_long_wait_above_a_newer_higher_class() -> None:
    assert ids([ticket(1, "GENERAL", minutes_ago=45), ticket(2, "RESUMPTION", minutes_ago=0)]) == [
        1,
        2,
    ]
    assert ids([ticket(1, "GENERAL", minutes_ago=10), ticket(2, "RESUMPTION", minutes_ago=0)]) == [
        2,
        1,
    ]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["EMERGENCY", "ESSENTIAL", "GREEN", "RESUMPTION", "GENERAL"]),
            st.booleans(),
            st.integers(0, 60),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_nobody_waits_without_bound(entries: list[tuple[str, bool, int]]) -> None:
    """A GENERAL walk-in who has waited 100 minutes comes before any newcomer."""
    old = ticket(0, "GENERAL", minutes_ago=100)
    newcomers = [
        ticket(i + 1, cls, on_time, minutes_ago=0) for i, (cls, on_time, _m) in enumerate(entries)
    ]
    assert ids([*newcomers, old])[0] == 0


def test_emergency_windows_serve_only_priority_classes() -> None:
    first = ["EMERGENCY", "ESSENTIAL", "GREEN"]  # the default policy's priority_classes
    assert window_may_serve("emergency", ["emergency", "green", "normal"], "EMERGENCY", first)
    assert window_may_serve("emergency", ["emergency", "green", "normal"], "GREEN", first)
    assert not window_may_serve("emergency", ["emergency", "green", "normal"], "GENERAL", first)
    assert not window_may_serve("emergency", ["emergency", "green", "normal"], "RESUMPTION", first)
    assert window_may_serve("normal", ["normal"], "GENERAL", first)
    assert not window_may_serve("green", ["normal"], "GENERAL", first)
    # the policy in force decides who is "first": a policy that adds RESUMPTION lets it in
    assert window_may_serve("emergency", ["emergency"], "RESUMPTION", [*first, "RESUMPTION"])
