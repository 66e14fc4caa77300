"""ISSUE 17 item 7 (c): a new or changed hall is bookable at once — its slots are made in
the background when it, a zone or a window is saved (not at the next daily run), and the
staff page of the service point has a button that makes them now, audited."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from trafficdesk.accounts.models import User
from trafficdesk.audit.models import AuditEntry
from trafficdesk.booking.models import Slot
from trafficdesk.booking.tasks import generate_point_slots_task
from trafficdesk.catalog.models import Business
from trafficdesk.core.vocabulary import ServicePointKind
from trafficdesk.regions.models import Region
from trafficdesk.sites import services
from trafficdesk.sites.models import ServicePoint, Window, Zone


def _run_enqueued(point_id: int) -> int:
    """Run the slot tasks enqueued for this point, as the worker would."""
    tasks = [
        t
        for t in DBTaskResult.objects.filter(task_path__endswith="generate_point_slots_task")
        if t.args_kwargs["args"] == [point_id]
    ]
    assert tasks, "saving the hall enqueued the making of its slots"
    return sum(generate_point_slots_task.call(*t.args_kwargs["args"]) for t in tasks)


def _listed(client: Client, point: str) -> list[Any]:
    answer = client.get("/api/v1/slots", {"point": point, "business": "P01"})
    assert answer.status_code == 200
    return list(answer.json())


def test_a_new_hall_is_bookable_without_waiting_for_the_daily_run(
    client: Client, demo: Any, django_capture_on_commit_callbacks: Any
) -> None:
    admin = User.objects.get(username="gz_admin")
    with django_capture_on_commit_callbacks(execute=True):
        point = services.save_service_point(
            admin,
            ServicePoint(
                code="GY-NEW-01",
                name_zh="新大厅",
                name_en="New hall",
                kind=ServicePointKind.choices[0][0],
                region=Region.objects.get(code="520115"),
                opens_at=time(9),
                closes_at=time(17),
            ),
        )
        zone = services.save_zone(
            admin, Zone(service_point=point, name_zh="一区", name_en="Zone 1", occupancy_cap=30)
        )
        services.save_window(
            admin,
            Window(service_point=point, zone=zone, number=1, is_open=True),
            [Business.objects.get(code="P01")],
        )
    assert _listed(client, "GY-NEW-01") == []  # nothing until the task runs (the worker)
    assert _run_enqueued(point.pk) > 0
    assert _listed(client, "GY-NEW-01")


def test_the_staff_page_makes_the_slots_now_audited(client: Client, demo: Any) -> None:
    manager = User.objects.get(username="manager")
    hall = ServicePoint.objects.get(code="GY-HALL-01")
    client.force_login(manager)
    page = client.get("/sites/mine/")
    assert b'data-testid="generate-slots"' in page.content
    answer = client.post("/booking/point/slots/", follow=True)
    assert answer.status_code == 200
    entry = AuditEntry.objects.filter(action="servicepoint.slots").order_by("-id").first()
    assert entry is not None and entry.actor == manager and entry.object_id == str(hall.pk)
    assert Slot.objects.filter(service_point=hall).exists()


@pytest.mark.parametrize("username", ["clerk"])
def test_staff_without_site_rights_have_no_button_and_are_refused(
    client: Client, demo: Any, username: str
) -> None:
    client.force_login(User.objects.get(username=username))
    assert b'data-testid="generate-slots"' not in client.get("/sites/mine/").content
    assert client.post("/booking/point/slots/").status_code == 403
    assert not AuditEntry.objects.filter(action="servicepoint.slots", outcome="ok").exists()
