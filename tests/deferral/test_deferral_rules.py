"""deferral.check, table-driven, boundaries included (SPEC R8)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trafficdesk.deferral.rules import Standing, Window, check

ALL = frozenset({"renewal", "review", "inspection"})
WINDOW = Window(date(2020, 1, 24), date(2020, 5, 31), ALL, grace_days=30)  # deadline 2020-06-30
OPEN_ENDED = Window(date(2020, 1, 24), None, ALL)
ONLY_INSPECTION = Window(
    date(2020, 1, 24), date(2020, 5, 31), frozenset({"inspection"}), grace_days=30
)

D = date


@pytest.mark.parametrize(
    ("case", "kind", "due", "on", "windows", "standing", "new_deadline"),
    [
        (
            "not yet due",
            "renewal",
            D(2020, 3, 1),
            D(2020, 2, 1),
            [WINDOW],
            Standing.VALID,
            D(2020, 3, 1),
        ),
        (
            "due today is still valid",
            "renewal",
            D(2020, 3, 1),
            D(2020, 3, 1),
            [WINDOW],
            Standing.VALID,
            D(2020, 3, 1),
        ),
        (
            "due on the window's first day",
            "renewal",
            D(2020, 1, 24),
            D(2020, 4, 1),
            [WINDOW],
            Standing.DEFERRED,
            D(2020, 6, 30),
        ),
        (
            "due on the window's last day",
            "review",
            D(2020, 5, 31),
            D(2020, 6, 10),
            [WINDOW],
            Standing.DEFERRED,
            D(2020, 6, 30),
        ),
        (
            "due inside, checked on the last grace day",
            "inspection",
            D(2020, 3, 1),
            D(2020, 6, 30),
            [WINDOW],
            Standing.DEFERRED,
            D(2020, 6, 30),
        ),
        (
            "due inside, checked after the grace period",
            "inspection",
            D(2020, 3, 1),
            D(2020, 7, 1),
            [WINDOW],
            Standing.PENALISABLE,
            D(2020, 6, 30),
        ),
        (
            "due the day before the window",
            "renewal",
            D(2020, 1, 23),
            D(2020, 2, 1),
            [WINDOW],
            Standing.PENALISABLE,
            D(2020, 1, 23),
        ),
        (
            "due the day after the window",
            "renewal",
            D(2020, 6, 1),
            D(2020, 6, 2),
            [WINDOW],
            Standing.PENALISABLE,
            D(2020, 6, 1),
        ),
        (
            "until announced: no penalty however late",
            "review",
            D(2020, 2, 1),
            D(2021, 2, 1),
            [OPEN_ENDED],
            Standing.DEFERRED,
            None,
        ),
        (
            "a window that does not cover the kind",
            "renewal",
            D(2020, 3, 1),
            D(2020, 4, 1),
            [ONLY_INSPECTION],
            Standing.PENALISABLE,
            D(2020, 3, 1),
        ),
        (
            "no window at all",
            "inspection",
            D(2020, 3, 1),
            D(2020, 4, 1),
            [],
            Standing.PENALISABLE,
            D(2020, 3, 1),
        ),
    ],
)
def test_check(
    case: str,
    kind: str,
    due: date,
    on: date,
    windows: list[Window],
    standing: Standing,
    new_deadline: date | None,
) -> None:
    result = check(kind, due, on, windows)
    assert result.standing == standing, case
    assert result.new_deadline == new_deadline, case
    assert result.reasons and all(zh and en for zh, en in result.reasons)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        check("parking", D(2020, 1, 1), D(2020, 2, 1), [WINDOW])


@given(
    st.dates(D(2019, 1, 1), D(2021, 12, 31)),
    st.dates(D(2019, 1, 1), D(2021, 12, 31)),
    st.sampled_from(["renewal", "review", "inspection"]),
)
def test_a_deferral_window_never_makes_things_worse(due: date, on: date, kind: str) -> None:
    without = check(kind, due, on, [])
    with_window = check(kind, due, on, [WINDOW])
    if not without.penalty:
        assert not with_window.penalty
    if with_window.standing == Standing.DEFERRED:
        assert without.standing == Standing.PENALISABLE
        assert with_window.new_deadline is None or with_window.new_deadline >= due + timedelta(
            days=0
        )
