"""SMS bodies are translatable message ids, always sent in Chinese with the signature, whatever
the language of the page that caused them."""

from __future__ import annotations

from django.utils import translation

from trafficdesk.accounts.services import LOGIN_CODE_SMS
from trafficdesk.hallqueue.services import ROOM_INSIDE_SMS
from trafficdesk.notify.services import sms_text


def test_an_sms_is_chinese_even_from_an_english_page() -> None:
    with translation.override("en"):
        text = sms_text(LOGIN_CODE_SMS, code="123456", minutes=5)
        assert translation.get_language() == "en", "the page's language is left as it was"
    assert text == "【交管服务】您的登录验证码为 123456，5 分钟内有效。请勿告诉他人。"


def test_the_hall_room_notice_names_the_ticket() -> None:
    assert sms_text(ROOM_INSIDE_SMS, ticket="A012") == "【交管服务】A012 号，大厅已有空位，请进入等候区。"
