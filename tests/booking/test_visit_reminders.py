"""The SMS reminder the day before: scheduled by the worker when a booking is made, sent
once per booking however often the task runs, never for a cancelled booking, never early;
a booking moved to another day is reminded for its new day."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from trafficdesk.booking import reminders, services
from trafficdesk.booking.models import Booking, BookingEvent, BookingEventKind
from trafficdesk.booking.tasks import remind_task
from trafficdesk.notify.models import SmsMessage


def _reminders_to(booking: Booking) -> list[SmsMessage]:
    return list(SmsMessage.objects.filter(kind="booking.reminder", recipient=booking.holder.mobile))


def _visit_day(booking: Booking) -> Any:
    return timezone.localdate(booking.slot.starts_at)


def test_booking_schedules_the_reminder_for_the_day_before(
    make_person: Any, make_slot: Any, django_capture_on_commit_callbacks: Any
) -> None:
    slot = make_slot(hours_ahead=72)
    (someone, their_id), (another, other_id) = make_person(), make_person()
    with django_capture_on_commit_callbacks(execute=True):
        booking = services.book(someone, slot.pk, ["P01"], their_id)
        services.book(another, slot.pk, ["P01"], other_id)  # the same day: no second task
    day = _visit_day(booking)
    scheduled = DBTaskResult.objects.filter(task_path__endswith="remind_task")
    assert [(t.run_after, t.args_kwargs["args"]) for t in scheduled] == [
        (reminders.reminder_moment(day), [day.isoformat()])
    ]
    moment = timezone.localtime(reminders.reminder_moment(day))
    assert moment.date() == day - timedelta(days=1)
    assert moment.time() == time(reminders.REMINDER_HOUR)


def test_the_reminder_is_sent_once_with_number_place_and_check_in_time(
    citizen: Any, make_slot: Any, new_id: Any, settings: Any
) -> None:
    slot = make_slot(hours_ahead=72)
    booking = services.book(citizen, slot.pk, ["P01"], new_id())
    day = _visit_day(booking)
    at = reminders.reminder_moment(day) + timedelta(minutes=1)

    assert reminders.send_reminders(day, now=at) == 1
    assert reminders.send_reminders(day, now=at + timedelta(minutes=5)) == 0  # run again

    sent = _reminders_to(booking)
    assert len(sent) == 1
    text = sent[0].text
    starts = timezone.localtime(slot.starts_at)
    opens = starts - timedelta(minutes=settings.HALL_EARLY_MINUTES)
    assert booking.spaced_number in text
    assert slot.service_point.name_zh in text
    assert f"{starts:%H:%M}" in text and f"{opens:%H:%M} 开始签到" in text
    assert "明天" in text
    assert BookingEvent.objects.filter(booking=booking, kind=BookingEventKind.REMINDED).count() == 1
    booking.refresh_from_db()
    assert booking.reminded_at == at


def test_no_reminder_before_its_moment_nor_for_a_cancelled_booking(
    make_person: Any, make_slot: Any
) -> None:
    slot = make_slot(hours_ahead=72)
    (someone, their_id), (another, other_id) = make_person(), make_person()
    kept = services.book(someone, slot.pk, ["P01"], their_id)
    cancelled = services.book(another, slot.pk, ["P01"], other_id)
    services.cancel(another, cancelled)
    day = _visit_day(kept)
    moment = reminders.reminder_moment(day)

    assert reminders.send_reminders(day, now=moment - timedelta(minutes=1)) == 0
    assert reminders.send_reminders(day, now=moment) == 1
    reminded = set(Booking.objects.filter(reminded_at__isnull=False).values_list("pk", flat=True))
    assert kept.pk in reminded and cancelled.pk not in reminded
    assert not BookingEvent.objects.filter(booking=cancelled, kind=BookingEventKind.REMINDED)


def test_the_task_run_too_early_waits_and_sends_nothing(
    citizen: Any, make_slot: Any, new_id: Any, django_capture_on_commit_callbacks: Any
) -> None:
    slot = make_slot(hours_ahead=72)
    booking = services.book(citizen, slot.pk, ["P01"], new_id())
    day = _visit_day(booking)
    DBTaskResult.objects.all().delete()
    assert remind_task.call(day.isoformat()) == 0
    assert _reminders_to(booking) == []
    again = DBTaskResult.objects.filter(task_path__endswith="remind_task")
    assert [t.run_after for t in again] == [reminders.reminder_moment(day)]


def test_the_task_sends_when_due_once_however_often_it_runs(
    citizen: Any, make_slot: Any, new_id: Any, monkeypatch: Any
) -> None:
    slot = make_slot(hours_ahead=72)
    booking = services.book(citizen, slot.pk, ["P01"], new_id())
    day = _visit_day(booking)
    later = reminders.reminder_moment(day) + timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)  # the worker runs the task then
    assert remind_task.call(day.isoformat()) == 1
    assert remind_task.call(day.isoformat()) == 0
    assert len(_reminders_to(booking)) == 1


def test_a_booking_made_after_the_reminder_moment_is_not_reminded(
    citizen: Any, make_slot: Any, new_id: Any
) -> None:
    slot = make_slot(hours_ahead=72)
    booking = services.book(citizen, slot.pk, ["P01"], new_id())
    day = _visit_day(booking)
    due = reminders.reminder_moment(day)
    Booking.objects.filter(pk=booking.pk).update(created_at=due + timedelta(minutes=10))
    assert reminders.send_reminders(day, now=due + timedelta(minutes=20)) == 0


def test_a_booking_moved_to_another_day_is_reminded_again_not_one_moved_within_it(
    citizen: Any, make_slot: Any, new_id: Any
) -> None:
    first = make_slot(hours_ahead=72)
    booking = services.book(citizen, first.pk, ["P01"], new_id())
    day = _visit_day(booking)
    assert reminders.send_reminders(day, now=reminders.reminder_moment(day)) == 1
    same_day = _slot_on(make_slot, timezone.localtime(first.starts_at).date(), exclude=first)
    if same_day is not None:
        services.reschedule(citizen, booking, same_day.pk)
        booking.refresh_from_db()
        assert booking.reminded_at is not None, "moved within the day: reminded already"
    later = make_slot(hours_ahead=120)
    services.reschedule(citizen, booking, later.pk)
    booking.refresh_from_db()
    assert booking.reminded_at is None
    new_day = _visit_day(booking)
    assert new_day != day
    assert reminders.send_reminders(new_day, now=reminders.reminder_moment(new_day)) == 1
    assert len(_reminders_to(booking)) == 2


def _slot_on(make_slot: Any, day: Any, exclude: Any) -> Any:
    """Another test slot on the same local day, if the clock leaves room for one."""
    candidate = make_slot(hours_ahead=72)
    if timezone.localdate(candidate.starts_at) == day and candidate.pk != exclude.pk:
        return candidate
    return None


def test_the_reminder_moment_is_local_time_the_day_before() -> None:
    day = datetime(2026, 3, 10).date()
    moment = reminders.reminder_moment(day)
    assert timezone.localtime(moment).isoformat().startswith("2026-03-09T18:00")
