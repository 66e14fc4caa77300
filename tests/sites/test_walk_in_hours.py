"""When a hall issues walk-in tickets (sites.rules.walk_in_closed): a table of moments."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from trafficdesk.sites.rules import (
    AFTER_CLOSING,
    BEFORE_OPENING,
    CLOSED_DAY,
    LUNCH,
    walk_in_closed,
)

OPENS, CLOSES, LUNCH_BREAK = time(9), time(17), (time(12), time(13, 30))
MONDAY = date(2026, 11, 30)


def _weekdays(day: date) -> bool:
    return day.weekday() < 5


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(MONDAY, 8, 59), (BEFORE_OPENING, at(MONDAY, 9))),
        (at(MONDAY, 0, 0), (BEFORE_OPENING, at(MONDAY, 9))),
        (at(MONDAY, 9), None),
        (at(MONDAY, 11, 59), None),
        (at(MONDAY, 12), (LUNCH, at(MONDAY, 13, 30))),
        (at(MONDAY, 13, 29), (LUNCH, at(MONDAY, 13, 30))),
        (at(MONDAY, 13, 30), None),
        (at(MONDAY, 16, 59), None),
        (at(MONDAY, 17), (AFTER_CLOSING, at(date(2026, 12, 1), 9))),
        (at(MONDAY, 21, 31), (AFTER_CLOSING, at(date(2026, 12, 1), 9))),
        (at(MONDAY, 23, 59), (AFTER_CLOSING, at(date(2026, 12, 1), 9))),
        # Friday evening: the next open day is Monday
        (at(date(2026, 12, 4), 21, 31), (AFTER_CLOSING, at(date(2026, 12, 7), 9))),
        # a closed day (Saturday): none all day, from Monday 09:00
        (at(date(2026, 12, 5), 10), (CLOSED_DAY, at(date(2026, 12, 7), 9))),
    ],
)
def test_walk_in_hours_table(moment: datetime, expected: object) -> None:
    assert walk_in_closed(moment, OPENS, CLOSES, LUNCH_BREAK, _weekdays) == expected


def test_no_lunch_break_means_open_at_noon() -> None:
    assert walk_in_closed(at(MONDAY, 12, 15), OPENS, CLOSES, None) is None


def test_every_day_open_by_default() -> None:
    assert walk_in_closed(at(date(2026, 12, 5), 10), OPENS, CLOSES, LUNCH_BREAK) is None


def test_never_open_names_no_next_time() -> None:
    assert walk_in_closed(at(MONDAY, 10), OPENS, CLOSES, None, lambda _d: False) == (
        CLOSED_DAY,
        None,
    )
