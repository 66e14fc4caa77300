"""Data for bench/call_next.py, run as a subprocess with the server's environment, after
`manage.py load_demo`.

    python bench/_call_next_setup.py OUT.json WINDOWS TICKETS

Creates one big hall, GY-BENCH-CALL, in 520115 (Guanshanhu, LOW risk, phase 3 — the county
of GY-HALL-01, with the same facts as that hall) holding one zone and WINDOWS open normal
windows that serve P01; TICKETS waiting P01 tickets (created directly: status "waiting",
numbered A1..A<TICKETS> today, arrivals spread over the last four hours, the zone's
`present` equal to their count and its cap as large); and one clerk per window (role
clerk, region 520115, service point GY-BENCH-CALL) with a logged-in session — a
SessionStore holding the auth keys, exactly what django.contrib.auth.login stores. One
extra window (number WINDOWS + 1, serving P02, nobody waiting) is for warming up.
Checks that the policy lets a normal window serve GENERAL P01 there. Writes what the
benchmark needs.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trafficdesk.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from trafficdesk.accounts.models import Role, User  # noqa: E402
from trafficdesk.catalog.models import Business  # noqa: E402
from trafficdesk.core.vocabulary import WindowKind  # noqa: E402
from trafficdesk.hallqueue import services  # noqa: E402
from trafficdesk.hallqueue.models import Ticket, TicketCounter, TicketStatus  # noqa: E402
from trafficdesk.policy import services as policy  # noqa: E402
from trafficdesk.regions.models import Region  # noqa: E402
from trafficdesk.sites.models import ServicePoint, Window, Zone  # noqa: E402

TEMPLATE_POINT, POINT, COUNTY, BUSINESS = "GY-HALL-01", "GY-BENCH-CALL", "520115", "P01"
WARM_BUSINESS = "P02"
ARRIVALS_OVER = timedelta(hours=4)


def hall(
    windows: int, tickets: int, business: Business
) -> tuple[ServicePoint, Zone, list[int], int]:
    template = ServicePoint.objects.get(code=TEMPLATE_POINT)
    point = ServicePoint.objects.create(
        code=POINT,
        name_zh="压测大厅（叫号）",
        name_en="Benchmark hall (call-next)",
        kind=template.kind,
        region=Region.objects.get(code=COUNTY),
        address=template.address,
        ppe_complete=template.ppe_complete,
        service_area_m2=template.service_area_m2,
        diversion_ease=template.diversion_ease,
        designated_emergency=template.designated_emergency,
        opens_at=template.opens_at,
        closes_at=template.closes_at,
    )
    # The cap is set directly: the admin form's validator stops at 10,000.
    zone = Zone.objects.create(
        service_point=point,
        name_zh="等候区",
        name_en="Waiting area",
        occupancy_cap=max(tickets, 1),
        present=tickets,
    )
    created = Window.objects.bulk_create(
        [
            Window(service_point=point, zone=zone, number=n, kind=WindowKind.NORMAL, is_open=True)
            for n in range(1, windows + 1)
        ]
    )
    Window.businesses.through.objects.bulk_create(
        [Window.businesses.through(window_id=w.pk, business_id=business.pk) for w in created]
    )
    # One more window, for warming the server up: it serves P02, for which nobody waits, so
    # its call-next runs the whole path (auth, CSRF, policy caches) and answers 204.
    warm = Window.objects.create(
        service_point=point, zone=zone, number=windows + 1, kind=WindowKind.NORMAL, is_open=True
    )
    warm.businesses.set([Business.objects.get(code=WARM_BUSINESS)])
    return point, zone, [w.pk for w in created], warm.pk


def waiting_tickets(point: ServicePoint, zone: Zone, business: Business, count: int) -> str:
    now = timezone.now()
    day = timezone.localdate(now)
    prefix = services.PREFIX_BY_CATEGORY.get(business.category.code, "Z")
    step = ARRIVALS_OVER / max(count, 1)
    rows = []
    for i in range(count):
        arrived = now - ARRIVALS_OVER + step * i
        rows.append(
            Ticket(
                service_point=point,
                zone=zone,
                business=business,
                day=day,
                prefix=prefix,
                number=i + 1,
                applicant_class="GENERAL",
                on_time=i % 3 != 0,  # two thirds booked and on time, one third walk-ins
                status=TicketStatus.WAITING,
                arrived_at=arrived,
                admitted_at=arrived,
            )
        )
    Ticket.objects.bulk_create(rows, batch_size=5000)
    TicketCounter.objects.create(service_point=point, day=day, prefix=prefix, last=count)
    return prefix


def clerks(point: ServicePoint, count: int) -> list[str]:
    """CLERKS with an unusable password (create_staff_user would hash 100 passwords)."""
    users = User.objects.bulk_create(
        [
            User(
                username=f"bench-clerk-{i:03d}",
                role=Role.CLERK,
                region=point.region,
                service_point=point,
                password="!bench-unusable",  # noqa: S106 - an unusable hash
            )
            for i in range(count)
        ]
    )
    group = Group.objects.filter(name=f"role:{Role.CLERK}").first()
    if group is not None:
        User.groups.through.objects.bulk_create(
            [User.groups.through(user_id=u.pk, group_id=group.pk) for u in users]
        )
    keys = []
    for user in users:
        session = import_module(settings.SESSION_ENGINE).SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.SESSION_AUTH_BACKEND
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return keys


def main(out: str, windows: int, tickets: int) -> None:
    business = Business.objects.select_related("category").get(code=BUSINESS)
    with transaction.atomic():
        point, zone, window_ids, warm_window = hall(windows, tickets, business)
        prefix = waiting_tickets(point, zone, business, tickets)
        keys = clerks(point, windows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE hallqueue_ticket")
    decision = policy.decide_for(point, business, "GENERAL")
    if not decision.open or WindowKind.NORMAL not in decision.window_kinds:
        raise RuntimeError(
            f"{BUSINESS} at {POINT} may not be served at a normal window for GENERAL: "
            f"open={decision.open} kinds={decision.window_kinds} "
            f"{[r.en for r in decision.reasons]}"
        )
    Path(out).write_text(
        json.dumps(
            {
                "point": POINT,
                "point_id": point.pk,
                "zone_id": zone.pk,
                "business": BUSINESS,
                "prefix": prefix,
                "windows": window_ids,
                "warm_window": warm_window,
                "sessions": keys,
                "risk_level": decision.risk_level,
                "phase": decision.effective_phase,
                "window_kinds": list(decision.window_kinds),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
