"""Live streams against the production server (gunicorn + uvicorn workers, its own process)
on the database of the current pass: the SQLite poll in the first, PostgreSQL LISTEN/NOTIFY
in the second, and Redis pub/sub when it runs here (a failure under CI=true when it does not).

* A call reaches an open board once, when it commits; a rolled-back one never does; another
  hall's calls do not; a board that reconnects with Last-Event-ID gets what it missed.
* Open streams hold no thread and no database connection: with far more boards open than
  the server has threads, a plain page still answers, and the worker's thread count and the
  database's connection count do not grow with the number of boards.
* The staff stream of a hall answers only staff of that hall."""

from __future__ import annotations

import http.client
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction

from tests.real_server import (
    OPEN,
    WAIT_S,
    EventReader,
    free_port,
    session_for,
    start_server,
    stop,
    thread_count,
    worker_pids,
)
from trafficdesk.accounts.access import SYSTEM
from trafficdesk.accounts.models import User
from trafficdesk.catalog.models import Business
from trafficdesk.hallqueue import services as hall
from trafficdesk.sites.models import ServicePoint, Window

HALL, OTHER_HALL = "GY-HALL-01", "GY-BR-HX"
BOARDS = 60  # far more than the server's threads (2 workers x 4)
WARM_UP = 10
# What may appear once per server whatever the number of streams: per worker, its sync threads'
# connections and the listener's (2 x (4 + 1)). A thread or connection per stream would be 60.
FIXED_PER_SERVER = 10


def _redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


BACKENDS = ["database", "redis"]


class Server:
    def __init__(self, port: int, proc: Any) -> None:
        self.port = port
        self.proc = proc


@pytest.fixture(params=BACKENDS)
def server(
    request: pytest.FixtureRequest, transactional_db: Any, demo: Any, settings: Any
) -> Iterator[Server]:
    """The production server; `database` is the pass's own listener (poll on SQLite,
    LISTEN on PostgreSQL), `redis` the pub/sub one (this process publishes there too)."""
    extra: dict[str, str] = {}
    if request.param == "redis":
        if not _redis_available():
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail("Redis is not running at 127.0.0.1:6379")
            pytest.skip("skipped: Redis is not running at 127.0.0.1:6379")
        extra = {"REDIS_URL": "redis://127.0.0.1:6379/15", "LIVE_BACKEND": "redis"}
        settings.REDIS_URL = extra["REDIS_URL"]
        settings.LIVE_BACKEND = "redis"
    port = free_port()
    proc = start_server(port, LIVE_POLL_MS="100", **extra)
    yield Server(port, proc)
    while OPEN:
        OPEN.pop().close()
    stop(proc)


def open_board(server: Server, point: ServicePoint, **headers: str) -> EventReader:
    reader = EventReader(server.port, f"/hall/{point.code}/board/events/", headers)
    assert reader.response.status == 200
    assert reader.response.getheader("Content-Type", "").startswith("text/event-stream")
    assert reader.opened.wait(WAIT_S), "the stream did not start"
    return reader


def serving_window(point: ServicePoint) -> tuple[Window, Business]:
    """An open window of the hall and a business it serves to general applicants."""
    for window in Window.objects.filter(service_point=point, is_open=True).order_by("number"):
        for business in window.businesses.select_related("category").order_by("code"):
            ticket = hall.walk_in(point, business)
            called = hall.call_next(SYSTEM, window)
            if called is not None and called.pk == ticket.pk:
                hall.complete(SYSTEM, called)
                return window, business
            if called is not None:
                hall.complete(SYSTEM, called)
    raise AssertionError("no window of the demo hall serves a walk-in")


def calls_on(reader: EventReader, count: int = 0) -> list[dict[str, str]]:
    """The call events a board's stream has brought (it also brings "queue" and "board"
    events, for the board's panels), waiting up to WAIT_S for `count` of them."""
    deadline = time.monotonic() + WAIT_S
    while True:
        calls = [e for e in reader.events if e["event"] == "call"]
        if len(calls) >= count or time.monotonic() > deadline:
            return calls
        time.sleep(0.02)


def call_one(point: ServicePoint, window: Window, business: Business) -> Any:
    hall.walk_in(point, business)
    called = hall.call_next(SYSTEM, window)
    assert called is not None
    return called


def test_a_call_reaches_the_board_once_at_commit_never_on_rollback_and_after_reconnecting(
    server: Server,
) -> None:
    point = ServicePoint.objects.get(code=HALL)
    other = ServicePoint.objects.get(code=OTHER_HALL)
    window, business = serving_window(point)
    board = open_board(server, point)
    other_board = open_board(server, other)

    with transaction.atomic():
        called = call_one(point, window, business)
        time.sleep(0.5)
        assert board.events == [], "an uncommitted call reached the board"
    events = calls_on(board, 1)
    assert [e["event"] for e in events] == ["call"]
    assert f'"label":"{called.label}"' in events[0]["data"]

    try:
        with transaction.atomic():
            call_one(point, window, business)
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    hall.complete(SYSTEM, called)
    second = call_one(point, window, business)
    events = calls_on(board, 2)
    labels = [e["data"] for e in events]
    assert len(events) == 2 and f'"label":"{second.label}"' in labels[1], labels
    time.sleep(0.3)
    assert len(calls_on(board)) == 2, "a rolled-back call or a duplicate reached the board"
    assert other_board.events == [], "another hall's call reached this board"

    # A board that was away comes back with its Last-Event-ID and gets what it missed.
    seen = events[0]["id"]
    board.close()
    hall.complete(SYSTEM, second)
    missed = call_one(point, window, business)
    back = open_board(server, point, **{"Last-Event-ID": seen})
    replayed = calls_on(back, 2)
    assert [e["id"] for e in replayed[:1]] == [events[1]["id"]]
    assert len(replayed) == 2 and f'"label":"{missed.label}"' in replayed[1]["data"]


def test_open_boards_hold_no_thread_and_no_connection(server: Server) -> None:
    point = ServicePoint.objects.get(code=HALL)
    window, business = serving_window(point)
    pids = worker_pids(server.proc)
    warm = [open_board(server, point) for _ in range(WARM_UP)]  # every worker starts its listener
    time.sleep(0.5)
    threads_before = sum(thread_count(pid) for pid in pids)
    connections_before = database_connections()

    boards = [open_board(server, point) for _ in range(BOARDS)]
    # A plain page answers while all of them are open.
    page = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT_S)
    page.request("GET", "/")
    assert page.getresponse().status == 200

    threads = sum(thread_count(pid) for pid in pids)
    assert threads - threads_before <= FIXED_PER_SERVER, (threads_before, threads)
    if connections_before is not None:
        connections = database_connections()
        assert connections is not None
        assert connections - connections_before <= FIXED_PER_SERVER, (
            connections_before,
            connections,
        )

    called = call_one(point, window, business)
    for board in boards + warm:
        events = calls_on(board, 1)
        assert len(events) == 1 and f'"label":"{called.label}"' in events[0]["data"]
        board.close()


@pytest.mark.parametrize("server", ["database"], indirect=True)
def test_the_staff_stream_answers_staff_of_that_hall_only(server: Server) -> None:
    point = ServicePoint.objects.get(code=HALL)
    path = f"/hall/{point.code}/events/"
    anonymous = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT_S)
    anonymous.request("GET", path)
    answer = anonymous.getresponse()
    assert answer.status == 302 and "login" in (answer.getheader("Location") or "")

    clerk = User.objects.get(username="clerk")
    assert clerk.service_point_id == point.pk
    other = ServicePoint.objects.select_related("region").get(code=OTHER_HALL)
    other_clerk = User.objects.create(
        username="clerk-elsewhere", role="clerk", region=other.region, service_point=other
    )
    for user, status in ((clerk, 200), (other_clerk, 403)):
        session, _csrf = session_for(user)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT_S)
        conn.request("GET", path, headers={"Cookie": f"sessionid={session}"})
        answer = conn.getresponse()
        assert answer.status == status, (user.username, answer.status)
        conn.close()


# --- helpers ------------------------------------------------------------------------------------


def database_connections() -> int | None:
    """Connections to the test database (PostgreSQL), or None on SQLite (no server)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return int(cursor.fetchone()[0])
