"""The hall manager's page without JavaScript (plain forms), and its read in few statements."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from trafficdesk.accounts.models import User
from trafficdesk.catalog.models import Business
from trafficdesk.hallqueue import services as hall
from trafficdesk.sites.models import ServicePoint, Window

HALL = "GY-HALL-01"
CLERK_WINDOW = 3


def serving_window() -> tuple[Window, Any]:
    point = ServicePoint.objects.get(code=HALL)
    business = Business.objects.select_related("category").get(code="P01")
    ticket = hall.walk_in(point, business)
    window = Window.objects.get(service_point=point, number=CLERK_WINDOW)
    called = hall.call_next(User.objects.get(username="clerk"), window)
    assert called is not None and called.pk == ticket.pk
    return window, called


def test_closing_a_serving_window_by_plain_form_asks_first(client: Client, demo: Any) -> None:
    window, called = serving_window()
    client.force_login(User.objects.get(username="manager"))
    url = reverse("hallqueue:manager", args=[HALL])

    asked = client.post(url, {"window": window.pk, "open": "0"})
    assert asked.status_code == 200
    html = asked.content.decode()
    assert 'data-testid="confirm-close"' in html and called.label in html
    window.refresh_from_db()
    assert window.is_open

    done = client.post(url, {"window": window.pk, "open": "0", "confirmed": "1"})
    assert done.status_code == 302
    window.refresh_from_db()
    assert not window.is_open
    page = client.get(url).content.decode()
    assert "3 号窗口已关闭" in page


def test_the_notice_is_refused_over_200_characters(client: Client, demo: Any) -> None:
    client.force_login(User.objects.get(username="manager"))
    url = reverse("hallqueue:manager", args=[HALL])
    refused = client.post(url, {"do": "notice", "notice": "通" * 201}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 422 and "200" in refused.content.decode()
    assert ServicePoint.objects.get(code=HALL).board_notice != "通" * 201
    saved = client.post(url, {"do": "notice", "notice": "通" * 200}, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200
    assert ServicePoint.objects.get(code=HALL).board_notice == "通" * 200


def test_a_regional_administrator_watches_without_buttons(client: Client, demo: Any) -> None:
    client.force_login(User.objects.get(username="gz_admin"))
    page = client.get(reverse("hallqueue:manager", args=[HALL]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="window-status"' in html and 'data-testid="window-toggle"' not in html
    assert 'data-testid="board-notice"' not in html


def test_the_overview_reads_in_a_few_statements(
    demo: Any, django_assert_max_num_queries: Any
) -> None:
    serving_window()
    point = ServicePoint.objects.get(code=HALL)
    with django_assert_max_num_queries(7):
        overview = hall.window_overview(point)
        rows = [
            (r.window.number, r.serving, r.idle_minutes, len(r.businesses))
            for r in overview.windows
        ]
        _zones = [(z.percent, z.full) for z in overview.zones]
    assert len(rows) == Window.objects.filter(service_point=point).count()
    serving = {number: ticket for number, ticket, _idle, _n in rows if ticket is not None}
    assert list(serving) == [CLERK_WINDOW]


def test_idle_time_reads_in_hours_and_minutes() -> None:
    now = datetime(2026, 12, 2, 13, 21)
    row = hall.WindowRow(
        window=Window(number=1),
        businesses=[],
        serving=None,
        idle_since=now - timedelta(minutes=261),
        now=now,
    )
    assert row.idle_minutes == 261
    assert row.idle_hours_and_minutes == (4, 21)
    busy = hall.WindowRow(
        window=Window(number=2), businesses=[], serving=None, idle_since=None, now=now
    )
    assert busy.idle_hours_and_minutes is None


def test_before_opening_time_an_idle_window_has_no_idle_time_yet(demo: Any) -> None:
    """Idle since the hall opened today: before that moment (just after midnight) there is
    nothing to count from, and the row says "—" rather than a negative or yesterday's time."""
    point = ServicePoint.objects.get(code=HALL)
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    early = timezone.make_aware(datetime.combine(today, point.opens_at), tz) - timedelta(hours=1)
    late = timezone.make_aware(datetime.combine(today, point.opens_at), tz) + timedelta(hours=2)
    before = {r.window.number: r for r in hall.window_overview(point, now=early).windows}
    after = {r.window.number: r for r in hall.window_overview(point, now=late).windows}
    untouched = [
        number
        for number, r in after.items()
        if r.window.is_open and r.serving is None and r.idle_since is not None
    ]
    assert untouched, "no open, idle window in the demo hall"
    for number in untouched:
        assert before[number].idle_minutes is None
        assert after[number].idle_minutes == 120
