"""Deferral without penalty (SPEC R8), as a pure function.

A deferral window defers the deadlines of the kinds it covers that fall due on or after its
first day and on or before its last day (or at any time after its start while its end is
"until announced"). A deferred deadline moves to the window's last day plus the grace period;
while the end is not announced, nothing covered is penalised.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class DeadlineKind(StrEnum):
    RENEWAL = "renewal"  # 驾驶证换证
    REVIEW = "review"  # 驾驶证审验
    INSPECTION = "inspection"  # 机动车检验


KIND_ZH = {
    DeadlineKind.RENEWAL: "驾驶证换证",
    DeadlineKind.REVIEW: "驾驶证审验",
    DeadlineKind.INSPECTION: "机动车检验",
}


class Standing(StrEnum):
    VALID = "valid"
    DEFERRED = "deferred"
    PENALISABLE = "penalisable"


@dataclass(frozen=True, slots=True)
class Window:
    starts_on: date
    ends_on: date | None  # None: until announced
    kinds: frozenset[str]
    grace_days: int = 0
    name: str = ""


@dataclass(frozen=True, slots=True)
class CheckResult:
    standing: Standing
    new_deadline: date | None
    reasons: tuple[tuple[str, str], ...]  # (zh, en)

    @property
    def penalty(self) -> bool:
        return self.standing == Standing.PENALISABLE


def covers(window: Window, kind: str, due: date) -> bool:
    if kind not in window.kinds or due < window.starts_on:
        return False
    return window.ends_on is None or due <= window.ends_on


def zh_date(day: date) -> str:
    """A date as written in Chinese, without leading zeros: 2020年6月30日."""
    return f"{day.year}年{day.month}月{day.day}日"


def deferred_deadline(window: Window) -> date | None:
    return None if window.ends_on is None else window.ends_on + timedelta(days=window.grace_days)


def check(kind: str, due_date: date, on_date: date, windows: Iterable[Window]) -> CheckResult:
    """valid / overdue but deferred (no penalty, new deadline) / overdue and penalisable."""
    kind = DeadlineKind(kind)
    if on_date <= due_date:
        return CheckResult(
            Standing.VALID,
            due_date,
            (
                (
                    f"{KIND_ZH[kind]}期限为{due_date:%Y-%m-%d}，尚未到期",
                    f"{kind} is due on {due_date:%Y-%m-%d}; not overdue",
                ),
            ),
        )
    covering = [w for w in windows if covers(w, kind, due_date)]
    if covering:
        open_ended = [w for w in covering if w.ends_on is None]
        if open_ended:
            window = open_ended[0]
            return CheckResult(
                Standing.DEFERRED,
                None,
                (
                    (
                        f"逾期但在延期办期间（{window.starts_on:%Y-%m-%d}起，结束时间另行通知），不予处罚",
                        f"overdue but deferred: the deferral period from {window.starts_on:%Y-%m-%d} lasts until announced; no penalty",
                    ),
                ),
            )
        window = max(covering, key=lambda w: deferred_deadline(w) or date.max)
        deadline = deferred_deadline(window)
        assert deadline is not None
        if on_date <= deadline:
            return CheckResult(
                Standing.DEFERRED,
                deadline,
                (
                    (
                        # the deadline day itself still counts: say so (issue 17)
                        f"逾期但在延期办期间，不予处罚；请于{zh_date(deadline)}（含当日）前办理",
                        f"overdue but deferred, no penalty; deal with it on or before "
                        f"{deadline:%Y-%m-%d} (that day included)",
                    ),
                ),
            )
        return CheckResult(
            Standing.PENALISABLE,
            deadline,
            (
                (
                    f"延期办期限{deadline:%Y-%m-%d}已过",
                    f"the deferred deadline {deadline:%Y-%m-%d} has passed",
                ),
            ),
        )
    return CheckResult(
        Standing.PENALISABLE,
        due_date,
        (
            (
                f"{KIND_ZH[kind]}已于{due_date:%Y-%m-%d}到期，且不在任何延期办期间内",
                f"{kind} was due on {due_date:%Y-%m-%d} and no deferral period covers it",
            ),
        ),
    )
