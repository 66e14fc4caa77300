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


#: The kiosk's wait estimate is given in steps of this many minutes (never falsely precise).
WAIT_STEP_MINUTES = 5


def estimated_wait_minutes(
    people_ahead: int, service_minutes: int, open_windows: int, step: int = WAIT_STEP_MINUTES
) -> int | None:
    """About how long until a ticket is called: the people ahead of it times the business's
    typical service minutes, shared by the open windows that serve it, rounded up to `step`
    minutes. None when no open window serves it (there is no estimate to give)."""
    if open_windows <= 0:
        return None
    minutes = max(0, people_ahead) * max(0, service_minutes)
    steps = -(-minutes // (open_windows * step))  # ceiling, in whole steps
    return steps * step


# --- the call display's speech -----------------------------------------------------------------

#: How a hall reads the digits of a ticket, one by one: A001 is "A 零 零 一".
ZH_DIGITS = "零一二三四五六七八九"
#: The sentence shown and spoken for a call; spoken with the ticket read character by character.
CALL_TEXT = "请 %s 号到 %s 号窗口办理"
CALL_TEXT_EN = "Number %s, please go to window %s"
#: The pre-rendered clip (static/hallqueue/sounds/<name>.ogg) of every word a call uses, for a
#: browser without a Chinese voice (scripts/make_board_sounds.py renders them).
CLIP_LETTERS = "ABCDEFGZ"
CLIPS_ZH: dict[str, str] = {
    "请": "zh-qing",
    "号到": "zh-hao-dao",
    "号窗口办理": "zh-hao-chuangkou",
    "十": "zh-shi",
    **{digit: f"zh-{n}" for n, digit in enumerate(ZH_DIGITS)},
    **{letter: f"letter-{letter.lower()}" for letter in CLIP_LETTERS},
}
CLIPS_EN: dict[str, str] = {
    "Number": "en-number",
    "please go to window": "en-please-go-to-window",
    **{str(n): f"en-{n}" for n in range(10)},
    **{letter: f"letter-{letter.lower()}" for letter in CLIP_LETTERS},
}


def ticket_words_zh(label: str) -> list[str]:
    """A ticket as a hall calls it: letters as letters, every digit on its own (A001 is
    A 零 零 一, never "一号")."""
    return [ZH_DIGITS[int(c)] if c.isdigit() else c.upper() for c in label if not c.isspace()]


def number_words_zh(number: int) -> list[str]:
    """A window number as said in Chinese: 3 三, 10 十, 12 十 二, 20 二 十, 23 二 十 三;
    from 100 on, digit by digit."""
    if 1 <= number < 10:
        return [ZH_DIGITS[number]]
    if 10 <= number < 100:
        tens, ones = divmod(number, 10)
        return [
            *([] if tens == 1 else [ZH_DIGITS[tens]]),
            "十",
            *([ZH_DIGITS[ones]] if ones else []),
        ]
    return [ZH_DIGITS[int(c)] for c in str(number)]


def call_words_zh(label: str, window: int) -> list[str]:
    """The words of a call in Chinese, in order; each has a clip in CLIPS_ZH."""
    return ["请", *ticket_words_zh(label), "号到", *number_words_zh(window), "号窗口办理"]


def call_text(label: str, window: int) -> str:
    """What the board shows for a call: 请 A001 号到 3 号窗口办理."""
    return CALL_TEXT % (label, window)


def call_speech_zh(label: str, window: int) -> str:
    """What the board says: 请 A 零 零 一 号到 三 号窗口办理 (a speech engine reads each
    character, as a hall does)."""
    return CALL_TEXT % (" ".join(ticket_words_zh(label)), " ".join(number_words_zh(window)))


def call_words_en(label: str, window: int) -> list[str]:
    """The words of the English call; each has a clip in CLIPS_EN."""
    return ["Number", *(c.upper() for c in label), "please go to window", *str(window)]


def call_speech_en(label: str, window: int) -> str:
    """Number A 0 0 1, please go to window 3 (the ticket character by character)."""
    return CALL_TEXT_EN % (" ".join(c.upper() for c in label), window)


def clips_for(words: list[str], clips: dict[str, str]) -> list[str]:
    """The clip names for the words, in order; a word without a clip is left out."""
    return [clips[w] for w in words if w in clips]
