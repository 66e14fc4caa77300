"""Lean reference endpoints for bench/hot_path_cost.py: the least a Django view can do for the
same work, measured in the same run under the same ASGI handler class with no middleware.

* `lean/book` — the session's user id (same session engine), the JSON body, then the
  booking transaction of services.book() in raw SQL: INSERT booking, INSERT item,
  conditional UPDATE of the slot, INSERT the SMS into the outbox, INSERT the event; a slot
  once found full is refused from memory.
* `lean/call-next/<window>` and `lean/complete/<ticket>` — one claiming UPDATE … SKIP LOCKED
  … RETURNING with the Call row and the board event in the same statement; complete as one
  conditional UPDATE and the zone's counter.
* `lean/open` — the county list in one query, rendered by a small template.

The product's URLs are included after them, so one URLconf serves both in the probe.
"""

from __future__ import annotations

import json
import secrets
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import engines
from django.urls import include, path

FULL: set[int] = set()


def _user_id(request: HttpRequest) -> int | None:
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not key:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore(key)
    value = store.get(SESSION_KEY)
    return int(value) if value is not None else None


class _Full(Exception):
    pass


def lean_book(request: HttpRequest) -> HttpResponse:
    user_id = _user_id(request)
    if user_id is None:
        return JsonResponse({"detail": "log in"}, status=401)
    body = json.loads(request.body)
    slot = int(body["slot"])
    if slot in FULL:
        return JsonResponse({"code": "slot.full"}, status=409)
    minutes, business = int(body["minutes"]), int(body["business_id"])
    digest = secrets.token_hex(32)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO booking_booking (token, number, holder_id, slot_id, id_digest,"
                " id_masked, applicant_class, minutes, general_minutes, status, created_at,"
                " updated_at, moves, cancel_reason, rush_request_id) VALUES (%s, %s, %s, %s, %s,"
                " %s, 'GENERAL', %s, %s, 'active', now(), now(), 0, '', NULL) RETURNING id",
                [secrets.token_urlsafe(32), secrets.token_urlsafe(6), user_id, slot, digest]
                + ["520115********0010"]
                + [minutes, minutes],
            )
            booking_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO booking_bookingitem (booking_id, business_id, id_digest, active)"
                " VALUES (%s, %s, %s, true)",
                [booking_id, business, digest],
            )
            cursor.execute(
                "UPDATE booking_slot SET booked_minutes = booked_minutes + %s,"
                " booked_people = booked_people + 1,"
                " booked_general_minutes = booked_general_minutes + %s"
                " WHERE id = %s AND rush_id IS NULL AND booked_minutes <= capacity_minutes - %s"
                " AND booked_people <= capacity_people - 1 AND (priority_release_at <= now()"
                " OR booked_general_minutes <= capacity_minutes - priority_reserved_minutes - %s)",
                [minutes, minutes, slot, minutes, minutes],
            )
            if cursor.rowcount != 1:
                raise _Full
            cursor.execute(
                "INSERT INTO notify_smsmessage (created_at, kind, recipient_masked, body, backend,"
                " status, error, recipient, text, claimed_at, claim, attempts, sent_at,"
                " next_attempt_at, provider, provider_message_id, delivery_status, delivered_at)"
                " VALUES (now(), 'booking.booked', '138****0000', 'booked', '', 'queued', '',"
                " '13800000000', 'booked', NULL, '', 0, NULL, NULL, '', '', '', NULL) RETURNING id"
            )
            notice = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO booking_bookingevent (booking_id, kind, at, detail, from_slot_id,"
                " notice_id) VALUES (%s, 'booked', now(), '', NULL, %s)",
                [booking_id, notice],
            )
    except _Full:
        FULL.add(slot)
        return JsonResponse({"code": "slot.full"}, status=409)
    return JsonResponse({"booking": booking_id}, status=201)


def lean_call_next(request: HttpRequest, window: int) -> HttpResponse:
    if _user_id(request) is None:
        return JsonResponse({"detail": "log in"}, status=401)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "WITH w AS (SELECT id, service_point_id, number FROM sites_window WHERE id = %s),"
            " t AS (UPDATE hallqueue_ticket SET status = 'called', window_id = %s,"
            " called_at = now() WHERE id = (SELECT t.id FROM hallqueue_ticket t, w"
            " WHERE t.service_point_id = w.service_point_id AND t.status = 'waiting'"
            " AND t.business_id IN (SELECT business_id FROM sites_window_businesses"
            " WHERE window_id = %s) ORDER BY t.on_time DESC, t.arrived_at, t.id LIMIT 1"
            " FOR UPDATE SKIP LOCKED) RETURNING id, prefix, number, service_point_id),"
            " c AS (INSERT INTO hallqueue_call (ticket_id, service_point_id, window_number,"
            " label, at) SELECT t.id, t.service_point_id, w.number,"
            " t.prefix || lpad(t.number::text, 3, '0'), now() FROM t, w RETURNING id, label)"
            " SELECT t.id, c.label, pg_notify('trafficdesk_lean', c.label) FROM t, c",
            [window, window, window],
        )
        row = cursor.fetchone()
    if row is None:
        return HttpResponse(status=204)
    return JsonResponse({"id": row[0], "label": row[1]})


def lean_complete(request: HttpRequest, ticket: int) -> HttpResponse:
    if _user_id(request) is None:
        return JsonResponse({"detail": "log in"}, status=401)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE hallqueue_ticket SET status = 'done', completed_at = now()"
            " WHERE id = %s AND status = 'called' RETURNING zone_id",
            [ticket],
        )
        row = cursor.fetchone()
        if row is None:
            return JsonResponse({"detail": "finished"}, status=409)
        cursor.execute(
            "UPDATE sites_zone SET present = present - 1 WHERE id = %s AND present > 0", [row[0]]
        )
    return JsonResponse({"id": ticket, "status": "done"})


_OPEN = engines["django"].from_string(
    "<!DOCTYPE html><html><body><form><select name=county>{% for code, name in counties %}"
    "<option value='{{ code }}'>{{ name }}</option>{% endfor %}</select></form></body></html>"
)


def lean_open(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code, name_zh FROM regions_region WHERE level = 'county' ORDER BY code"
        )
        counties: list[Any] = cursor.fetchall()
    return HttpResponse(_OPEN.render({"counties": counties}))


urlpatterns = [
    path("lean/book", lean_book),
    path("lean/call-next/<int:window>", lean_call_next),
    path("lean/complete/<int:ticket>", lean_complete),
    path("lean/open", lean_open),
    path("", include("trafficdesk.urls")),
]
