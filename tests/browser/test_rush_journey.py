"""A draw in a real browser (issue 14): the administrator opens it from the slot calendar,
three citizens apply on their phones, the window closes and the worker allocates, the
winners see their bookings, one cancels, and the first on the waiting list is offered the
place and takes it. The published record re-derives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.booking.conftest import make_id
from tests.browser.helpers import staff_login, wait_for_server_requests
from tests.browser.test_enterprise_journey import submit
from tests.browser.test_online_application import citizen_login
from trafficdesk.booking import rush
from trafficdesk.booking.models import CapacityRelease, RushWindow, Slot
from trafficdesk.booking.tasks import allocate_due_rushes, release_capacity_task
from trafficdesk.catalog.models import Business
from trafficdesk.sites.models import ServicePoint

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
MOBILES = ("13900149001", "13900149002", "13900149003")


def exam_slot(day_offset: int) -> Slot:
    """Two places in an exam slot on a day of its own (no other slot of the group then)."""
    start = (timezone.localtime() + timedelta(days=day_offset)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    business = Business.objects.get(code="E02")
    point = ServicePoint.objects.get(code="GY-EXAM-01")
    Slot.objects.filter(
        service_point=point, category=business.category, starts_at__date=start.date()
    ).delete()
    return Slot.objects.create(
        service_point=point,
        category=business.category,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        capacity_minutes=2 * business.service_minutes,
        capacity_people=2,
        priority_release_at=start - timedelta(days=1),
    )


def local(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_a_draw_from_the_calendar_to_the_waiting_list(
    browser: Any, live_server: Any, demo: Any, sms_outbox: Any
) -> None:
    slot = exam_slot(25)
    day = timezone.localtime(slot.starts_at).date().isoformat()
    contexts = []

    def new_page(**options: Any) -> Any:
        context = browser.new_context(base_url=live_server.url, locale="zh-CN", **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    try:
        # 1. The administrator opens the draw from the slot calendar.
        admin = new_page()
        staff_login(admin, "gz_admin")
        admin.goto(f"{reverse('booking:calendar')}?point=GY-EXAM-01&day={day}")
        form = admin.get_by_test_id("open-rush")
        form.locator("select[name=business]").select_option("E02")
        form.locator("input[name=first_day]").fill(day)
        form.locator("input[name=last_day]").fill(day)
        now = timezone.now()
        form.locator("input[name=opens_at]").fill(local(now - timedelta(minutes=2)))
        form.locator("input[name=closes_at]").fill(local(now + timedelta(hours=1)))
        form.locator("input[name=licence_classes]").fill("C1 C2")
        submit(admin, form)
        window = RushWindow.objects.get()
        assert admin.url.endswith(reverse("booking:rush", args=[window.pk]))
        assert admin.get_by_test_id("seed-hash").inner_text() == rush.seed_hash(window.seed)
        assert Slot.objects.get(pk=slot.pk).rush_id == window.pk

        # 2. Three citizens apply on their phones.
        phones = []
        for i, mobile in enumerate(MOBILES):
            page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
            citizen_login(page, sms_outbox, mobile)
            page.goto(reverse("booking:rush", args=[window.pk]))
            apply = page.get_by_test_id("rush-apply")
            apply.locator("input[name=id_number]").fill(make_id(81_000 + i))
            apply.locator("select[name=licence_class]").select_option("C1")
            submit(page, apply)
            assert page.get_by_test_id("my-outcome").get_attribute("data-result") == "applied"
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            phones.append(page)
        # The first phone's counter follows by the live stream, without a reload.
        expect(phones[0].locator("[data-count=applications]")).to_have_text("3", timeout=5000)

        # 3. The window closes; the worker allocates with nobody present.
        RushWindow.objects.filter(pk=window.pk).update(
            closes_at=F("opens_at") + timedelta(minutes=1)
        )
        assert allocate_due_rushes.call() == 1
        results = {}
        for page in phones:
            page.reload()
            results[page] = page.get_by_test_id("my-outcome").get_attribute("data-result")
        winners = [p for p, r in results.items() if r == "won"]
        (waiting,) = [p for p, r in results.items() if r == "waiting"]
        assert len(winners) == 2
        assert "1" in waiting.get_by_test_id("my-outcome").inner_text()

        # 4. A winner opens the booking and cancels it; once the anti-trading delay has
        # passed, the place is offered to the first on the waiting list, who takes it.
        winner = winners[0]
        with winner.expect_navigation():
            winner.get_by_test_id("my-outcome").locator("a").click()
        with winner.expect_navigation():
            winner.get_by_role("link", name="取消预约").click()
        with winner.expect_navigation():  # the confirmation step
            winner.get_by_test_id("confirm-cancel").click()
        CapacityRelease.objects.update(release_at=timezone.now() - timedelta(seconds=1))
        release_capacity_task.call()
        waiting.reload()
        offer = waiting.get_by_test_id("offer")
        assert offer.is_visible()
        with waiting.expect_navigation():
            offer.get_by_role("button", name="接受").click()
        assert "/booking/b/" in waiting.url
        slot.refresh_from_db()
        assert slot.booked_people == 2 == slot.capacity_people

        # 5. Anyone downloads the record, and it re-derives.
        anonymous = new_page()
        anonymous.goto(reverse("booking:rush", args=[window.pk]))
        assert anonymous.get_by_test_id("seed").inner_text() == window.seed
        record = anonymous.request.get(reverse("booking:rush-record", args=[window.pk])).json()
        assert rush.verify_published(record) == []
        wait_for_server_requests(live_server)
    finally:
        for context in contexts:
            context.close()
