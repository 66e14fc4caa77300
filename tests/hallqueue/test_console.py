"""The clerk's window console: the waiting list it previews is the order call-next takes,
the clerk's window is remembered across logins, closed windows cannot be chosen, a clerk
assigned to some windows serves only at those (on the page and through the API alike), and
the actions answer htmx with the live panel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.booking.conftest import make_id
from trafficdesk.booking import services as booking
from trafficdesk.booking.models import Slot
from trafficdesk.core.validators import mask_mobile
from trafficdesk.hallqueue import services
from trafficdesk.hallqueue.models import Ticket, TicketStatus

CONSOLE = "/hall/console/"
HX = {"HTTP_HX_REQUEST": "true"}


def _mixed_queue(hall: Any, p01: Any) -> list[Ticket]:
    """Walk-ins whose call order is neither arrival order nor class order alone: a general
    walk-in lifted by ageing, one booked on time, a key-supplies one who came last."""
    now = timezone.now()
    ageing = timedelta(minutes=settings.HALL_AGEING_MINUTES)
    made = [services.walk_in(hall, p01, "GENERAL") for _ in range(3)]
    made.append(services.walk_in(hall, p01, "ESSENTIAL"))
    made.append(services.walk_in(hall, p01, "GENERAL"))
    arrivals = [now - ageing * 4 - timedelta(minutes=1), now - timedelta(minutes=9)]
    arrivals += [now - timedelta(minutes=8), now - timedelta(minutes=1), now - timedelta(minutes=7)]
    for ticket, arrived in zip(made, arrivals, strict=True):
        Ticket.objects.filter(pk=ticket.pk).update(arrived_at=arrived)
    Ticket.objects.filter(pk=made[4].pk).update(on_time=True)
    return made


def _calls_until_empty(clerk: Any, window: Any) -> list[int]:
    taken = []
    while (ticket := services.call_next(clerk, window)) is not None:
        taken.append(ticket.pk)
        services.complete(clerk, ticket)
    return taken


def test_the_preview_is_the_order_call_next_takes(
    users: dict[str, Any], hall: Any, p01: Any, window: Any
) -> None:
    made = _mixed_queue(hall, p01)
    preview = services.queue_preview(window(3), limit=10)
    by_arrival = sorted(made, key=lambda t: Ticket.objects.get(pk=t.pk).arrived_at)
    assert [t.pk for t in preview] != [t.pk for t in by_arrival]  # the rule, not arrival
    assert len(preview) == len(made)
    assert services.queue_preview(window(3), limit=2) == preview[:2]

    assert _calls_until_empty(users["clerk"], window(3)) == [t.pk for t in preview]


def test_the_preview_shows_only_what_this_window_may_call(
    users: dict[str, Any], hall: Any, p01: Any, window: Any
) -> None:
    """The emergency window serves only the classes served first: its preview leaves the
    general public out, as its calls do."""
    made = _mixed_queue(hall, p01)
    preview = [t.pk for t in services.queue_preview(window(1), limit=10)]
    assert preview == [made[3].pk]
    assert services.waiting_for_window_by_class(window(1)) == [
        (str(Ticket(applicant_class="ESSENTIAL").get_applicant_class_display()), 1)
    ]
    assert _calls_until_empty(users["clerk"], window(1)) == preview
    assert services.queue_preview(window(1)) == []


def test_the_chosen_window_opens_the_console_after_the_next_login(
    users: dict[str, Any], window: Any
) -> None:
    clerk = users["clerk"]
    first = Client()
    first.force_login(clerk)
    chosen = first.post(f"{CONSOLE}choose/", {"window": window(4).pk})
    assert chosen.status_code == 302 and chosen["Location"].endswith(f"?window={window(4).pk}")
    clerk.refresh_from_db()
    assert clerk.last_window_id == window(4).pk

    again = Client()  # another browser, another session: only the account remembers
    again.force_login(clerk)
    page = again.get(CONSOLE)
    assert page.context["window"] == window(4)
    assert f'data-window="{window(4).pk}"' in page.content.decode()


def test_a_closed_window_cannot_be_chosen(users: dict[str, Any], window: Any) -> None:
    closed = window(6)
    assert not closed.is_open
    client = Client()
    client.force_login(users["clerk"])
    refused = client.post(f"{CONSOLE}choose/", {"window": closed.pk}, follow=True)
    assert refused.context["window"] is None
    assert users["clerk"].__class__.objects.get(pk=users["clerk"].pk).last_window_id is None
    page = client.get(f"{CONSOLE}?window={closed.pk}")
    assert page.context["window"] is None
    html = page.content.decode()
    assert f'data-testid="closed-window" data-window="{closed.pk}"' in html
    assert f'name="window" value="{closed.pk}"' not in html


def test_an_assigned_clerk_serves_only_at_their_windows_on_the_page_and_the_api(
    users: dict[str, Any], hall: Any, p01: Any, window: Any
) -> None:
    clerk = users["clerk"]
    services.walk_in(hall, p01)
    client = Client()
    client.force_login(clerk)
    called_at_3 = client.post(f"/api/v1/hall/windows/{window(3).pk}/call-next")
    assert called_at_3.status_code == 200
    clerk.windows.set([window(4)])

    page = client.get(CONSOLE)
    shown = [w.pk for w in page.context["windows"]]
    assert shown == [window(4).pk]
    assert client.post(f"{CONSOLE}choose/", {"window": window(3).pk}).status_code == 302
    clerk.refresh_from_db()
    assert clerk.last_window_id != window(3).pk
    refused_page = client.post(f"{CONSOLE}call/", {"window": window(3).pk}, **HX)
    assert refused_page.status_code == 302  # not one of theirs: choose a window first

    assert client.post(f"/api/v1/hall/windows/{window(3).pk}/call-next").status_code == 403
    ticket = called_at_3.json()["id"]
    assert client.post(f"/api/v1/hall/tickets/{ticket}/complete").status_code == 403
    assert client.get(f"/api/v1/hall/windows/{window(3).pk}/current").status_code == 403
    assert Ticket.objects.get(pk=ticket).status == TicketStatus.CALLED
    assert client.post(f"/api/v1/hall/windows/{window(4).pk}/call-next").status_code == 204

    clerk.windows.clear()  # none assigned: any window of the hall again
    assert client.post(f"/api/v1/hall/tickets/{ticket}/complete").status_code == 200


def test_console_actions_answer_htmx_with_the_live_panel(
    users: dict[str, Any], hall: Any, p01: Any, window: Any
) -> None:
    client = Client()
    client.force_login(users["clerk"])
    empty = client.post(f"{CONSOLE}call/", {"window": window(3).pk}, **HX)
    assert empty.status_code == 200
    assert empty.templates[0].name == "hallqueue/_console_live.html"
    assert 'data-testid="call-next"' in empty.content.decode()

    ticket = services.walk_in(hall, p01)
    called = client.post(f"{CONSOLE}call/", {"window": window(3).pk}, **HX).content.decode()
    assert f'data-testid="current-label">{ticket.label}<' in called
    assert 'data-testid="timer"' in called and 'data-testid="skip"' in called

    Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.DONE)
    gone = client.post(f"{CONSOLE}complete/", {"window": window(3).pk, "ticket": ticket.pk}, **HX)
    assert gone.status_code == 409
    assert 'data-level="error"' in gone.content.decode()

    # without JavaScript: a message and back to the console
    plain = client.post(f"{CONSOLE}call/", {"window": window(3).pk})
    assert plain.status_code == 302 and plain["Location"].endswith(f"?window={window(3).pk}")


def test_the_current_booking_is_shown_with_its_number_and_masked_personal_data(
    users: dict[str, Any], citizen: Any, hall: Any, p01: Any, window: Any
) -> None:
    now = timezone.now()
    slot = Slot.objects.create(
        service_point=hall,
        category=p01.category,
        starts_at=now - timedelta(minutes=25),
        ends_at=now + timedelta(minutes=35),
        capacity_minutes=100,
        capacity_people=5,
        priority_release_at=now - timedelta(hours=1),
    )
    Slot.objects.filter(pk=slot.pk).update(starts_at=now + timedelta(minutes=10))
    resident = make_id(778)
    made = booking.book(citizen, slot.pk, ["P01"], resident)
    Slot.objects.filter(pk=slot.pk).update(starts_at=now - timedelta(minutes=25))
    services.check_in_booking(hall, made.token)
    client = Client()
    client.force_login(users["clerk"])
    html = client.post(f"{CONSOLE}call/", {"window": window(3).pk}, **HX).content.decode()

    assert f'data-testid="booking-number">{made.spaced_number}<' in html
    assert resident not in html and citizen.mobile not in html
    assert f'data-testid="booking-id">{made.id_masked}<' in html and "*" in made.id_masked
    assert mask_mobile(citizen.mobile) in html
    assert "25" in html.split('data-testid="booking-arrival">')[1].split("<")[0]  # late
