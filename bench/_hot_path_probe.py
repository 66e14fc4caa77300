"""The requests that bench/hot_path_cost.py counts, made in-process through the product's ASGI
application (trafficdesk.asgi: middleware, views, the sync-thread pool) and, beside each, a
lean reference endpoint through the same handler class with no middleware.

    python bench/_hot_path_probe.py SETUP.json OUT.json

Run under `valgrind --tool=callgrind --dump-before=ffi_call --dump-after=ffi_call`: every
measured batch runs inside one call of libc's bsearch made through ctypes (ffi_call), so
callgrind writes one profile part per batch, with every thread's instructions (the view runs
on a sync thread) and nothing else. Warm-up requests run before, outside ffi_call. Without
valgrind the same script still counts SQL statements and checks every answer.

OUT.json: {"order": [kind, ...] in the order of the dumps, "requests": {kind: n},
"statements": {kind: total}, "statuses": {kind: [status, ...]}}.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench._hot_path_settings")

import django  # noqa: E402

django.setup()

from django.db.backends.signals import connection_created  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from trafficdesk.asgi import TrafficDeskASGIHandler, application  # noqa: E402
from trafficdesk.core import live  # noqa: E402

WARM_UP = 3
BOOKINGS, CALLS, PAGES = 10, 8, 5
BOARDS, BOARD_EVENTS = 20, 5

# --- counting SQL statements on every connection, in every thread ---------------------------

STATEMENTS = [0]


#: Set HOT_PATH_SQL=<file> to write every statement there, by kind (to see what a path does).
SQL_LOG = os.environ.get("HOT_PATH_SQL")
LOGGED: list[str] = []


def _count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
    STATEMENTS[0] += 1
    if SQL_LOG:
        LOGGED.append(sql)
    return execute(sql, params, many, context)


def _wrap(sender: Any, connection: Any, **kwargs: Any) -> None:
    connection.execute_wrappers.append(_count)


connection_created.connect(_wrap)

# --- one measured batch: inside one ffi_call -----------------------------------------------------

_libc = ctypes.CDLL(ctypes.util.find_library("c"))
_CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_libc.bsearch.restype = ctypes.c_void_p
_libc.bsearch.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, _CMP]


def measured(work: Callable[[], None]) -> None:
    """Run `work` inside one call of a C function (callgrind dumps at its entry and exit)."""
    failure: list[BaseException] = []

    def compare(_a: Any, _b: Any) -> int:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - re-raised below, outside C
            failure.append(exc)
        return 0

    key, items = ctypes.c_int(0), (ctypes.c_int * 1)(0)
    callback = _CMP(compare)
    _libc.bsearch(ctypes.byref(key), items, 1, ctypes.sizeof(ctypes.c_int), callback)
    if failure:
        raise failure[0]


# --- an in-process ASGI client ----------------------------------------------------------------


class Answer:
    def __init__(self) -> None:
        self.status = 0
        self.body = b""
        self.chunks = 0


async def call(
    app: Any,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    cookies: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    answer: Answer | None = None,
) -> Answer:
    raw_path, _sep, query = path.partition("?")
    all_headers = {"host": "127.0.0.1:8000", **(headers or {})}
    if cookies:
        all_headers["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if body:
        all_headers["content-type"] = "application/json"
        all_headers["content-length"] = str(len(body))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in all_headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    result = answer or Answer()

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await asyncio.Event().wait()  # never disconnects
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            result.status = message["status"]
        elif message["type"] == "http.response.body":
            result.body += message.get("body", b"")
            result.chunks += 1

    await app(scope, receive, send)
    return result


def main(setup_path: str, out_path: str) -> None:
    setup = json.loads(Path(setup_path).read_text())
    with override_settings(MIDDLEWARE=[]):
        lean = TrafficDeskASGIHandler(1)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    csrf = "b" * 32
    sessions = iter(setup["sessions"])  # the lean reference's requests
    people = iter(zip(setup["sessions"], setup["id_numbers"], strict=True))  # each books once
    order: list[str] = []
    requests: dict[str, int] = {}
    statements: dict[str, int] = {}
    statuses: dict[str, list[int]] = {}

    def citizen() -> dict[str, str]:
        return {"sessionid": next(sessions), "csrftoken": csrf}

    clerk = {"sessionid": setup["clerk_session"], "csrftoken": csrf}
    post_headers = {"x-csrftoken": csrf}

    def book(slot: int) -> Answer:
        """A citizen books for themselves, with the ID number their account is bound to."""
        session, id_number = next(people)
        body = {"slot": slot, "businesses": [setup["business"]], "id_number": id_number}
        return loop.run_until_complete(
            call(
                application,
                "POST",
                "/api/v1/bookings",
                body=json.dumps(body).encode(),
                cookies={"sessionid": session, "csrftoken": csrf},
                headers=post_headers,
            )
        )

    def lean_book(slot: int) -> Answer:
        body = {"slot": slot, "minutes": setup["minutes"], "business_id": setup["business_id"]}
        return loop.run_until_complete(
            call(lean, "POST", "/lean/book", body=json.dumps(body).encode(), cookies=citizen())
        )

    def call_next_complete() -> list[Answer]:
        window = setup["window"]
        called = loop.run_until_complete(
            call(
                application,
                "POST",
                f"/api/v1/hall/windows/{window}/call-next",
                cookies=clerk,
                headers=post_headers,
            )
        )
        ticket = json.loads(called.body)["id"]
        done = loop.run_until_complete(
            call(
                application,
                "POST",
                f"/api/v1/hall/tickets/{ticket}/complete",
                cookies=clerk,
                headers=post_headers,
            )
        )
        return [called, done]

    def lean_call_next_complete() -> list[Answer]:
        called = loop.run_until_complete(
            call(lean, "POST", f"/lean/call-next/{setup['window']}", cookies=clerk)
        )
        ticket = json.loads(called.body)["id"]
        done = loop.run_until_complete(
            call(lean, "POST", f"/lean/complete/{ticket}", cookies=clerk)
        )
        return [called, done]

    open_path = f"/open/?county={setup['county']}&business={setup['business']}&class=GENERAL"

    def open_page() -> Answer:
        return loop.run_until_complete(call(application, "GET", open_path))

    def lean_open() -> Answer:
        return loop.run_until_complete(call(lean, "GET", "/lean/open"))

    only = set(filter(None, os.environ.get("HOT_PATH_ONLY", "").split(",")))

    def kind(name: str, once: Callable[[], Any], count: int) -> None:
        """Warm up, then `count` requests measured as one batch."""
        if only and name.removesuffix("_reference") not in only:
            return
        for _ in range(WARM_UP):
            once()
        answers: list[Any] = []
        before = STATEMENTS[0]

        def batch() -> None:
            for _ in range(count):
                answers.append(once())

        LOGGED.clear()
        if os.environ.get("HOT_PATH_PROFILE"):
            import yappi

            yappi.clear_stats()
            yappi.set_clock_type("cpu")
            yappi.start(profile_threads=True)
            batch()
            yappi.stop()
            yappi.get_func_stats().save(f"{os.environ['HOT_PATH_PROFILE']}.{name}", type="pstat")
        else:
            measured(batch)
        if SQL_LOG:
            with open(SQL_LOG, "a") as log:
                log.write(f"== {name}: {len(LOGGED) // count} per request\n")
                log.writelines(f"{q}\n" for q in LOGGED[: len(LOGGED) // count])
        order.append(name)
        requests[name] = count
        statements[name] = STATEMENTS[0] - before
        flat = [a for item in answers for a in (item if isinstance(item, list) else [item])]
        statuses[name] = sorted({a.status for a in flat})

    kind("booking_accepted", lambda: book(setup["roomy_slot"]), BOOKINGS)
    kind("booking_accepted_reference", lambda: lean_book(setup["roomy_lean_slot"]), BOOKINGS)
    kind("booking_refused_full", lambda: book(setup["full_slot"]), BOOKINGS)
    kind("booking_refused_full_reference", lambda: lean_book(setup["full_slot"]), BOOKINGS)
    kind("call_next_complete", call_next_complete, CALLS)
    kind("call_next_complete_reference", lean_call_next_complete, CALLS)
    kind("open_page", open_page, PAGES)
    kind("open_page_reference", lean_open, PAGES)
    if not only or "board_event" in only:
        board_events(loop, setup, order, requests, statements, statuses)
    Path(out_path).write_text(
        json.dumps(
            {"order": order, "requests": requests, "statements": statements, "statuses": statuses}
        )
    )


def board_events(
    loop: asyncio.AbstractEventLoop,
    setup: dict[str, Any],
    order: list[str],
    requests: dict[str, int],
    statements: dict[str, int],
    statuses: dict[str, list[int]],
) -> None:
    """BOARDS open board streams through the application; each event published to the hub
    reaches every one of them. Counted per board and event. The reference: as many bare tasks,
    each waiting on its own queue and sending a pre-encoded event."""
    from trafficdesk.sites.models import ServicePoint

    point = ServicePoint.objects.get(code=setup["point"])
    channel = live.hall_channel(point.pk)
    answers = [Answer() for _ in range(BOARDS)]
    tasks = [
        loop.create_task(call(application, "GET", f"/hall/{point.code}/board/events/", answer=a))
        for a in answers
    ]

    async def settle(target: int) -> None:
        while any(a.chunks < target for a in answers):
            await asyncio.sleep(0)

    loop.run_until_complete(asyncio.wait_for(settle(1), 30))  # each has its retry line
    hub = loop.run_until_complete(live.hub())
    serial = iter(range(10**9, 2 * 10**9))

    def event() -> live.Event:
        number = next(serial)
        data = {"call": number, "label": "A001", "window": 3, "at": "09:00:00"}
        data["speech"] = "请 A001 号到 3 号窗口办理"
        return live.Event(number, channel, "call", data)

    def deliver(events: int) -> None:
        target = answers[0].chunks + events
        for _ in range(events):
            hub.dispatch(event())
            loop.run_until_complete(asyncio.sleep(0))
        loop.run_until_complete(asyncio.wait_for(settle(target), 30))

    deliver(WARM_UP)
    before = STATEMENTS[0]
    measured(lambda: deliver(BOARD_EVENTS))
    order.append("board_event")
    requests["board_event"] = BOARDS * BOARD_EVENTS
    statements["board_event"] = STATEMENTS[0] - before
    statuses["board_event"] = sorted({a.status for a in answers})

    queues: list[asyncio.Queue[bytes]] = [asyncio.Queue() for _ in range(BOARDS)]
    sent = [0] * BOARDS

    async def bare(index: int) -> None:
        while True:
            chunk = await queues[index].get()
            await _discard({"type": "http.response.body", "body": chunk, "more_body": True})
            sent[index] += 1

    bare_tasks = [loop.create_task(bare(i)) for i in range(BOARDS)]

    def deliver_bare(events: int) -> None:
        target = sent[0] + events
        for _ in range(events):
            payload = event().as_sse().encode()
            for queue in queues:
                queue.put_nowait(payload)
            loop.run_until_complete(asyncio.sleep(0))

        async def done() -> None:
            while any(s < target for s in sent):
                await asyncio.sleep(0)

        loop.run_until_complete(done())

    deliver_bare(WARM_UP)
    measured(lambda: deliver_bare(BOARD_EVENTS))
    order.append("board_event_reference")
    requests["board_event_reference"] = BOARDS * BOARD_EVENTS
    statements["board_event_reference"] = 0
    statuses["board_event_reference"] = [200]
    for task in tasks + bare_tasks:
        task.cancel()


async def _discard(message: dict[str, Any]) -> None:
    return None


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
