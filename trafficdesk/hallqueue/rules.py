"""Who is called next (pure). SPEC: the highest class first, then booked-on-time before
walk-in, then the earliest arrival; ageing lifts a ticket one class for every
`ageing_minutes` it has waited, so that nobody waits without bound."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from trafficdesk.core.vocabulary import CLASS_RANK, WindowKind

_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Waiting:
    ticket_id: int
    applicant_class: str
    on_time: bool
    arrived_at: datetime
    business_id: int


def effective_rank(ticket: Waiting, now: datetime, ageing_minutes: int) -> int:
    """The class rank, lifted one for every whole `ageing_minutes` waited (exact: whole
    microseconds, as the database counts them in order_sql)."""
    waited = max(0, (now - ticket.arrived_at) // _MICROSECOND)
    return CLASS_RANK[ticket.applicant_class] - waited // (ageing_minutes * 60_000_000)


def order(tickets: Iterable[Waiting], now: datetime, ageing_minutes: int) -> list[Waiting]:
    return sorted(
        tickets,
        key=lambda t: (
            effective_rank(t, now, ageing_minutes),
            not t.on_time,
            t.arrived_at,
            t.ticket_id,
        ),
    )


def order_sql(table: str, now: datetime, ageing_minutes: int) -> tuple[str, list[object]]:
    """The same order as `order`, as a PostgreSQL ORDER BY over `table` (a ticket row), with
    its parameters. Exact: an interval's epoch is numeric, so whole ageing steps are counted
    as in effective_rank (tests/hallqueue/test_order_sql.py)."""
    ranks = " ".join(f"WHEN %s THEN {rank}" for rank in CLASS_RANK.values())
    sql = (
        f"(CASE {table}.applicant_class {ranks} END)"
        f" - floor(greatest(0, extract(epoch FROM (%s::timestamptz - {table}.arrived_at)))"
        f" / {int(ageing_minutes) * 60}),"
        f" NOT {table}.on_time, {table}.arrived_at, {table}.id"
    )
    return sql, [*CLASS_RANK.keys(), now]


def window_may_serve(
    window_kind: str,
    allowed_kinds: Iterable[str],
    applicant_class: str,
    priority_classes: Iterable[str],
) -> bool:
    """Emergency windows serve only the classes the policy in force serves first
    (`priority_classes`); otherwise the policy's window kinds for this class decide."""
    if window_kind == WindowKind.EMERGENCY and applicant_class not in priority_classes:
        return False
    return window_kind in allowed_kinds


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(share * (len(ordered) - 1)))))
    return ordered[index]
