"""A Hypothesis state machine over priority claims: book with a fleet vehicle or a permit,
review online (accept or not), confirm or downgrade at the window, cancel. Invariants: a claim
only ever moves as CLAIM_MOVES allows; a downgraded booking is general public; the slots'
counters match what the bookings hold (plus places waiting for release); an enterprise's day
use equals its held fleet bookings not downgraded, and never exceeds its share."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.booking.conftest import make_id
from trafficdesk.accounts import realname
from trafficdesk.accounts.models import User
from trafficdesk.booking import claims, services
from trafficdesk.booking.models import (
    Booking,
    CapacityRelease,
    EnterpriseDayUse,
    PriorityClaim,
    Slot,
)
from trafficdesk.catalog.models import Business
from trafficdesk.core import localcache
from trafficdesk.core.identity import id_digest
from trafficdesk.core.validators import uscc_check_char
from trafficdesk.core.vocabulary import CLAIM_MOVES, HOLDING_STATUSES, ClaimStatus, sources_of
from trafficdesk.enterprises import services as enterprises
from trafficdesk.sites.models import ServicePoint

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
SHARE = 2


class ClaimMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        try:
            self.admin = User.objects.get(username="gz_admin")
            self.clerk = User.objects.get(username="clerk")
            self.agent = User.objects.create(
                username="cm-agent", mobile="13712349999", role="citizen"
            )
            self.citizens = [
                User.objects.create(username=f"cm-{i}", mobile=f"1371235{i:04d}", role="citizen")
                for i in range(3)
            ]
            # The people each citizen may book for (the real-name rule, accounts.realname):
            # its own bound ID number and two declared family members'. The agent books for
            # its fleet's drivers, whoever they are.
            self.people: list[list[str]] = []
            for i, citizen in enumerate(self.citizens):
                own, *family = (make_id(70_000 + 10 * i + k) for k in range(3))
                realname.bind_identity(citizen, own)
                for number in family:
                    realname.declare_family_member(citizen, number, "", "child")
                self.people.append([own, *family])
            code = "91520115MA6H7K3T1" + uscc_check_char("91520115MA6H7K3T1")
            self.enterprise = enterprises.register(
                self.agent,
                uscc=code,
                name="状态机物流",
                address="贵阳市观山湖区",
                contact_name="赵六",
                contact_mobile="13712349999",
                document_name="l.png",
                document=PNG,
            )
            enterprises.verify(self.admin, self.enterprise, approve=True)
            enterprises.grant(
                self.admin,
                self.enterprise,
                "EMERGENCY",
                timezone.localdate() + timedelta(days=30),
                "x",
            )
            self.lorries = [
                enterprises.add_vehicle(
                    self.agent,
                    self.enterprise,
                    plate=f"贵A3{i:04d}",
                    vehicle_type="车",
                    use="special",
                )
                for i in range(4)
            ]
            p01 = Business.objects.get(code="P01")
            start = timezone.now().replace(minute=0, second=13, microsecond=0) + timedelta(
                days=2
            )  # off the demo slots
            self.slots = [
                Slot.objects.create(
                    service_point=ServicePoint.objects.get(code="GY-HALL-01"),
                    category=p01.category,
                    starts_at=start + timedelta(hours=i),
                    ends_at=start + timedelta(hours=i, minutes=60),
                    capacity_minutes=80,
                    capacity_people=4,
                    priority_reserved_minutes=40,
                    priority_release_at=start + timedelta(days=1),
                )
                for i in range(2)
            ]
            self.serial = 0
            self.seen: dict[int, str] = {}
        except BaseException:
            # A failed set-up must not leave the connection inside the atomic block for
            # the tests that follow.
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)
            raise

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)
        localcache.clear_all()

    def _book(self, holder: User, slot: int, id_number: str, proof: claims.ClaimIn) -> None:
        try:
            services.book(
                holder,
                self.slots[slot].pk,
                ["P01"],
                id_number,
                "EMERGENCY",
                notify=False,
                claim=proof,
            )
        except services.BookingRefused as refused:
            if refused.code == "booking.duplicate":  # only when this ID already holds P01
                assert proof.vehicle_id is None
                assert Booking.objects.filter(
                    id_digest=id_digest(id_number),
                    status__in=HOLDING_STATUSES,
                    items__business__code="P01",
                    items__active=True,
                ).exists()
                return
            assert refused.code in {"slot.full", "claim.share", "claim.barred"}, refused.code

    @rule(slot=st.integers(0, 1), lorry=st.integers(0, 3))
    def book_for_a_lorry(self, slot: int, lorry: int) -> None:
        self.serial += 1  # a driver of the fleet, each time another
        driver = make_id(80_000 + self.serial)
        self._book(self.agent, slot, driver, claims.ClaimIn(vehicle_id=self.lorries[lorry].pk))

    @rule(slot=st.integers(0, 1), who=st.integers(0, 2), person=st.integers(0, 2))
    def book_with_a_permit(self, slot: int, who: int, person: int) -> None:
        self._book(
            self.citizens[who],
            slot,
            self.people[who][person],
            claims.ClaimIn(permit_number="P-1", evidence=PNG),
        )

    def _claim(self, which: int) -> PriorityClaim | None:
        found = list(
            PriorityClaim.objects.select_related("booking__slot__service_point__region").order_by(
                "pk"
            )
        )
        return found[which % len(found)] if found else None

    @rule(which=st.integers(0, 20), accept=st.booleans())
    def review_online(self, which: int, accept: bool) -> None:
        claim = self._claim(which)
        if claim is None:
            return
        target = ClaimStatus.ACCEPTED if accept else ClaimStatus.DOWNGRADED
        try:
            claims.review(self.clerk, claim, accept=accept, reason="审核")
        except services.BookingRefused as refused:
            assert refused.code == "claim.settled"
            assert claim.status not in sources_of(CLAIM_MOVES, target)

    @rule(which=st.integers(0, 20), confirm=st.booleans())
    def settle_at_the_window(self, which: int, confirm: bool) -> None:
        claim = self._claim(which)
        if claim is None:
            return
        try:
            if confirm:
                claims.confirm(self.clerk, claim, "核实")
            else:
                claims.downgrade(self.clerk, claim, "未能核实")
        except services.BookingRefused as refused:
            assert refused.code == "claim.settled"

    @rule(which=st.integers(0, 20))
    def cancel(self, which: int) -> None:
        claim = self._claim(which)
        if claim is None:
            return
        booking = Booking.objects.get(pk=claim.booking_id)
        try:
            services.cancel(booking.holder, booking, notify=False)
        except services.BookingRefused:
            assert booking.status != "active"

    @invariant()
    def claims_move_only_as_allowed(self) -> None:
        for pk, status in PriorityClaim.objects.values_list("pk", "status"):
            before = self.seen.get(pk)
            if before is not None and before != status:
                assert ClaimStatus(status) in CLAIM_MOVES[ClaimStatus(before)], (before, status)
            self.seen[pk] = status

    @invariant()
    def a_downgraded_booking_is_general_public(self) -> None:
        for claim in PriorityClaim.objects.filter(status=ClaimStatus.DOWNGRADED).select_related(
            "booking"
        ):
            assert claim.booking.applicant_class == "GENERAL"

    @invariant()
    def counters_match_the_bookings(self) -> None:
        for slot in Slot.objects.filter(pk__in=[s.pk for s in self.slots]):
            holding = Booking.objects.filter(slot=slot, status__in=HOLDING_STATUSES)
            pending = CapacityRelease.objects.filter(slot=slot, released_at__isnull=True)
            sums = holding.aggregate(m=Sum("minutes"), g=Sum("general_minutes"))
            waiting = pending.aggregate(m=Sum("minutes"), g=Sum("general_minutes"))
            assert slot.booked_minutes == (sums["m"] or 0) + (waiting["m"] or 0)
            assert slot.booked_general_minutes == (sums["g"] or 0) + (waiting["g"] or 0)
            assert slot.booked_minutes <= slot.capacity_minutes

    @invariant()
    def the_enterprise_keeps_to_its_share(self) -> None:
        for use in EnterpriseDayUse.objects.filter(enterprise=self.enterprise):
            held = (
                PriorityClaim.objects.filter(
                    enterprise=self.enterprise, booking__status__in=HOLDING_STATUSES
                )
                .exclude(status=ClaimStatus.DOWNGRADED)
                .filter(booking__slot__starts_at__date=use.day)
                .count()
            )
            assert use.used == held <= django_settings.PRIORITY_BOOKINGS_PER_ENTERPRISE_DAY


@pytest.mark.django_db
def test_claim_state_machine(demo: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    settings.PRIORITY_BOOKINGS_PER_ENTERPRISE_DAY = SHARE
    settings.FALSE_CLAIMS_LIMIT = 50  # the bar has its own test; here claims keep coming
    ClaimMachine.TestCase.settings = settings_for_machine()
    ClaimMachine.TestCase().runTest()


def settings_for_machine() -> Any:
    return hypothesis_settings(
        max_examples=15,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
