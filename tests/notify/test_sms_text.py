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
    assert (
        sms_text(ROOM_INSIDE_SMS, ticket="A012")
        == "【交管服务】A012 号，大厅已有空位，请进入等候区。"
    )


def test_bulk_notices_are_filled_from_one_chinese_template() -> None:
    """A policy change's and a draw's notices: the template is translated once, then filled."""
    from trafficdesk.booking.rebooking import CANCELLED_SMS, MOVED_SMS
    from trafficdesk.booking.rush import WON_SMS
    from trafficdesk.notify.services import sms_template

    with translation.override("en"):
        moved = sms_template(MOVED_SMS)
        won = sms_template(WON_SMS)
    assert moved % {"was": "12月03日 09:00", "place": "花溪车管分所", "when": "12月04日 10:00"} == (
        "【交管服务】因疫情防控政策调整，您12月03日 09:00的预约已改至花溪车管分所 12月04日 10:00。"
    )
    assert sms_template(CANCELLED_SMS) % {"was": "12月03日 09:00"} == (
        "【交管服务】因疫情防控政策调整，您12月03日 09:00的预约已取消，"
        "暂无可替代时段，可改为网上办理或稍后重新预约。"
    )
    assert won % {"name": "科目二考试", "where": "考试中心", "when": "12月05日 09:00", "pk": 7} == (
        "【交管服务】科目二考试摇号结果：您已约到 考试中心 12月05日 09:00，申请号 7。请按时到场。"
    )
