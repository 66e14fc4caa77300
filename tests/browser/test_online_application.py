"""Applying online in a real browser (issue 15, item 5): on a 390 px phone a citizen finds
补领机动车驾驶证 (D01, mailed) in the catalogue, applies choosing the reason and licence class from
pickers and giving a delivery address, and sees the stepper at 提交; a clerk, also on a phone,
reviews and approves it from the review queue, makes and mails the document with a tracking
number; the citizen sees the stepper move, the address shown back and the tracking. No status
value or business code is ever visible and no page scrolls sideways. Bad input is refused with
the field's error and every answer kept; another citizen cannot open the application at all.

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
from django.utils.translation import gettext, pgettext

from tests.browser.helpers import staff_login
from trafficdesk.accounts.models import Role, User
from trafficdesk.catalog.models import Business
from trafficdesk.core.validators import (
    InvalidValue,
    mask_mobile,
    mask_resident_id,
    parse_resident_id,
)
from trafficdesk.demo.services import DEMO_CITIZEN_MOBILE
from trafficdesk.online import rules, services
from trafficdesk.online.models import (
    ApplicationEvent,
    Attachment,
    OnlineApplication,
    ShipmentStatus,
)
from trafficdesk.online.rules import Reason, Status

pytestmark = pytest.mark.browser

Outbox = list[tuple[str, str]]
PHONE = {"width": 390, "height": 844}
CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
LOST_LICENCE = "D01"
# A Guanshanhu resident: the application goes to the online centre of the applicant's
# region (online.services.centre_region), where the demo clerk works.
GOOD_ID = "520115194912310029"
GOOD_ID_MASKED = "5201**********0029"
BAD_ID = "520115194912310020"  # the same number with a wrong check character
OTHER_CITIZEN_MOBILE = "13900139000"
ADDRESS = "贵州省贵阳市观山湖区林城东路 8 号 3 单元 502 室"
REASON = Reason.LOST.value
CLASS_LABEL_ZH = "C1 小型汽车"
CARRIER = "EMS"
WAYBILL = "EA123456789CN"
HUB = "贵阳邮件处理中心"
DOORSTEP = "观山湖区"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def zh(message: str, context: str | None = None) -> str:
    with translation.override("zh-hans"):
        return pgettext(context, message) if context else gettext(message)


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
    """Fill the D01 form with its pickers and submit it; returns the response landed on."""
    form = page.get_by_test_id("apply-form")
    form.locator("#f-driver_id").fill(driver_id)
    form.locator("#f-reason").select_option(REASON)
    form.get_by_test_id("picker-classes").get_by_label(CLASS_LABEL_ZH).check()
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


def stepper(page: Any) -> list[tuple[str, str]]:
    """(label read, state) for each step of the stepper."""
    return [
        (
            step.locator(".online-step-label").inner_text().strip(),
            step.get_attribute("data-state") or "",
        )
        for step in page.get_by_test_id("stepper").locator("li").all()
    ]


def current_step(page: Any) -> str:
    current = page.locator("[data-testid=stepper] li[aria-current=step] .online-step-label")
    return str(current.inner_text()).strip()


def assert_no_raw_codes(page: Any) -> None:
    """What the user reads names no status value and no business or reason code."""
    text = page.locator("main").inner_text()
    words = set(re.findall(r"[A-Za-z_0-9]+", text))
    raw = {s.value for s in Status} | {LOST_LICENCE} | {r.value for r in Reason}
    assert not words & raw, (words & raw, text)


def assert_fits_the_phone(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{urlsplit(page.url).path} is {width}px wide"


# --- tests -----------------------------------------------------------------------------------


def test_citizen_applies_with_pickers_clerk_mails_citizen_follows_the_stepper(
    phone: Any, browser: Any, live_server: Any, demo: Any, sms_outbox: Outbox, png_file: Path
) -> None:
    # 1. The citizen finds the business in the catalogue and applies on a phone.
    citizen_page = phone
    citizen = citizen_login(citizen_page, sms_outbox)
    assert citizen_page.evaluate("() => window.innerWidth") == PHONE["width"]
    citizen_page.goto(reverse("online:catalogue"))
    assert_no_raw_codes(citizen_page)
    assert_fits_the_phone(citizen_page)
    business = Business.objects.get(code=LOST_LICENCE)
    card = citizen_page.locator(f"[data-business={LOST_LICENCE}]")
    with translation.override("zh-hans"):
        assert card.locator("h3").inner_text().strip() == business.name
    with citizen_page.expect_navigation():
        card.get_by_role("link", name=zh("Apply"), exact=True).click()
    assert urlsplit(citizen_page.url).path == reverse("online:apply", args=[LOST_LICENCE])
    assert_fits_the_phone(citizen_page)
    # The reason is chosen from this business's own list, by its Chinese name.
    offered = [o.strip() for o in citizen_page.locator("#f-reason option").all_inner_texts()]
    assert offered == [zh("Choose…"), *[zh_label(r) for r in rules.reasons_for(LOST_LICENCE)]]
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
    assert citizen_page.get_by_test_id("status").inner_text().strip() == zh_label(Status.SUBMITTED)
    assert stepper(citizen_page) == [
        ("提交", "current"),
        ("审核", "todo"),
        ("制证", "todo"),
        ("邮寄", "todo"),
        ("签收", "todo"),
    ]
    card_text = citizen_page.get_by_test_id("application").inner_text()
    assert GOOD_ID_MASKED == mask_resident_id(GOOD_ID)
    assert GOOD_ID_MASKED in card_text and CLASS_LABEL_ZH in card_text
    assert zh_label(Reason.LOST) in card_text
    delivery = citizen_page.get_by_test_id("delivery")
    assert delivery.get_by_test_id("delivery-address").inner_text().strip() == ADDRESS
    assert delivery.get_by_test_id("delivery-mobile").inner_text().strip() == mask_mobile(
        DEMO_CITIZEN_MOBILE
    )
    assert GOOD_ID not in citizen_page.content()
    assert DEMO_CITIZEN_MOBILE not in citizen_page.locator("main").inner_text()
    assert citizen_page.get_by_test_id("actions").count() == 0
    assert citizen_page.get_by_test_id("shipment").count() == 0
    assert_no_raw_codes(citizen_page)
    assert_fits_the_phone(citizen_page)

    assert application.form_data == {"driver_id": GOOD_ID, "classes": "C1", "reason": REASON}
    assert application.delivery_address == ADDRESS
    assert application.delivery_mobile == DEMO_CITIZEN_MOBILE
    attachments = list(Attachment.objects.filter(application=application))
    assert len(attachments) == 1
    assert attachments[0].content_type == "image/png"
    assert attachments[0].size == len(PNG)
    assert attachments[0].sha256 == hashlib.sha256(PNG).hexdigest()
    assert attachments[0].original_name == png_file.name

    citizen_page.goto(reverse("online:mine"))
    mine = citizen_page.get_by_test_id("my-applications").locator(f"[data-reference={reference}]")
    assert mine.get_by_test_id("status").inner_text().strip() == zh_label(Status.SUBMITTED)
    assert_no_raw_codes(citizen_page)
    assert_fits_the_phone(citizen_page)

    # 2. A clerk, also on a phone, finds it in the review queue, reviews and approves it.
    context = browser.new_context(
        locale="zh-CN", base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True
    )
    try:
        clerk_page = context.new_page()
        clerk_page.set_default_timeout(10_000)
        staff_login(clerk_page, "clerk")
        clerk_page.goto(reverse("online:queue"))
        row = clerk_page.get_by_test_id("queue").locator(f"tr:has(a:text-is('{reference}'))")
        assert row.get_by_test_id("status").inner_text().strip() == zh_label(Status.SUBMITTED)
        assert_no_raw_codes(clerk_page)
        assert_fits_the_phone(clerk_page)
        with clerk_page.expect_navigation():
            row.get_by_role("link", name=reference).click()
        assert GOOD_ID not in clerk_page.content()
        review = clerk_page.get_by_test_id("actions").locator("button[data-action=under_review]")
        assert review.inner_text().strip() == zh("Start the review", "online application action")
        act(clerk_page, Status.UNDER_REVIEW)
        assert_no_raw_codes(clerk_page)
        assert_fits_the_phone(clerk_page)
        act(clerk_page, Status.APPROVED)
        assert status_of(clerk_page) == Status.APPROVED

        citizen_page.goto(detail_path)
        assert current_step(citizen_page) == "制证"
        assert citizen_page.get_by_test_id("status").inner_text().strip() == zh_label(
            Status.APPROVED
        )

        # 3. The document is made and mailed with a tracking number.
        act(clerk_page, Status.ISSUED)
        ship_form = clerk_page.get_by_test_id("actions").locator(
            "form:has(button[data-action=ship])"
        )
        ship_form.locator("input[name=carrier]").fill(CARRIER)
        ship_form.locator("input[name=waybill]").fill(WAYBILL)
        act(clerk_page, "ship")
        assert status_of(clerk_page) == Status.SHIPPED
        track_form = clerk_page.get_by_test_id("actions").locator(
            "form:has(button[data-action=track])"
        )
        track_form.locator("select[name=status]").select_option(ShipmentStatus.IN_TRANSIT.value)
        track_form.locator("input[name=location]").fill(HUB)
        act(clerk_page, "track")

        citizen_page.goto(detail_path)
        assert stepper(citizen_page) == [
            ("提交", "done"),
            ("审核", "done"),
            ("制证", "done"),
            ("邮寄", "current"),
            ("签收", "todo"),
        ]
        shipment = citizen_page.get_by_test_id("shipment")
        assert shipment.get_by_test_id("carrier").inner_text().strip() == CARRIER
        assert shipment.get_by_test_id("waybill").inner_text().strip() == WAYBILL
        assert shipment.get_by_test_id("shipment-status").inner_text().strip() == zh_label(
            ShipmentStatus.IN_TRANSIT
        )
        tracking = shipment.get_by_test_id("tracking").locator("li").all_inner_texts()
        assert len(tracking) == 2, tracking
        assert zh_label(ShipmentStatus.CREATED) in tracking[0]
        assert zh_label(ShipmentStatus.IN_TRANSIT) in tracking[1] and HUB in tracking[1]
        assert citizen_page.get_by_test_id("delivery-address").inner_text().strip() == ADDRESS
        assert_no_raw_codes(citizen_page)
        assert_fits_the_phone(citizen_page)

        # 4. Delivered: every step is done, nothing is left for the clerk to do.
        track_form = clerk_page.get_by_test_id("actions").locator(
            "form:has(button[data-action=track])"
        )
        track_form.locator("select[name=status]").select_option(ShipmentStatus.DELIVERED.value)
        track_form.locator("input[name=location]").fill(DOORSTEP)
        act(clerk_page, "track")
        assert status_of(clerk_page) == Status.DELIVERED
        assert clerk_page.get_by_test_id("actions").locator("button").count() == 0
        # The review queue fits the phone in English too.
        context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
        clerk_page.goto(reverse("online:queue"))
        assert clerk_page.locator("html").get_attribute("lang") == "en"
        assert_fits_the_phone(clerk_page)
    finally:
        context.close()

    citizen_page.goto(detail_path)
    assert [state for _label, state in stepper(citizen_page)] == ["done"] * 5
    assert citizen_page.get_by_test_id("status").inner_text().strip() == zh_label(Status.DELIVERED)
    tracking = citizen_page.get_by_test_id("tracking").locator("li").all_inner_texts()
    assert len(tracking) == 3 and DOORSTEP in tracking[-1]
    assert_no_raw_codes(citizen_page)
    assert GOOD_ID not in citizen_page.content()

    # The same page in English.
    citizen_page.context.add_cookies(
        [{"name": "django_language", "value": "en", "url": live_server.url}]
    )
    citizen_page.goto(detail_path)
    assert [label for label, _state in stepper(citizen_page)] == [
        "Submitted",
        "Review",
        "Making the document",
        "Mailed",
        "Received",
    ]
    with translation.override("en"):
        assert citizen_page.get_by_test_id("status").inner_text().strip() == str(
            Status.DELIVERED.label
        )
        assert "under_review" not in citizen_page.locator("main").inner_text()
    assert_fits_the_phone(citizen_page)
    for path in (
        reverse("online:mine"),
        reverse("online:catalogue"),
        reverse("online:apply", args=[LOST_LICENCE]),
    ):
        citizen_page.goto(path)
        assert_fits_the_phone(citizen_page)

    application.refresh_from_db()
    assert application.status == Status.DELIVERED
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
    # One SMS to the citizen at each step, in order, naming the step in Chinese; never the ID.
    sent = notices(sms_outbox, DEMO_CITIZEN_MOBILE, reference)
    assert len(sent) == len(flow), sent
    for text, step in zip(sent, flow, strict=True):
        assert f"{reference}：{zh_label(step)}" in text, (step, text)
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
    assert form.get_by_test_id("picker-classes").get_by_label(CLASS_LABEL_ZH).is_checked()
    assert form.locator("#f-reason").input_value() == REASON
    assert form.locator("#delivery_address").input_value() == ADDRESS
    assert form.locator("#delivery_mobile").input_value() == DEMO_CITIZEN_MOBILE
    assert form.locator("#f-driver_id").input_value() == ""
    assert BAD_ID not in page.content()
    assert_fits_the_phone(page)

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


def test_refused_and_withdrawn_applications_say_so_with_a_way_forward(
    phone: Any, demo: Any, sms_outbox: Outbox
) -> None:
    page = phone
    citizen = citizen_login(page, sms_outbox)
    business = Business.objects.get(code=LOST_LICENCE)
    clerk = User.objects.get(username="clerk")

    def apply() -> OnlineApplication:
        return services.submit(
            citizen,
            business,
            {"driver_id": GOOD_ID, "classes": "C1", "reason": REASON},
            delivery_address=ADDRESS,
        )

    refused = apply()
    services.move(clerk, refused, Status.UNDER_REVIEW)
    services.move(clerk, refused, Status.REJECTED, note="驾驶证照片无法辨认")
    page.goto(reverse("online:detail", args=[refused.reference]))
    assert page.get_by_test_id("stepper").count() == 0
    box = page.get_by_test_id("refused")
    assert zh("Your application was not accepted.") in box.inner_text()
    assert box.get_by_test_id("why").inner_text().strip() == "驾驶证照片无法辨认"
    again = box.get_by_role("link", name=zh("Apply again with what was missing"))
    assert again.get_attribute("href") == reverse("online:apply", args=[LOST_LICENCE])
    assert page.get_by_test_id("status").inner_text().strip() == zh_label(Status.REJECTED)
    assert_no_raw_codes(page)
    assert_fits_the_phone(page)

    # Withdrawing asks first; "keep it" changes nothing, "withdraw" does.
    kept = apply()
    detail = reverse("online:detail", args=[kept.reference])
    page.goto(detail)
    with page.expect_navigation():
        page.get_by_test_id("withdraw").click()
    assert_fits_the_phone(page)
    with page.expect_navigation():
        page.get_by_role("link", name=zh("No, keep it")).click()
    kept.refresh_from_db()
    assert kept.status == Status.SUBMITTED and urlsplit(page.url).path == detail
    with page.expect_navigation():
        page.get_by_test_id("withdraw").click()
    with page.expect_navigation():
        page.get_by_test_id("withdraw-confirm").locator("button[data-action=withdraw]").click()
    kept.refresh_from_db()
    assert kept.status == Status.WITHDRAWN
    assert zh("The application is withdrawn.") in page.locator("ul.messages").inner_text()
    assert page.get_by_test_id("status").inner_text().strip() == zh_label(Status.WITHDRAWN)
    assert page.get_by_test_id("withdrawn").get_by_role("link", name=zh("Apply again")).count()
    assert page.get_by_test_id("withdraw").count() == 0
    assert_no_raw_codes(page)

    page.goto(reverse("online:mine"))
    statuses = page.get_by_test_id("my-applications").get_by_test_id("status").all_inner_texts()
    assert sorted(s.strip() for s in statuses) == sorted(
        [zh_label(Status.REJECTED), zh_label(Status.WITHDRAWN)]
    )
    assert_fits_the_phone(page)
