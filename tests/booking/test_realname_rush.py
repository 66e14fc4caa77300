"""The caps on active bookings hold in a draw too: an account or ID at its cap cannot apply;
the draw leaves out the applications that would take an account or an ID past its cap, and
tells them why; a waiting-list offer is not accepted past the cap."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from trafficdesk.accounts import realname
from trafficdesk.accounts.models import User
from trafficdesk.booking import rush, services
from trafficdesk.booking.errors import BookingRefused
from trafficdesk.booking.models import Booking, RushRequest, RushWindow, Slot
from trafficdesk.catalog.models import Business
from trafficdesk.core.identity import id_digest
from trafficdesk.core.validators import mask_resident_id
from trafficdesk.core.vocabulary import HOLDING_STATUSES

from .conftest import with_family


def _draw(slot: Slot, *, closed: bool) -> RushWindow:
    now = timezone.now()
    window = RushWindow.objects.create(
        service_point=slot.service_point,
        business=Business.objects.get(code="P01"),
        opens_at=now - timedelta(hours=2),
        closes_at=now - timedelta(seconds=1) if closed else now + timedelta(hours=1),
        seed="caps",
    )
    Slot.objects.filter(pk=slot.pk).update(rush=window)
    return window


def _applied(window: RushWindow, holder: User, number: str) -> RushRequest:
    return RushRequest.objects.create(
        rush=window,
        holder=holder,
        id_digest=id_digest(number),
        id_masked=mask_resident_id(number),
        applied_on=timezone.localdate(),
    )


def _active(**where: Any) -> int:
    return Booking.objects.filter(status__in=HOLDING_STATUSES, **where).count()


def test_an_account_at_its_cap_cannot_apply(
    make_citizen: Any, make_slot: Any, settings: Any
) -> None:
    settings.BOOKING_MAX_ACTIVE_PER_ACCOUNT = 1
    holder = make_citizen()
    own, child = with_family(holder, 1)
    services.book(holder, make_slot().pk, ["P01"], own)
    window = _draw(make_slot(people=10), closed=False)
    with pytest.raises(BookingRefused) as refused:
        rush.apply(holder, window, child)
    assert refused.value.code == "holder.account_cap"
    assert "Cancel one" in refused.value.message
    assert not RushRequest.objects.filter(rush=window).exists()


def test_the_draw_leaves_out_what_would_pass_the_accounts_cap(
    make_citizen: Any, make_slot: Any, settings: Any
) -> None:
    settings.BOOKING_MAX_ACTIVE_PER_ACCOUNT = 3
    holder = make_citizen()
    numbers = with_family(holder, 4)
    services.book(holder, make_slot(people=5).pk, ["P02"], numbers[0])  # one held already
    window = _draw(make_slot(people=10), closed=True)
    requests = [_applied(window, holder, n) for n in numbers]
    other = make_citizen()
    someone = _applied(window, other, with_family(other, 0)[0])

    rush.allocate_rush(window.pk)

    assert _active(holder=holder) == 3  # 1 held + 2 won, not 1 + 5
    window.refresh_from_db()
    assert window.excluded == [r.pk for r in requests[2:]]  # the later ones are left out
    assert RushRequest.objects.get(pk=someone.pk).won
    assert _active(holder=other) == 1


def test_the_draw_leaves_out_an_id_at_its_cap_whichever_account_applies(
    make_citizen: Any, make_slot: Any, settings: Any
) -> None:
    settings.BOOKING_MAX_ACTIVE_PER_ID = 1
    parent, child = make_citizen(), make_citizen()
    (number,) = with_family(child, 0)
    services.book(child, make_slot(people=5).pk, ["P02"], number)
    with_family(parent, 0)
    realname.declare_family_member(parent, number, "", "child")
    window = _draw(make_slot(people=10), closed=True)
    request = _applied(window, parent, number)

    rush.allocate_rush(window.pk)

    window.refresh_from_db()
    assert window.excluded == [request.pk]
    assert _active(id_digest=id_digest(number)) == 1
