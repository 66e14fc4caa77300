"""Applying online in a real browser: a citizen applies on a phone-sized screen for D01 (replace
a lost driving licence, mailed), a clerk reviews, issues and mails it and enters the tracking,
and the citizen follows every step on the application page and by SMS. Bad input is refused
with the field's error, and another citizen cannot open the application at all.

The scenario rests on demo facts only: D01 is online and mails a licence, its form is driver
ID, licence classes and reason (trafficdesk.online.rules.FORMS), and "clerk" is a clerk.
Expected texts come from the same rules and translation catalogue the pages use."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from tests.browser.helpers import staff_login
from trafficdesk.accounts.models import Role, User
from trafficdesk.catalog.models import Business
from trafficdesk.core.validators import InvalidValue, mask_resident_id, parse_resident_id
from trafficdesk.demo.services import DEMO_CITIZEN_MOBILE
from trafficdesk.online import services
from trafficdesk.online.models import (
    ApplicationEvent,
    Attachment,
    OnlineApplication,
    ShipmentStatus,
)
from trafficdesk.online.rules import STATUS_ZH, Status

pytestmark = pytest.mark.browser

Outbox = list[tuple[str, str]]
PHONE = {"width": 390, "height": 844}
CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
LOST_LICENCE = "D01"
GOOD_ID = "11010519491231002X"
GOOD_ID_MASKED = "1101**********002X"
BAD_ID = "110105194912310021"  # the same number with a wrong check character
OTHER_CITIZEN_MOBILE = "13900139000"
ADDRESS = "贵州省贵阳市观山湖区林城东路 8 号 3 单元 502 室"
REASON = "驾驶证遗失"
CARRIER = "EMS"
WAYBILL = "EA123456789CN"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return gettext(message)


def zh_label(choice: Any) -> str:
    with translation.override("zh-hans"):
        return str(choice.label)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    """Uploaded attachments go to a throwaway directory, not var/media."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def png_file(tmp_path: Path) -> Path:
    path = tmp_path / "licence-loss-statement.png"
    path.write_bytes(PNG)
    return path


# --- helpers ---------------------------------------------------------------------------------


def citizen_login(page: Any, sms_outbox: Outbox, mobile: str = DEMO_CITIZEN_MOBILE) -> User:
    """Log in with the code sent by SMS; returns the citizen user."""
    page.goto(reverse("accounts:citizen-login"))
    page.locator("#id_mobile").fill(mobile)
    with page.expect_navigation() as nav:
        page.locator("form:has(#id_mobile) button[type=submit]").click()
    assert nav.value is not None and nav.value.status == 200
    page.locator("#id_code").wait_for()
    to_them = [text for number, text in sms_outbox if number == mobile]
    assert to_them, f"no SMS to {mobile} in {sms_outbox!r}"
    match = CODE_RE.search(to_them[-1])
    assert match, to_them[-1]
    page.locator("#id_code").fill(match.group(1))
    with page.expect_navigation(url=re.compile(re.escape(reverse("accounts:me")) + r"$")):
        page.locator("form:has(#id_code) button[type=submit]").click()
    assert page.get_by_test_id("role-nav").get_attribute("data-role") == Role.CITIZEN
    return User.objects.get(mobile=mobile)


def fill_application(
    page: Any, driver_id: str, files: list[Path] | None = None, mobile: str = DEMO_CITIZEN_MOBILE
) -> Any:
    """Fill the D01 form and submit it; returns the response of the page landed on."""
    form = page.get_by_test_id("apply-form")
    form.locator("#f-driver_id").fill(driver_id)
    form.locator("#f-classes").fill("C1")
    form.locator("#f-reason").fill(REASON)
    form.locator("#delivery_address").fill(ADDRESS)
    form.locator("#delivery_mobile").fill(mobile)
    if files:
        form.locator("#files").set_input_files([str(f) for f in files])
    with page.expect_navigation() as nav:
        form.locator("button[type=submit]").click()
    assert nav.value is not None
    return nav.value


def status_of(page: Any) -> str:
    return page.get_by_test_id("application").get_attribute("data-status") or ""


def act(page: Any, action: str) -> None:
    """Click one of the clerk's action buttons and wait for the page to come back."""
    button = page.get_by_test_id("actions").locator(f"button[data-action='{action}']")
    with page.expect_navigation() as nav:
        button.click()
    assert nav.value is not None and nav.value.status == 200, action
    assert page.locator("ul.messages li.error").count() == 0, page.locator("main").inner_text()


def notices(sms_outbox: Outbox, mobile: str, reference: str) -> list[str]:
    return [text for number, text in sms_outbox if number == mobile and reference in text]


# --- tests -----------------------------------------------------------------------------------


def test_citizen_applies_clerk_mails_citizen_follows(
    phone: Any, page: Any, demo: Any, sms_outbox: Outbox, png_file: Path
) -> None:
    # 1. The citizen applies on a phone.
    citizen_page = phone
    citizen = citizen_login(citizen_page, sms_outbox)
    assert citizen_page.evaluate("() => window.innerWidth") == PHONE["width"]
    citizen_page.goto(reverse("online:apply", args=[LOST_LICENCE]))
    response = fill_application(citizen_page, GOOD_ID, [png_file])
    assert response.status == 200, citizen_page.locator("main").inner_text()

    application = OnlineApplication.objects.get(applicant=citizen)
    reference = application.reference
    detail_path = reverse("online:detail", args=[reference])
    assert urlsplit(citizen_page.url).path == detail_path
    assert zh("Submitted. We will tell you by SMS at each step.") in (
        citizen_page.locator("ul.messages").inner_text()
    )
    assert status_of(citizen_page) == Status.SUBMITTED
    assert citizen_page.get_by_test_id("status").inner_text().strip() == Status.SUBMITTED
    card = citizen_page.get_by_test_id("application").inner_text()
    assert GOOD_ID_MASKED == mask_resident_id(GOOD_ID)
    assert GOOD_ID_MASKED in card and "C1" in card and REASON in card
    assert GOOD_ID not in citizen_page.content()
    assert citizen_page.get_by_test_id("actions").count() == 0
    assert citizen_page.get_by_test_id("shipment").count() == 0

    assert application.business.code == LOST_LICENCE
    assert application.form_data == {"driver_id": GOOD_ID, "classes": "C1", "reason": REASON}
    assert application.delivery_address == ADDRESS
    assert application.delivery_mobile == DEMO_CITIZEN_MOBILE
    attachments = list(Attachment.objects.filter(application=application))
    assert len(attachments) == 1
    assert attachments[0].content_type == "image/png"
    assert attachments[0].size == len(PNG)
    assert attachments[0].sha256 == hashlib.sha256(PNG).hexdigest()
    assert attachments[0].original_name == png_file.name

    # 2. In another browser, the clerk reviews, approves, issues, mails and tracks it.
    clerk_page = page
    staff_login(clerk_page, "clerk")
    clerk_page.goto(detail_path)
    assert status_of(clerk_page) == Status.SUBMITTED
    assert GOOD_ID_MASKED in clerk_page.get_by_test_id("application").inner_text()
    assert GOOD_ID not in clerk_page.content()
    for step in (Status.UNDER_REVIEW, Status.APPROVED, Status.ISSUED):
        act(clerk_page, step)
        assert status_of(clerk_page) == step

    ship_form = clerk_page.get_by_test_id("actions").locator("form:has(button[data-action=ship])")
    ship_form.locator("input[name=carrier]").fill(CARRIER)
    ship_form.locator("input[name=waybill]").fill(WAYBILL)
    act(clerk_page, "ship")
    assert status_of(clerk_page) == Status.SHIPPED
    assert clerk_page.get_by_test_id("shipment-status").inner_text().strip() == zh_label(
        ShipmentStatus.CREATED
    )

    places = {ShipmentStatus.IN_TRANSIT: "贵阳邮件处理中心", ShipmentStatus.DELIVERED: "观山湖区"}
    for shipment_status, place in places.items():
        track_form = clerk_page.get_by_test_id("actions").locator(
            "form:has(button[data-action=track])"
        )
        track_form.locator("select[name=status]").select_option(shipment_status.value)
        track_form.locator("input[name=location]").fill(place)
        act(clerk_page, "track")
        assert clerk_page.get_by_test_id("shipment-status").inner_text().strip() == zh_label(
            shipment_status
        )
    assert status_of(clerk_page) == Status.DELIVERED
    # Nothing is left to do on a delivered application.
    actions = clerk_page.get_by_test_id("actions")
    assert actions.locator("button").count() == 0

    # 3. The citizen reloads the page and sees the whole story.
    citizen_page.goto(detail_path)
    assert status_of(citizen_page) == Status.DELIVERED
    assert citizen_page.get_by_test_id("status").inner_text().strip() == Status.DELIVERED
    shipment_card = citizen_page.get_by_test_id("shipment")
    assert shipment_card.is_visible()
    shipment_text = shipment_card.inner_text()
    assert CARRIER in shipment_text and WAYBILL in shipment_text
    assert citizen_page.get_by_test_id("shipment-status").inner_text().strip() == zh_label(
        ShipmentStatus.DELIVERED
    )
    tracking = [
        t.strip() for t in citizen_page.get_by_test_id("tracking").locator("li").all_inner_texts()
    ]
    expected_tracking = [
        (ShipmentStatus.CREATED, ""),
        (ShipmentStatus.IN_TRANSIT, places[ShipmentStatus.IN_TRANSIT]),
        (ShipmentStatus.DELIVERED, places[ShipmentStatus.DELIVERED]),
    ]
    assert len(tracking) == len(expected_tracking), tracking
    for line, (shipment_status, place) in zip(tracking, expected_tracking, strict=True):
        assert zh_label(shipment_status) in line and place in line, line
    assert citizen_page.get_by_test_id("actions").count() == 0
    assert GOOD_ID not in citizen_page.content()

    application.refresh_from_db()
    assert application.status == Status.DELIVERED
    assert application.shipment.carrier == CARRIER and application.shipment.waybill == WAYBILL
    assert application.shipment.status == ShipmentStatus.DELIVERED
    flow = [
        Status.SUBMITTED,
        Status.UNDER_REVIEW,
        Status.APPROVED,
        Status.ISSUED,
        Status.SHIPPED,
        Status.DELIVERED,
    ]
    events = list(ApplicationEvent.objects.filter(application=application))
    assert [e.to_status for e in events] == flow
    assert all(e.notice_id is not None for e in events)

    # One SMS to the citizen at each step, in order, naming the step; never the full ID.
    sent = notices(sms_outbox, DEMO_CITIZEN_MOBILE, reference)
    assert len(sent) == len(flow), sent
    for text, step in zip(sent, flow, strict=True):
        assert f"{reference}：{STATUS_ZH[step]}" in text, (step, text)
    assert f"{CARRIER} {WAYBILL}" in sent[flow.index(Status.SHIPPED)]
    assert all(GOOD_ID not in text for _number, text in sms_outbox)


def test_invalid_driver_id_is_refused_with_the_field_error(
    phone: Any, demo: Any, sms_outbox: Outbox, png_file: Path
) -> None:
    page = phone
    citizen = citizen_login(page, sms_outbox)
    apply_path = reverse("online:apply", args=[LOST_LICENCE])
    page.goto(apply_path)
    sent_before = len(sms_outbox)

    response = fill_application(page, BAD_ID, [png_file])

    assert response.status == 422
    assert urlsplit(page.url).path == apply_path
    problem = page.get_by_test_id("problem")
    assert problem.is_visible()
    assert problem.inner_text().strip() == zh("Some fields are not valid.")
    with pytest.raises(InvalidValue) as refused:
        parse_resident_id(BAD_ID)
    field_error = page.locator("p.error[data-field=driver_id]")
    assert field_error.is_visible()
    assert field_error.inner_text().strip() == refused.value.message("zh-hans")
    # Only the bad field is flagged; the other answers are kept, the ID is not echoed back.
    assert page.locator("p.error[data-field]").count() == 1
    form = page.get_by_test_id("apply-form")
    assert form.locator("#f-classes").input_value() == "C1"
    assert form.locator("#f-reason").input_value() == REASON
    assert form.locator("#delivery_address").input_value() == ADDRESS
    assert form.locator("#f-driver_id").input_value() == ""
    assert BAD_ID not in page.content()

    # Nothing was created or sent.
    assert not OnlineApplication.objects.filter(applicant=citizen).exists()
    assert not Attachment.objects.exists()
    assert len(sms_outbox) == sent_before


def test_another_citizen_cannot_open_the_application(
    phone: Any, demo: Any, sms_outbox: Outbox
) -> None:
    owner, _created = User.objects.get_or_create(
        mobile=DEMO_CITIZEN_MOBILE,
        defaults={"username": "citizen-owner", "role": Role.CITIZEN},
    )
    application = services.submit(
        owner,
        Business.objects.get(code=LOST_LICENCE),
        {"driver_id": GOOD_ID, "classes": "C1", "reason": REASON},
        delivery_address=ADDRESS,
        delivery_mobile=DEMO_CITIZEN_MOBILE,
    )
    other = User.objects.create(
        username="citizen-other", mobile=OTHER_CITIZEN_MOBILE, role=Role.CITIZEN
    )
    other.set_unusable_password()
    other.save(update_fields=["password"])

    page = phone
    assert citizen_login(page, sms_outbox, OTHER_CITIZEN_MOBILE) == other

    response = page.goto(reverse("online:detail", args=[application.reference]))

    assert response is not None and response.status == 404
    assert page.locator("main h1").inner_text().strip() == zh("Not found")
    assert page.get_by_test_id("application").count() == 0
    html = page.content()
    assert GOOD_ID not in html and GOOD_ID_MASKED not in html and ADDRESS not in html
    # Their own list does not show it either.
    page.goto(reverse("online:mine"))
    assert application.reference not in page.content()

    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert not notices(sms_outbox, OTHER_CITIZEN_MOBILE, application.reference)
