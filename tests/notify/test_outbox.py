from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from trafficdesk.notify.models import SmsMessage
from trafficdesk.notify.services import send_sms


def test_outbox_keeps_masked_recipient_and_hides_the_secret(db: Any, sms_outbox: Any) -> None:
    message = send_sms("13912345678", "code 123456 for 13912345678", kind="test", secret="123456")
    assert sms_outbox == [("13912345678", "code 123456 for 13912345678")]
    assert message.status == "sent" and message.recipient_masked == "139****5678"
    assert "123456" not in message.body and "13912345678" not in message.body


def test_a_failing_backend_is_recorded_not_raised(db: Any, settings: Any) -> None:
    settings.SMS_BACKEND = "tests.notify.test_outbox.BrokenBackend"
    message = send_sms("13912345678", "hello", kind="test")
    assert message.status == "failed" and "gateway down" in message.error


class BrokenBackend:
    def send(self, phone: str, text: str) -> None:
        raise ConnectionError("gateway down")


@pytest.mark.parametrize(
    ("username", "allowed"), [("auditor", True), ("gz_admin", True), ("manager", False)]
)
def test_staff_read_the_outbox_in_the_admin(
    client: Client, users: dict[str, Any], username: str, allowed: bool
) -> None:
    send_sms("13912345678", "hello", kind="test")
    client.force_login(users[username])
    response = client.get("/admin/notify/smsmessage/")
    assert (response.status_code == 200) is allowed
    if allowed:
        assert "139****5678" in response.content.decode()
        message = SmsMessage.objects.get()
        assert (
            client.post(
                f"/admin/notify/smsmessage/{message.pk}/delete/", {"post": "yes"}
            ).status_code
            == 403
        )


def test_load_regions_command(db: Any) -> None:
    call_command("load_regions", "440000")
    with pytest.raises(CommandError):
        call_command("load_regions", "4400")
    with pytest.raises(CommandError):
        call_command("load_regions", "990000")
