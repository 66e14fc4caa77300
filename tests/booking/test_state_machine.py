"""A Hypothesis state machine over book, cancel, risk change (with rebooking), release and a
rush allocation. Invariants: booked <= capacity everywhere, the counters match the bookings,
and every booking is active and allowed by the policy, or cancelled with a notice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.booking.conftest import PERMIT
from trafficdesk.accounts import realname
from trafficdesk.accounts.models import User
from trafficdesk.booking import rush, services
from trafficdesk.booking.models import Booking, BookingEvent, CapacityRelease, Slot
from trafficdesk.booking.rebooking import rebook_affected
from trafficdesk.catalog.models import Business
from trafficdesk.core import localcache
from trafficdesk.policy.services import decide_for
from trafficdesk.regions.models import Region
from trafficdesk.regions.services import set_risk_level
from trafficdesk.sites.models import ServicePoint

from .conftest import make_id

POINTS = ["GY-HALL-01", "GY-BR-HX", "GY-BR-QZ"]
COUNTIES = ["520115", "520111", "520181"]
CLASSES = ["GENERAL", "GENERAL", "RESUMPTION", "GREEN", "EMERGENCY"]


class BookingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        try:
            self.admin = User.objects.get(username="gz_admin")
            self.p01 = Business.objects.get(code="P01")
            self.holders = [
                User.objects.create(username=f"sm-{i}", mobile=f"1360000{i:04d}", role="citizen")
                for i in range(6)
            ]
            # The people each account may book for (the real-name rule, accounts.realname):
            # its own bound ID number and two declared family members'. Each ID holds at most
            # one active P01 booking, so an account never reaches its cap of active bookings.
            self.people: list[list[str]] = []
            for i, holder in enumerate(self.holders):
                own, *family = (make_id(50_000 + 10 * i + k) for k in range(3))
                realname.bind_identity(holder, own)
                for number in family:
                    realname.declare_family_member(holder, number, "", "child")
                self.people.append([own, *family])
            start = timezone.now().replace(minute=0, second=13, microsecond=0) + timedelta(
                days=2
            )  # off the demo slots
            self.slots = [
                Slot.objects.create(
                    service_point=ServicePoint.objects.get(code=code),
                    category=self.p01.category,
                    starts_at=start + timedelta(minutes=7 * i),
                    ends_at=start + timedelta(minutes=7 * i + 60),
                    capacity_minutes=60,
                    capacity_people=3,
                    priority_reserved_minutes=20,
                    priority_release_at=start - timedelta(hours=1),
                )
                for i, code in enumerate(POINTS * 2)
            ]
            self.serial = 0
        except BaseException:
            # A failed set-up must not leave the connection inside the atomic block for
            # the tests that follow.
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)
            raise

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)
        # What this example cached (a risk level it set, then rolled back) must not reach the
        # next example: a process-local cache lives LOCAL_CACHE_SECONDS, longer than an
        # example on a busy machine (it made the machine flaky under load).
        localcache.clear_all()

    @rule(
        holder=st.integers(0, 5),
        person=st.integers(0, 2),
        slot=st.integers(0, 9),
        applicant_class=st.sampled_from(CLASSES),
        extra=st.booleans(),
    )
    def book(self, holder: int, person: int, slot: int, applicant_class: str, extra: bool) -> None:
        codes = ["P01", "V01"] if extra else ["P01"]
        try:
            services.book(
                self.holders[holder],
                self.slots[slot % len(self.slots)].pk,
                codes,
                self.people[holder][person],
                applicant_class,
                claim=PERMIT,
            )
        except services.BookingRefused as refused:
            assert refused.code in {
                "slot.full",
                "policy.closed",
                "booking.duplicate",
                "slot.rush",
            }, refused.code
            assert refused.message

    @rule(which=st.integers(0, 50))
    def cancel(self, which: int) -> None:
        active = list(
            Booking.objects.filter(holder__in=self.holders, status="active").order_by("id")
        )
        if active:
            booking = active[which % len(active)]
            services.cancel(booking.holder, booking)

    @rule(county=st.sampled_from(COUNTIES), level=st.sampled_from(["LOW", "MEDIUM", "HIGH"]))
    def risk_change(self, county: str, level: str) -> None:
        set_risk_level(
            self.admin,
            Region.objects.get(code=county),
            level,
            reason="state machine",
            effective_from=timezone.now(),
        )
        rebook_affected()

    @rule()
    def release(self) -> None:
        services.release_due_capacity(timezone.now() + timedelta(days=1))

    @rule(applicants=st.integers(1, 5))
    def allocate(self, applicants: int) -> None:
        """A rush over a slot of its own: its slots leave first-come booking."""
        now = timezone.now()
        template = self.slots[0]
        self.serial += 1
        contested = Slot.objects.create(
            service_point=template.service_point,
            category=template.category,
            starts_at=template.starts_at + timedelta(days=1, minutes=self.serial),
            ends_at=template.ends_at + timedelta(days=1, minutes=self.serial),
            capacity_minutes=60,
            capacity_people=3,
            priority_release_at=template.priority_release_at,
        )
        self.slots.append(contested)
        window = rush.open_rush(
            self.admin,
            service_point=contested.service_point,
            business=self.p01,
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(hours=1),
            slots=[contested],
        )
        for i in range(applicants):
            try:
                rush.apply(self.holders[i], window, self.people[i][0])  # for oneself
            except services.BookingRefused as refused:
                # The policy checked at apply time: the risk level set by another rule may
                # close the business; nothing is stored then.
                assert refused.code == "policy.closed"
        rush.allocate_rush(window.pk, now=window.closes_at)
        window.refresh_from_db()
        assert rush.verify(window)

    @invariant()
    def never_over_capacity(self) -> None:
        for slot in Slot.objects.filter(pk__in=[s.pk for s in self.slots]):
            assert slot.booked_people <= slot.capacity_people
            assert slot.booked_minutes <= slot.capacity_minutes

    @invariant()
    def counters_match_bookings(self) -> None:
        for slot in Slot.objects.filter(pk__in=[s.pk for s in self.slots]).annotate(
            active=Count("bookings", filter=Q(bookings__status="active"), distinct=True),
            active_minutes=Sum("bookings__minutes", filter=Q(bookings__status="active")),
        ):
            pending = CapacityRelease.objects.filter(slot=slot, released_at__isnull=True)
            held_people = pending.count()
            held_minutes = sum(pending.values_list("minutes", flat=True))
            assert slot.booked_people == slot.active + held_people
            assert slot.booked_minutes == (slot.active_minutes or 0) + held_minutes

    @invariant()
    def every_booking_is_valid_or_cancelled_with_a_notice(self) -> None:
        for booking in Booking.objects.filter(holder__in=self.holders).select_related(
            "slot__service_point__region"
        ):
            if booking.status == "active":
                for item in booking.items.select_related("business__category"):
                    assert decide_for(
                        booking.slot.service_point,
                        item.business,
                        booking.applicant_class,
                        booking.slot.starts_at,
                    ).open
            else:
                assert booking.status == "cancelled"
                assert BookingEvent.objects.filter(
                    booking=booking, kind="cancelled", notice__isnull=False
                ).exists()


@pytest.mark.django_db
def test_booking_state_machine(demo: Any) -> None:
    BookingMachine.TestCase.settings = settings(
        max_examples=20,
        stateful_step_count=10,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    BookingMachine.TestCase().runTest()
