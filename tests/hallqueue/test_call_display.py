"""The call display's rules and services: how a call is spoken (the ticket character by
character, the window as a number), which clip plays each word, the recent list with recalls
marked instead of repeated, the windows and waiting panels, and who may set the notice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from trafficdesk.accounts.models import Role, User
from trafficdesk.catalog.models import Business
from trafficdesk.core import live
from trafficdesk.core.models import LiveEvent
from trafficdesk.hallqueue import services
from trafficdesk.hallqueue.rules import (
    CLIP_LETTERS,
    CLIPS_EN,
    CLIPS_ZH,
    call_speech_en,
    call_speech_zh,
    call_text,
    call_words_en,
    call_words_zh,
    clips_for,
    number_words_zh,
    ticket_words_zh,
)
from trafficdesk.sites.models import ServicePoint, Window
from trafficdesk.sites.services import set_board_notice

SOUNDS = Path(__file__).resolve().parents[2] / "trafficdesk" / "static" / "hallqueue" / "sounds"

# --- the speech rule ---------------------------------------------------------------------------


def test_a_call_is_shown_with_the_label_and_spoken_character_by_character() -> None:
    assert call_text("A001", 3) == "请 A001 号到 3 号窗口办理"
    assert call_speech_zh("A001", 3) == "请 A 零 零 一 号到 三 号窗口办理"
    assert call_speech_zh("B120", 7) == "请 B 一 二 零 号到 七 号窗口办理"
    assert call_speech_zh("C1005", 2) == "请 C 一 零 零 五 号到 二 号窗口办理"


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (1, ["一"]),
        (9, ["九"]),
        (10, ["十"]),
        (12, ["十", "二"]),
        (20, ["二", "十"]),
        (23, ["二", "十", "三"]),
        (99, ["九", "十", "九"]),
        (101, ["一", "零", "一"]),
    ],
)
def test_a_window_number_is_said_as_a_number(number: int, words: list[str]) -> None:
    assert number_words_zh(number) == words


def test_the_ticket_is_never_read_as_a_number() -> None:
    assert ticket_words_zh("a010") == ["A", "零", "一", "零"]
    assert "十" not in ticket_words_zh("A010")


def test_the_english_call() -> None:
    assert call_speech_en("A001", 3) == "Number A 0 0 1, please go to window 3"
    assert call_words_en("D042", 12) == [
        "Number", "D", "0", "4", "2", "please go to window", "1", "2",
    ]  # fmt: skip


def test_every_word_of_a_call_has_a_clip_file() -> None:
    """Each ticket prefix the hall issues, every digit and window number up to 99, in both
    languages: the clip exists in static/hallqueue/sounds (made by make_board_sounds.py)."""
    prefixes = set(services.PREFIX_BY_CATEGORY.values()) | {"Z"}
    assert prefixes <= set(CLIP_LETTERS)
    for prefix in sorted(prefixes):
        for window in range(1, 100):
            label = f"{prefix}0{window:02d}"
            zh, en = call_words_zh(label, window), call_words_en(label, window)
            assert len(clips_for(zh, CLIPS_ZH)) == len(zh), zh
            assert len(clips_for(en, CLIPS_EN)) == len(en), en
    for name in {*CLIPS_ZH.values(), *CLIPS_EN.values(), "chime"}:
        assert (SOUNDS / f"{name}.ogg").is_file(), name
    total = sum(p.stat().st_size for p in SOUNDS.glob("*.ogg"))
    assert total < 400 * 1024, total


def test_the_spoken_words_split_back_into_clips() -> None:
    """The board splits `spoken` at spaces to find the clips: the same words as the rule."""
    spoken = call_speech_zh("A012", 23)
    assert spoken.split() == call_words_zh("A012", 23)


# --- calls on the board ------------------------------------------------------------------------


@pytest.fixture
def clerk(demo: Any) -> User:
    return User.objects.get(username="clerk")


def _call_events(point: ServicePoint) -> list[dict[str, Any]]:
    return list(
        LiveEvent.objects.filter(channel=live.hall_channel(point.pk), kind="call")
        .order_by("id")
        .values_list("data", flat=True)
    )


def test_a_recall_is_marked_in_the_event_and_not_repeated_in_the_recent_list(
    hall: ServicePoint, p01: Business, window: Any, clerk: User
) -> None:
    first, second = services.walk_in(hall, p01), services.walk_in(hall, p01)
    called = services.call_next(clerk, window(3))
    assert called is not None and called.pk == first.pk
    services.recall(clerk, services.ticket_for_staff(called.pk) or called)
    other = services.call_next(clerk, window(4))
    assert other is not None and other.pk == second.pk

    events = _call_events(hall)
    assert [(e["label"], e["window"], e["recall"]) for e in events] == [
        (first.label, 3, False),
        (first.label, 3, True),
        (second.label, 4, False),
    ]
    assert events[0]["speech"] == f"请 {first.label} 号到 3 号窗口办理"
    assert events[0]["spoken"] == call_speech_zh(first.label, 3)
    assert events[0]["spoken_en"] == call_speech_en(first.label, 3)

    rows = services.board_calls(hall.pk)
    assert [(r.label, r.window, r.recall) for r in rows] == [
        (second.label, 4, False),
        (first.label, 3, True),
    ]


def test_the_board_state_shows_each_window_and_the_waiting_per_prefix(
    hall: ServicePoint, p01: Business, window: Any, clerk: User
) -> None:
    tickets = [services.walk_in(hall, p01) for _ in range(3)]
    called = services.call_next(clerk, window(3))
    assert called is not None
    state = services.board_state(hall.pk, version=1)
    by_number = {w.number: w for w in state.windows}
    assert by_number[3].serving == called.label and by_number[3].is_open
    assert by_number[4].serving == ""
    closed = Window.objects.filter(service_point=hall, is_open=False).values_list(
        "number", flat=True
    )
    assert closed and all(not by_number[n].is_open for n in closed)
    plates = next(g for g in state.groups if g.prefix == tickets[0].prefix)
    assert plates.waiting == 2 and plates.called_up_to == called.label
    assert plates.name  # the business category's name, never its code
    assert state.waiting == sum(g.waiting for g in state.groups) >= 2


def test_the_public_board_shows_no_personal_data_and_writes_nothing(
    hall: ServicePoint, p01: Business, window: Any, clerk: User, django_assert_max_num_queries: Any
) -> None:
    ticket = services.walk_in(hall, p01, mobile="13800138000")
    services.call_next(clerk, window(3))
    client = Client()
    for name in ("hallqueue:board", "hallqueue:board-state"):
        with django_assert_max_num_queries(12) as captured:
            response = client.get(reverse(name, args=[hall.code]))
        assert response.status_code == 200
        html = response.content.decode()
        assert ticket.label in html and "13800138000" not in html
        writes = [
            q["sql"]
            for q in captured.captured_queries
            if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        ]
        assert writes == [], writes
    assert "sessionid" not in response.cookies


# --- the notice ----------------------------------------------------------------------------------


def test_the_hall_manager_sets_the_notice_and_the_boards_are_told(hall: ServicePoint) -> None:
    manager = User.objects.get(username="manager")
    set_board_notice(manager, hall, "  午间 12:00-13:30\n暂停取号  ", True)
    hall.refresh_from_db()
    assert hall.board_notice == "午间 12:00-13:30 暂停取号" and hall.board_speaks_english
    event = LiveEvent.objects.filter(channel=live.hall_channel(hall.pk), kind="board").last()
    assert event is not None and event.data["notice"] == hall.board_notice


def test_a_clerk_or_another_countys_manager_may_not_set_the_notice(hall: ServicePoint) -> None:
    clerk = User.objects.get(username="clerk")
    other = ServicePoint.objects.select_related("region").get(code="GY-BR-HX")
    assert other.region_id != hall.region_id
    elsewhere = User.objects.create(
        username="manager-elsewhere",
        role=Role.HALL_MANAGER,
        region=other.region,
        service_point=other,
    )
    for actor in (clerk, elsewhere):
        with pytest.raises(PermissionDenied):
            set_board_notice(actor, hall, "不应出现", False)
    hall.refresh_from_db()
    assert hall.board_notice == ""
    assert not LiveEvent.objects.filter(channel=live.hall_channel(hall.pk), kind="board").exists()
