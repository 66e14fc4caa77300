"""A draw end to end through the API a user would use: an administrator opens it, citizens
apply (and are refused with the reason), the worker allocates, winners hold bookings, the
waiting list takes freed places in draw order, and the published record re-derives."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from trafficdesk.accounts.models import User
from trafficdesk.audit.models import AuditEntry
from trafficdesk.booking import rush
from trafficdesk.booking.models import (
    Booking,
    BookingEvent,
    BookingEventKind,
    CapacityRelease,
    RushOffer,
    RushRequest,
    RushWindow,
    Slot,
)
from trafficdesk.booking.tasks import (
    allocate_due_rushes,
    expire_offers_task,
    release_capacity_task,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "rush-draw.md"


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, body or {}, content_type="application/json")


@pytest.fixture
def exam_slots(make_slot: Any) -> list[Slot]:
    """Two exam slots, two places each, three days ahead."""
    return [
        make_slot(people=2, minutes=160, point="GY-EXAM-01", category="EXAM", hours_ahead=72)
        for _ in range(2)
    ]


@pytest.fixture
def opened(users: dict[str, Any], exam_slots: list[Slot]) -> dict[str, Any]:
    admin = logged_in(users["gz_admin"])
    now = timezone.now()
    answer = post(
        admin,
        "/api/v1/rush",
        {
            "point": "GY-EXAM-01",
            "business": "E02",
            "slots": [exam_slots[0].pk],
            "opens_at": (now - timedelta(minutes=5)).isoformat(),
            "closes_at": (now + timedelta(hours=1)).isoformat(),
            "licence_classes": ["c1", "C2"],
            "offer_hours": 6,
        },
    )
    assert answer.status_code == 201, answer.content
    return {"admin": admin, "rush": answer.json()}


def close_window(rush_id: int) -> None:
    """The clock reaches the closing moment (the worker runs then)."""
    RushWindow.objects.filter(pk=rush_id).update(closes_at=timezone.now() - timedelta(seconds=1))


def test_a_draw_from_opening_to_the_waiting_list(
    opened: dict[str, Any],
    exam_slots: list[Slot],
    make_citizen: Any,
    new_id: Any,
    sms_outbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    admin, rush_id = opened["admin"], opened["rush"]["id"]
    assert opened["rush"]["licence_classes"] == ["C1", "C2"] and opened["rush"]["places"] == 2
    # More places while it is open (the only change allowed), audited.
    added = post(admin, f"/api/v1/rush/{rush_id}/slots", {"slots": [exam_slots[1].pk]})
    assert added.status_code == 200 and added.json()["places"] == 4
    citizens = [make_citizen() for _ in range(7)]
    clients = [logged_in(c) for c in citizens]
    numbers = [new_id() for _ in citizens]
    # Bad input: a clear 409 with the reason and the field, nothing stored.
    bad_id = post(clients[0], f"/api/v1/rush/{rush_id}/apply", {"id_number": "520102198513327816"})
    assert bad_id.status_code == 409 and bad_id.json()["field"] == "id_number"
    no_licence = post(clients[0], f"/api/v1/rush/{rush_id}/apply", {"id_number": numbers[0]})
    assert no_licence.status_code == 409 and no_licence.json()["code"] == "rush.licence"
    assert "C1" in no_licence.json()["detail"]
    wrong = post(
        clients[0],
        f"/api/v1/rush/{rush_id}/apply",
        {"id_number": numbers[0], "licence_class": "A1"},
    )
    assert wrong.status_code == 409 and wrong.json()["code"] == "rush.licence"
    declared = post(
        clients[0],
        f"/api/v1/rush/{rush_id}/apply",
        {"id_number": numbers[0], "licence_class": "C1", "applicant_class": "EMERGENCY"},
    )
    assert declared.status_code == 409 and declared.json()["code"] == "rush.proof"
    assert not RushRequest.objects.filter(rush_id=rush_id).exists()
    for client, number in zip(clients, numbers, strict=True):
        applied = post(
            client, f"/api/v1/rush/{rush_id}/apply", {"id_number": number, "licence_class": "C1"}
        )
        assert applied.status_code == 201, applied.content
        assert applied.json()["mine"]["result"] == "applied"
    twice = post(
        clients[1],
        f"/api/v1/rush/{rush_id}/apply",
        {"id_number": numbers[1], "licence_class": "C2"},
    )
    assert twice.status_code == 409 and twice.json()["code"] == "rush.duplicate"
    assert RushRequest.objects.filter(rush_id=rush_id).count() == 7
    # A draw with applications cannot be withdrawn; allocating before the close is refused.
    withdrawn = admin.delete(f"/api/v1/rush/{rush_id}")
    assert withdrawn.status_code == 409 and withdrawn.json()["code"] == "rush.has_applications"
    early = post(admin, f"/api/v1/rush/{rush_id}/allocate")
    assert early.status_code == 409 and early.json()["code"] == "rush.still_open"

    close_window(rush_id)
    late = post(
        make_client := logged_in(make_citizen()),
        f"/api/v1/rush/{rush_id}/apply",
        {"id_number": new_id(), "licence_class": "C1"},
    )
    assert late.status_code == 409 and late.json()["code"] == "rush.closed"
    del make_client
    with django_capture_on_commit_callbacks(execute=True):
        assert allocate_due_rushes.call() == 1  # the worker, at the moment set
        assert allocate_due_rushes.call() == 0  # twice changes nothing
    outcomes = [c.get(f"/api/v1/rush/{rush_id}").json()["mine"] for c in clients]
    winners = [i for i, m in enumerate(outcomes) if m["result"] == "won"]
    waiting = sorted(
        (m["waiting_position"], i) for i, m in enumerate(outcomes) if m["result"] == "waiting"
    )
    assert len(winners) == 4 and [p for p, _i in waiting] == [1, 2, 3]
    texts = {phone: text for phone, text in sms_outbox}
    for i in winners:
        assert "您已约到" in texts[citizens[i].mobile]
        assert outcomes[i]["booking"]
    assert "候补名单第 1 位" in texts[citizens[waiting[0][1]].mobile]
    # The winners hold bookings through the ledger; nothing oversold.
    for slot in Slot.objects.filter(rush_id=rush_id):
        assert slot.booked_people == 2 == slot.capacity_people

    # A winner cancels; once the anti-trading delay has passed, the place goes to the first
    # on the waiting list, who is told by SMS with a time limit.
    first, second, third = (i for _p, i in waiting)
    token = outcomes[winners[0]]["booking"]
    assert post(clients[winners[0]], f"/api/v1/bookings/{token}/cancel").status_code == 200
    CapacityRelease.objects.update(release_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        release_capacity_task.call()
    offer = clients[first].get(f"/api/v1/rush/{rush_id}").json()["mine"]["offer"]
    assert offer is not None and offer["status"] == "pending"
    assert "候补递补" in dict(sms_outbox)[citizens[first].mobile]
    assert RushOffer.objects.count() == 1  # one free seat, one offer
    # Only the one offered may answer; the first accepts and holds a booking.
    stranger = post(clients[second], f"/api/v1/rush/offers/{offer['id']}/accept")
    assert stranger.status_code == 403
    accepted = post(clients[first], f"/api/v1/rush/offers/{offer['id']}/accept")
    assert accepted.status_code == 201, accepted.content
    again = post(clients[first], f"/api/v1/rush/offers/{offer['id']}/accept")
    assert again.status_code == 409 and again.json()["code"] == "rush.offer_gone"
    assert clients[first].get(f"/api/v1/rush/{rush_id}").json()["mine"]["result"] == "won"

    # Another winner cancels: the second is offered, lets it pass, the third is offered and
    # does not answer in time: the offer lapses (no one is left on the list).
    token = outcomes[winners[1]]["booking"]
    assert post(clients[winners[1]], f"/api/v1/bookings/{token}/cancel").status_code == 200
    CapacityRelease.objects.update(release_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        release_capacity_task.call()
    offer = clients[second].get(f"/api/v1/rush/{rush_id}").json()["mine"]["offer"]
    assert post(clients[second], f"/api/v1/rush/offers/{offer['id']}/decline").status_code == 204
    offer = clients[third].get(f"/api/v1/rush/{rush_id}").json()["mine"]["offer"]
    assert offer["status"] == "pending"
    RushOffer.objects.filter(pk=offer["id"]).update(expires_at=timezone.now())
    assert expire_offers_task.call() == 1
    assert RushOffer.objects.get(pk=offer["id"]).status == "expired"
    late_accept = post(clients[third], f"/api/v1/rush/offers/{offer['id']}/accept")
    assert late_accept.status_code == 409
    for slot in Slot.objects.filter(rush_id=rush_id):
        held = Booking.objects.filter(slot=slot, status__in=["active", "checked_in"]).count()
        assert slot.booked_people == held <= slot.capacity_people
    assert set(
        AuditEntry.objects.filter(action__startswith="rush.").values_list("action", flat=True)
    ) >= {
        "rush.open",
        "rush.add_slots",
        "rush.allocate",
        "rush.offer",
        "rush.offer_accept",
        "rush.offer_decline",
        "rush.offer_expire",
    }


def test_the_no_show_bar_applies_to_draws_with_the_date_it_ends(
    opened: dict[str, Any], citizen: User, new_id: Any, make_slot: Any, settings: Any
) -> None:
    number = new_id()
    for _ in range(settings.BOOKING_NO_SHOW_LIMIT):
        booking = Booking.objects.create(
            token=f"t{timezone.now().timestamp()}{_}",
            holder=citizen,
            slot=make_slot(),
            id_digest=rush.id_digest(number),
            id_masked="x",
            minutes=20,
            status="no_show",
        )
        BookingEvent.objects.create(booking=booking, kind=BookingEventKind.NO_SHOW)
    barred = post(
        logged_in(citizen),
        f"/api/v1/rush/{opened['rush']['id']}/apply",
        {"id_number": number, "licence_class": "C1"},
    )
    assert barred.status_code == 409 and barred.json()["code"] == "holder.barred"
    assert re.search(r"\d{4}-\d{2}-\d{2}", barred.json()["detail"])


def test_a_draw_nobody_applied_to_is_withdrawn_and_its_slots_are_first_come_again(
    opened: dict[str, Any], exam_slots: list[Slot], citizen: User
) -> None:
    rush_id = opened["rush"]["id"]
    assert logged_in(citizen).delete(f"/api/v1/rush/{rush_id}").status_code == 403
    assert opened["admin"].delete(f"/api/v1/rush/{rush_id}").status_code == 204
    assert Slot.objects.get(pk=exam_slots[0].pk).rush_id is None
    assert AuditEntry.objects.filter(action="rush.withdraw").exists()


@pytest.fixture
def allocated(
    opened: dict[str, Any], make_citizen: Any, new_id: Any, django_capture_on_commit_callbacks: Any
) -> dict[str, Any]:
    rush_id = opened["rush"]["id"]
    for _ in range(9):
        applied = post(
            logged_in(make_citizen()),
            f"/api/v1/rush/{rush_id}/apply",
            {"id_number": new_id(), "licence_class": "C2"},
        )
        assert applied.status_code == 201
    close_window(rush_id)
    with django_capture_on_commit_callbacks(execute=True):
        allocate_due_rushes.call()
    record = Client().get(f"/api/v1/rush/{rush_id}/draw.json")
    assert record.status_code == 200
    return record.json()


def test_the_published_record_re_derives_the_allocation(
    allocated: dict[str, Any], tmp_path: Path
) -> None:
    assert len(allocated["applications"]) == 9 and len(allocated["result"]) == 9
    assert all("*" in a[1] for a in allocated["applications"])  # ID numbers masked
    assert sum(1 for _r, s in allocated["result"] if s is not None) == 2
    assert rush.verify_published(allocated) == []
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(allocated, ensure_ascii=False))
    call_command("verify_draw", str(path))  # the management command agrees
    # The few lines of standard-library Python in docs/rush-draw.md, run as written.
    snippet = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert snippet is not None
    script = tmp_path / "check_draw.py"
    script.write_text(snippet.group(1))
    done = subprocess.run(  # noqa: S603 - our own snippet, run by this interpreter
        [sys.executable, "-I", str(script), str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "re-derives exactly" in done.stdout, done.stderr


def test_a_tampered_record_does_not_verify(allocated: dict[str, Any], tmp_path: Path) -> None:
    losers = [r for r in allocated["result"] if r[1] is None]
    winners = [r for r in allocated["result"] if r[1] is not None]
    swapped = dict(allocated)
    swapped["result"] = [[losers[0][0], winners[0][1]], *winners[1:], [winners[0][0], None]]
    assert rush.verify_published(swapped)
    forged_seed = {**allocated, "seed": "0" * 32}
    assert rush.verify_published(forged_seed)[0].startswith("the seed does not match")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(swapped))
    with pytest.raises(CommandError, match="does NOT re-derive"):
        call_command("verify_draw", str(path))


def test_before_the_draw_only_the_commitment_is_published(opened: dict[str, Any]) -> None:
    record = Client().get(f"/api/v1/rush/{opened['rush']['id']}/draw.json").json()
    assert len(record["seed_sha256"]) == 64
    assert "seed" not in record and "applications" not in record
