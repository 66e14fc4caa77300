"""The SMS outbox: a notice is written in the deciding transaction and sent after the commit
by the worker; nothing is sent from inside a transaction, a rolled-back decision sends
nothing, a crash loses nothing, and two workers never send one message twice."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tests.booking.test_concurrency import run_together
from trafficdesk.notify import delivery
from trafficdesk.notify.backends import sent_messages
from trafficdesk.notify.models import SmsMessage, SmsStatus
from trafficdesk.notify.services import queue_sms, queue_sms_many


def test_a_notice_is_sent_only_by_the_delivery_and_keeps_nothing_personal(db: Any) -> None:
    sent_messages.clear()
    message = queue_sms("13912345678", "code 123456 for 13912345678", kind="test", secret="123456")
    assert message.status == SmsStatus.QUEUED and sent_messages == []
    assert message.recipient_masked == "139****5678"
    assert "123456" not in message.body and "13912345678" not in message.body
    assert delivery.deliver_pending() == 1
    assert sent_messages == [("13912345678", "code 123456 for 13912345678")]
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.sent_at is not None
    assert (message.recipient, message.text) == ("", ""), "the full number and text are blanked"
    assert delivery.deliver_pending() == 0, "a sent message is not sent again"
    sent_messages.clear()


def test_a_failing_backend_is_recorded_not_raised(db: Any, settings: Any) -> None:
    settings.SMS_BACKEND = "tests.notify.test_outbox.BrokenBackend"
    message = queue_sms("13912345678", "hello", kind="test")
    delivery.deliver_pending()
    message.refresh_from_db()
    assert message.status == SmsStatus.QUEUED and message.attempts == 1, "tried again later"
    assert "gateway down" in message.error


class BrokenBackend:
    def send(self, phone: str, text: str, *, kind: str = "") -> str | None:
        raise ConnectionError("gateway down")


def test_a_rolled_back_decision_sends_nothing(db: Any) -> None:
    sent_messages.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_sms("13912345678", "you are booked", kind="test")
        raise RuntimeError("the booking failed")
    assert SmsMessage.objects.count() == 0
    assert delivery.deliver_pending() == 0 and sent_messages == []


def test_delivery_is_enqueued_after_the_commit_only(
    db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django_tasks_db.models import DBTaskResult

    from trafficdesk.notify import services

    services._scheduled_at[0] = 0.0
    before = DBTaskResult.objects.count()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queue_sms("13912345678", "hello", kind="test")
    assert DBTaskResult.objects.count() == before, "nothing is enqueued inside the transaction"
    assert len(callbacks) == 1
    committed = timezone.now()
    callbacks[0]()
    task = DBTaskResult.objects.order_by("-enqueued_at").first()
    assert task is not None and task.task_path.endswith("deliver_task")
    assert task.run_after is not None and task.run_after >= committed, "it runs after the commit"

    # More notices before that task runs: it sends them too, so none is enqueued for them.
    with django_capture_on_commit_callbacks(execute=True):
        queue_sms("13912345679", "hello again", kind="test")
        queue_sms("13912345670", "and again", kind="test")
    assert DBTaskResult.objects.count() == before + 1
    # Once it has run (its moment passed), the next notice gets a task of its own.
    services._scheduled_at[0] = 0.0
    with django_capture_on_commit_callbacks(execute=True):
        queue_sms("13912345671", "later", kind="test")
    assert DBTaskResult.objects.count() == before + 2


def test_a_message_left_by_a_crashed_worker_is_sent_again(db: Any) -> None:
    sent_messages.clear()
    message = queue_sms("13912345678", "hello", kind="test")
    claimed = delivery.claim([message.pk])
    assert [m.pk for m in claimed] == [message.pk]
    assert delivery.deliver_pending() == 0, "a fresh claim is left to its worker"
    SmsMessage.objects.filter(pk=message.pk).update(
        claimed_at=message.created_at - delivery.STALE_CLAIM
    )
    assert delivery.deliver_pending() == 1
    assert sent_messages == [("13912345678", "hello")]
    sent_messages.clear()


def test_race_two_workers_never_send_one_message_twice(transactional_db: Any) -> None:
    """The race: two workers claim the same queued messages at once. The claim is a
    conditional UPDATE with a claim token, so each message is claimed by one worker."""
    sent_messages.clear()
    queue_sms_many([("13912345678", f"notice {i}", "test") for i in range(40)])
    results = run_together(4, lambda _i: [m.pk for m in delivery.claim(None)])
    claimed = [pk for r in results for pk in r]
    assert not [r for r in results if not isinstance(r, list)], results
    assert len(claimed) == 40 == len(set(claimed))


def test_negative_control_an_unconditional_claim_sends_twice(transactional_db: Any) -> None:
    """Without the status condition both workers take the same rows."""
    queue_sms_many([("13912345678", f"notice {i}", "test") for i in range(10)])
    ids = list(SmsMessage.objects.values_list("id", flat=True))

    def naive_claim(_i: int) -> list[int]:
        pending = list(SmsMessage.objects.filter(pk__in=ids).values_list("id", flat=True))
        SmsMessage.objects.filter(pk__in=pending).update(status=SmsStatus.SENDING)
        return pending

    results = run_together(2, naive_claim)
    claimed = [pk for r in results for pk in r]
    assert len(claimed) > len(set(claimed)), "the naive claim did not double up"


@pytest.mark.parametrize(
    ("username", "allowed"), [("auditor", True), ("gz_admin", True), ("manager", False)]
)
def test_staff_read_the_outbox_in_the_admin(
    client: Client, users: dict[str, Any], username: str, allowed: bool
) -> None:
    queue_sms("13912345678", "hello", kind="test")
    client.force_login(users[username])
    response = client.get("/admin/notify/smsmessage/")
    assert (response.status_code == 200) is allowed
    if allowed:
        page = response.content.decode()
        assert "139****5678" in page and "13912345678" not in page
        message = SmsMessage.objects.get()
        assert (
            client.post(
                f"/admin/notify/smsmessage/{message.pk}/delete/", {"post": "yes"}
            ).status_code
            == 403
        )


def test_deliver_notices_command(db: Any) -> None:
    sent_messages.clear()
    queue_sms("13912345678", "hello", kind="test")
    call_command("deliver_notices")
    assert sent_messages == [("13912345678", "hello")]
    sent_messages.clear()


def test_load_regions_command(db: Any) -> None:
    call_command("load_regions", "440000")
    with pytest.raises(CommandError):
        call_command("load_regions", "4400")
    with pytest.raises(CommandError):
        call_command("load_regions", "990000")


class FlakyBackend:
    def send(self, phone: str, text: str, *, kind: str = "") -> str | None:
        raise ConnectionError("carrier busy")


def test_a_failed_send_is_tried_again_then_given_up(db: Any, settings: Any) -> None:
    settings.SMS_BACKEND = "tests.notify.test_outbox.FlakyBackend"
    message = queue_sms("13912345678", "hello", kind="test")
    for attempt in range(1, delivery.max_attempts() + 1):
        assert delivery.deliver_pending() == 0
        message.refresh_from_db()
        assert message.attempts == attempt
        if attempt < delivery.max_attempts():
            assert message.status == SmsStatus.QUEUED and message.text == "hello"
            assert message.next_attempt_at is not None and message.next_attempt_at > timezone.now()
            assert delivery.deliver_pending() == 0, "not before its back-off"
            SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    # A failed notice keeps its text for staff to send it again (notify.admin).
    assert message.status == SmsStatus.FAILED and message.text == "hello"
    assert "carrier busy" in message.error


def test_a_worker_whose_claim_was_taken_over_does_not_send(db: Any) -> None:
    sent_messages.clear()
    message = queue_sms("13912345678", "hello", kind="test")
    claimed = delivery.claim([message.pk])
    SmsMessage.objects.filter(pk=message.pk).update(claim="someone-else")
    assert delivery.send_claimed(claimed) == 0 and sent_messages == []
