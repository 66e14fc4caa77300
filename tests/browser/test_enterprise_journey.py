"""Priority proven, in a real browser (issue 13): an enterprise registers with its licence, the
administrator verifies it and grants RESUMPTION, its agent adds two lorries and books for both
in that class; a citizen's unverified EMERGENCY claim is downgraded by the clerk at the window
and the citizen is told by SMS and on the booking page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.booking.conftest import make_id
from tests.browser.helpers import staff_login, wait_for_server_requests
from tests.browser.test_online_application import citizen_login, zh
from trafficdesk.booking.models import Booking, PriorityClaim, Slot
from trafficdesk.catalog.models import Business
from trafficdesk.core.validators import uscc_check_char
from trafficdesk.core.vocabulary import ClaimStatus
from trafficdesk.enterprises.models import Enterprise
from trafficdesk.hallqueue import services as hall
from trafficdesk.sites.models import ServicePoint, Window

pytestmark = pytest.mark.browser

Outbox = list[tuple[str, str]]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
USCC = "91520115MA6H7K3Q1" + uscc_check_char("91520115MA6H7K3Q1")
AGENT_MOBILE, CITIZEN_MOBILE = "13900139001", "13900139002"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def soon_slot() -> Slot:
    """A P01 slot at the Guiyang hall starting in ten minutes (check-in is open)."""
    start = timezone.now().replace(second=17, microsecond=0) + timedelta(
        minutes=10
    )  # off the demo slots
    return Slot.objects.create(
        service_point=ServicePoint.objects.get(code="GY-HALL-01"),
        category=Business.objects.get(code="P01").category,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        capacity_minutes=200,
        capacity_people=10,
        priority_release_at=start - timedelta(hours=1),
    )


def submit(page: Any, form: Any) -> Any:
    with page.expect_navigation() as nav:
        form.locator("button[type=submit]").first.click()
    assert nav.value is not None
    return nav.value


def book_page(page: Any, slot: Slot, applicant_class: str) -> None:
    page.goto(f"{reverse('booking:book', args=[slot.pk])}?business=P01&class={applicant_class}")


def test_enterprise_is_verified_books_for_two_lorries_and_a_false_claim_is_downgraded(
    browser: Any, live_server: Any, demo: Any, sms_outbox: Outbox, tmp_path: Path
) -> None:
    licence = tmp_path / "licence.png"
    licence.write_bytes(PNG)
    contexts = []

    def new_page() -> Any:
        context = browser.new_context(base_url=live_server.url, locale="zh-CN")
        contexts.append(context)
        return context.new_page()

    try:
        # 1. A citizen registers the enterprise with its licence.
        agent = new_page()
        citizen_login(agent, sms_outbox, AGENT_MOBILE)
        agent.goto(reverse("enterprises:mine"))
        form = agent.get_by_test_id("register")
        form.locator("#id_r-uscc").fill(USCC)
        form.locator("#id_r-name").fill("贵阳复工物流有限公司")
        form.locator("#id_r-address").fill("贵阳市观山湖区长岭北路1号")
        form.locator("#id_r-contact_name").fill("张三")
        form.locator("#id_r-contact_mobile").fill(AGENT_MOBILE)
        form.locator("#id_r-document").set_input_files(str(licence))
        assert submit(agent, form).status == 200
        enterprise = Enterprise.objects.get(uscc=USCC)
        status = agent.get_by_test_id("enterprise-status").inner_text()
        assert zh("awaiting verification") in status

        # 2. The province's administrator verifies it and grants RESUMPTION for a month.
        admin = new_page()
        staff_login(admin, "gz_admin")
        admin.goto(reverse("enterprises:review"))
        card = admin.locator(f"[data-testid=enterprise][data-uscc='{USCC}']")
        with admin.expect_navigation():
            card.locator("button[value=verify]").click()
        card = admin.locator(f"[data-testid=enterprise][data-uscc='{USCC}']")
        grant = card.get_by_test_id("grant")
        grant.locator("#id_applicant_class").select_option("RESUMPTION")
        until = timezone.localdate() + timedelta(days=30)
        grant.locator("#id_valid_until").fill(until.isoformat())
        grant.locator("#id_reason").fill("复工复产货运企业")
        with admin.expect_navigation():
            grant.locator("button[value=grant]").click()
        assert enterprise.grants.filter(applicant_class="RESUMPTION").count() == 1

        # 3. The agent adds two lorries and books for both in the granted class.
        agent.goto(reverse("enterprises:detail", args=[enterprise.pk]))
        for plate in ("贵A12345", "贵A23456"):
            fleet = agent.get_by_test_id("fleet")
            fleet.locator("#id_plate").fill(plate)
            fleet.locator("#id_vehicle_type").fill("重型厢式货车")
            fleet.locator("#id_use").select_option("freight")
            assert submit(agent, fleet).status == 200
        assert "贵A23456" in agent.get_by_test_id("fleet").inner_text()
        slot = soon_slot()
        for serial, plate in enumerate(("贵A12345", "贵A23456")):
            book_page(agent, slot, "RESUMPTION")
            agent.locator("#id_id_number").fill(make_id(97_000 + serial))
            proof = agent.get_by_test_id("proof")
            lorry = enterprise.vehicles.get(plate=plate)
            proof.locator("#id_vehicle").select_option(value=str(lorry.pk))
            response = submit(agent, agent.locator("form:has([data-testid=proof])"))
            assert response.status == 200, agent.locator("main").inner_text()
            assert agent.get_by_test_id("claim").get_attribute("data-status") == "granted"
        agent.goto(reverse("booking:fleet", args=[enterprise.pk]))
        listed = agent.get_by_test_id("fleet-bookings").inner_text()
        assert "贵A12345" in listed and "贵A23456" in listed

        # 4. A citizen claims EMERGENCY with a permit photo; at the window it is not proven.
        citizen = new_page()
        citizen_login(citizen, sms_outbox, CITIZEN_MOBILE)
        book_page(citizen, slot, "EMERGENCY")
        citizen.locator("#id_id_number").fill(make_id(97_100))
        proof = citizen.get_by_test_id("proof")
        proof.locator("#id_permit_number").fill("急救许可 2020-088")
        proof.locator("#id_evidence").set_input_files(str(licence))
        assert submit(citizen, citizen.locator("form:has([data-testid=proof])")).status == 200
        assert citizen.get_by_test_id("claim").get_attribute("data-status") == "pending"
        booking = Booking.objects.get(holder__mobile=CITIZEN_MOBILE)
        ticket = hall.check_in_booking(slot.service_point, booking.token)
        assert ticket.applicant_class == "EMERGENCY"

        clerk = new_page()
        staff_login(clerk, "clerk")
        emergency_window = Window.objects.get(service_point=slot.service_point, number=1)
        clerk.goto(f"{reverse('hallqueue:console')}?window={emergency_window.pk}")
        clerk.get_by_test_id("call-next").click()  # htmx: the panel answers in place
        expect(clerk.get_by_test_id("current-label")).to_have_text(ticket.label)
        claim_box = clerk.get_by_test_id("claim")
        assert "急救许可 2020-088" in claim_box.inner_text()
        claim_box.locator("input[name=reason]").fill("未能出示急救车辆证明")
        clerk.get_by_test_id("claim-downgrade").click()
        notice = clerk.get_by_test_id("console-notice")
        expect(notice).to_contain_text("按普通群众办理")
        expect(notice).to_have_attribute("data-level", "success")
        ticket.refresh_from_db()
        assert ticket.applicant_class == "GENERAL"
        assert PriorityClaim.objects.get(booking=booking).status == ClaimStatus.DOWNGRADED

        # 5. The citizen is told, by SMS and on the booking's page.
        told = [text for number, text in sms_outbox if number == CITIZEN_MOBILE]
        assert any("优先资格未能核实" in text for text in told), told
        citizen.goto(reverse("booking:detail", args=[booking.token]))
        shown = citizen.get_by_test_id("claim")
        assert shown.get_attribute("data-status") == "downgraded"
        assert "未能出示急救车辆证明" in shown.inner_text()
    finally:
        wait_for_server_requests(live_server)
        for context in contexts:
            context.close()
