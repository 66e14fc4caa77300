"""Online applications: validation, the status flow, IDOR, attachments, mailing and the webhook."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from trafficdesk.accounts.models import User
from trafficdesk.catalog.models import Business
from trafficdesk.notify.models import SmsMessage
from trafficdesk.online import rules, services
from trafficdesk.online.models import ApplicationEvent, OnlineApplication
from trafficdesk.online.rules import Status

GOOD_ID = "520115194912310029"  # Guanshanhu: the clerk's online centre answers it
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


@pytest.fixture(autouse=True)
def _english_messages() -> Any:
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def applicant(db: Any) -> User:
    return User.objects.create(username="applicant", mobile="13912340001", role="citizen")


@pytest.fixture
def d01(demo: Any) -> Business:
    return Business.objects.get(code="D01")


def apply_d01(applicant: User, d01: Business) -> OnlineApplication:
    return services.submit(
        applicant,
        d01,
        {"driver_id": GOOD_ID, "classes": "C1", "reason": rules.Reason.LOST},
        delivery_address="贵阳市南明区花果园大街1号",
        delivery_mobile="13912340001",
    )


def test_every_online_business_has_a_form(demo: Any) -> None:
    codes = set(Business.objects.filter(online=True).values_list("code", flat=True))
    assert len(codes) == 26 and codes <= set(rules.FORMS)


def test_form_fields_are_validated(applicant: User, d01: Business) -> None:
    with pytest.raises(services.ApplicationError) as bad:
        services.submit(
            applicant,
            d01,
            {"driver_id": "123", "classes": "Z9", "reason": ""},
            delivery_address="x",
            delivery_mobile="1",
        )
    # Every bad field at once, the delivery's too, each with its code.
    assert bad.value.codes == {
        "driver_id": "id.length",
        "classes": "licence.class",
        "reason": "reason.missing",
        "delivery_address": "address.length",
        "delivery_mobile": "mobile.format",
    }
    assert set(bad.value.errors) == set(bad.value.codes)
    with pytest.raises(services.ApplicationError) as no_address:
        services.submit(applicant, d01, {"driver_id": GOOD_ID, "classes": "C1", "reason": "lost"})
    assert no_address.value.codes == {"delivery_address": "address.length"}


def test_on_site_businesses_cannot_be_applied_for_online(applicant: User, demo: Any) -> None:
    with pytest.raises(services.ApplicationError):
        services.submit(applicant, Business.objects.get(code="E01"), {})


def _run_flow(users: dict[str, Any], applicant: User, d01: Business) -> None:
    application = apply_d01(applicant, d01)
    clerk = users["clerk"]
    for step in (Status.UNDER_REVIEW, Status.APPROVED, Status.ISSUED):
        services.move(clerk, application, step)
    shipment = services.ship(clerk, application, "EMS", "EA123456789CN")
    services.add_tracking(
        shipment, status="in_transit", at=timezone.now(), location="贵阳", source="staff"
    )
    services.add_tracking(
        shipment, status="delivered", at=timezone.now(), location="南明区", source="staff"
    )


def test_full_flow_to_delivery_with_notices(
    users: dict[str, Any],
    applicant: User,
    d01: Business,
    sms_outbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _run_flow(users, applicant, d01)
    application = OnlineApplication.objects.get(applicant=applicant)
    assert application.status == Status.DELIVERED
    statuses = list(application.events.values_list("to_status", flat=True))
    assert statuses == ["submitted", "under_review", "approved", "issued", "shipped", "delivered"]
    assert all(e.notice_id for e in application.events.all())
    assert len(sms_outbox) == 6


def test_no_notice_for_a_step_that_is_rolled_back(
    users: dict[str, Any],
    applicant: User,
    d01: Business,
    sms_outbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    first = apply_d01(applicant, d01)
    second = apply_d01(applicant, d01)
    for application in (first, second):
        for step in (Status.UNDER_REVIEW, Status.APPROVED, Status.ISSUED):
            services.move(users["clerk"], application, step)
    services.ship(users["clerk"], first, "EMS", "W1")
    sent_before = list(sms_outbox)
    queued_before = SmsMessage.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(services.ApplicationError):
            services.ship(users["clerk"], second, "EMS", "W1")
    assert callbacks == [] and SmsMessage.objects.count() == queued_before
    assert list(sms_outbox) == sent_before
    second.refresh_from_db()
    assert second.status == Status.ISSUED


def test_reject_and_needs_more_need_a_reason(
    users: dict[str, Any], applicant: User, d01: Business
) -> None:
    application = apply_d01(applicant, d01)
    services.move(users["clerk"], application, Status.UNDER_REVIEW)
    with pytest.raises(services.ApplicationError):
        services.move(users["clerk"], application, Status.REJECTED)
    services.move(users["clerk"], application, Status.NEEDS_MORE, note="请补充身份证照片")
    with pytest.raises(PermissionDenied):
        services.move(users["clerk"], application, Status.SUBMITTED)
    services.move(applicant, application, Status.SUBMITTED)
    assert application.status == Status.SUBMITTED


def test_citizens_cannot_review(applicant: User, d01: Business) -> None:
    application = apply_d01(applicant, d01)
    with pytest.raises(PermissionDenied):
        services.move(applicant, application, Status.UNDER_REVIEW)


def test_phone_channel(users: dict[str, Any], demo: Any) -> None:
    application = services.file_by_phone(
        users["clerk"],
        "13977778888",
        Business.objects.get(code="X02"),
        {"driver_id": GOOD_ID, "plate": "贵A12345"},
    )
    assert application.channel == "phone" and application.filed_by == users["clerk"]
    assert application.applicant.mobile == "13977778888"


def test_attachments_are_checked(applicant: User, d01: Business) -> None:
    application = apply_d01(applicant, d01)
    attachment = services.add_attachment(applicant, application, "id.png", PNG)
    assert attachment.content_type == "image/png" and len(attachment.sha256) == 64
    with pytest.raises(services.ApplicationError, match="JPEG"):
        services.add_attachment(applicant, application, "evil.png", b"MZ\x90\x00 not an image")
    with pytest.raises(services.ApplicationError, match="5 MB"):
        services.add_attachment(
            applicant, application, "big.pdf", b"%PDF" + b"0" * (5 * 1024 * 1024)
        )
    other = User.objects.create(username="other", mobile="13912340002")
    with pytest.raises(PermissionDenied):
        services.add_attachment(other, application, "x.png", PNG)


def test_a_citizen_sees_only_their_own(client: Client, applicant: User, d01: Business) -> None:
    application = apply_d01(applicant, d01)
    other = User.objects.create(username="other", mobile="13912340002")
    client.force_login(other)
    assert client.get(f"/api/v1/online/applications/{application.reference}").status_code == 404
    assert client.get(f"/online/a/{application.reference}/").status_code == 404
    assert client.get("/api/v1/online/applications").json() == []
    client.force_login(applicant)
    body = client.get(f"/online/a/{application.reference}/").content.decode()
    assert GOOD_ID not in body and "5201**********0029" in body
    assert (
        client.get(f"/api/v1/online/applications/{application.reference}").json()["status"]
        == "submitted"
    )


def test_clerk_queue_orders_by_sla(
    client: Client, users: dict[str, Any], applicant: User, d01: Business
) -> None:
    late = apply_d01(applicant, d01)
    OnlineApplication.objects.filter(pk=late.pk).update(
        sla_due_at=timezone.now() - timezone.timedelta(hours=1)
    )
    client.force_login(users["clerk"])
    page = client.get("/online/queue/").content.decode()
    assert late.reference in page and 'data-overdue="1"' in page
    client.force_login(applicant)
    assert client.get("/online/queue/").status_code == 403


def _signed(secret: str, body: dict[str, Any], at: int | None = None) -> dict[str, str]:
    raw = json.dumps(body).encode()
    timestamp = str(at if at is not None else int(time.time()))
    return {
        "HTTP_X_CARRIER_TIMESTAMP": timestamp,
        "HTTP_X_CARRIER_SIGNATURE": services.signature(secret, timestamp, raw),
        "data": raw,
    }


def test_carrier_webhook_refuses_forged_stale_and_replayed_events(
    client: Client, settings: Any, users: dict[str, Any], applicant: User, d01: Business
) -> None:
    settings.CARRIER_WEBHOOK_SECRETS = {"ems": "s3cret"}
    application = apply_d01(applicant, d01)
    for step in (Status.UNDER_REVIEW, Status.APPROVED, Status.ISSUED):
        services.move(users["clerk"], application, step)
    services.ship(users["clerk"], application, "ems", "EA1CN")
    event = {
        "event_id": "e1",
        "waybill": "EA1CN",
        "status": "delivered",
        "at": timezone.now().isoformat(),
        "location": "南明区",
    }

    def post(headers: dict[str, Any]) -> Any:
        data = headers.pop("data")
        return client.post(
            "/api/v1/carriers/ems/events", data, content_type="application/json", **headers
        )

    forged = _signed("wrong", event)
    assert post(forged).status_code == 401
    stale = _signed("s3cret", event, at=int(time.time()) - 3600)
    assert post(stale).status_code == 401
    assert post(_signed("s3cret", event)).status_code == 200
    assert post(_signed("s3cret", event)).status_code == 409  # the same event again
    assert (
        client.post(
            "/api/v1/carriers/nobody/events", b"{}", content_type="application/json"
        ).status_code
        == 404
    )
    bad = _signed("s3cret", {"event_id": "e2"})
    assert post(bad).status_code == 400
    application.refresh_from_db()
    assert application.status == Status.DELIVERED


class ApplicationFlow(RuleBasedStateMachine):
    """Random walks through the flow: only allowed steps succeed, the history records each one."""

    def __init__(self) -> None:
        super().__init__()
        from django.db import transaction

        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.clerk = User.objects.get(username="clerk")
        self.citizen = User.objects.create(username=f"flow-{id(self)}", mobile="13900009999")
        business = Business.objects.get(code="D01")
        self.application = apply_d01(self.citizen, business)
        self.expected = [Status.SUBMITTED]

    def teardown(self) -> None:
        from django.db import transaction

        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    @rule(goal=st.sampled_from(list(Status)), by_citizen=st.booleans())
    def step(self, goal: Status, by_citizen: bool) -> None:
        target = goal
        actor = self.citizen if by_citizen else self.clerk
        current = self.application.status
        legal = rules.allowed(current, target, mailed=True) and target != Status.SHIPPED
        citizen_move = (Status(current), target) in rules.CITIZEN_MOVES
        note = "原因" if target in (Status.REJECTED, Status.NEEDS_MORE) else ""
        try:
            services.move(actor, self.application, target, note=note)
        except (services.ApplicationError, PermissionDenied):
            assert not legal or citizen_move != by_citizen
            return
        assert legal and citizen_move == by_citizen
        self.expected.append(target)

    @invariant()
    def history_matches(self) -> None:
        history = list(
            ApplicationEvent.objects.filter(application=self.application).values_list(
                "to_status", flat=True
            )
        )
        assert history == [s.value for s in self.expected]


@pytest.mark.django_db
def test_application_flow_state_machine(demo: Any) -> None:
    ApplicationFlow.TestCase.settings = settings(
        max_examples=30,
        stateful_step_count=8,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    ApplicationFlow.TestCase().runTest()


class PipeAdapter:
    """A carrier that posts 'event|waybill|status|iso-time'."""

    def parse(self, body: bytes) -> Any:
        from datetime import datetime

        from trafficdesk.online.carriers import CarrierEvent

        event_id, waybill, status, at = body.decode().split("|")
        return CarrierEvent(event_id, waybill, status, datetime.fromisoformat(at))


def test_carriers_plug_in_through_an_adapter(
    client: Client, settings: Any, users: dict[str, Any], applicant: User, d01: Business
) -> None:
    settings.CARRIER_WEBHOOK_SECRETS = {"sf": "k"}
    settings.CARRIER_ADAPTERS = {"sf": "tests.online.test_online.PipeAdapter"}
    application = apply_d01(applicant, d01)
    for step in (Status.UNDER_REVIEW, Status.APPROVED, Status.ISSUED):
        services.move(users["clerk"], application, step)
    services.ship(users["clerk"], application, "sf", "SF1")
    body = f"p1|SF1|in_transit|{timezone.now().isoformat()}".encode()
    timestamp = str(int(time.time()))
    response = client.post(
        "/api/v1/carriers/sf/events",
        body,
        content_type="text/plain",
        HTTP_X_CARRIER_TIMESTAMP=timestamp,
        HTTP_X_CARRIER_SIGNATURE=services.signature("k", timestamp, body),
    )
    assert response.status_code == 200 and response.json()["status"] == "in_transit"


def test_a_second_delivered_event_changes_nothing(
    users: dict[str, Any], applicant: User, d01: Business
) -> None:
    application = apply_d01(applicant, d01)
    for step in (Status.UNDER_REVIEW, Status.APPROVED, Status.ISSUED):
        services.move(users["clerk"], application, step)
    shipment = services.ship(users["clerk"], application, "EMS", "WD2")
    for _ in range(2):
        services.add_tracking(
            shipment, status="delivered", at=timezone.now(), source="staff", actor=users["clerk"]
        )
    assert (
        ApplicationEvent.objects.filter(application=application, to_status="delivered").count() == 1
    )
