"""Load generator for bench/call_next.py, run in its own process.

    python bench/_call_next_load.py CONFIG.json RESULT.json

One asyncio coroutine per window (the HTTP client of bench/_rush_load.py: standard library
only, keep-alive when the server allows it), each logged in as its own clerk. Each loops:
POST /api/v1/hall/windows/{id}/call-next; on 200 (when `complete` is set) POST
/api/v1/hall/tickets/{ticket}/complete. A window stops at its first 204 (nobody waits),
at the deadline (requests in flight finish), or after 20 failures in a row.
Latencies are kept apart for call-next and complete, from send to the last byte.
Every ticket id answered with 200 is returned, per window, for the duplicate check.
Afterwards, with `serial_calls` set, the first window alone makes that many call-next
requests one after another (latency without queueing; its ticket ids are returned too).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._rush_load import percentile, read_response  # noqa: E402

MAX_FAILURES_IN_A_ROW = 20


class Stats:
    def __init__(self) -> None:
        self.call_status: Counter[int] = Counter()
        self.complete_status: Counter[int] = Counter()
        self.codes: Counter[str] = Counter()
        self.call_ms: list[float] = []
        self.call_ok_ms: list[float] = []
        self.complete_ms: list[float] = []
        self.called: dict[int, list[int]] = {}  # window id -> ticket ids, in order
        self.call_times: list[float] = []  # seconds since start at each 200
        self.errors: Counter[str] = Counter()
        self.samples: list[str] = []
        self.connects = 0
        self.stopped: Counter[str] = Counter()


class Connection:
    def __init__(self, port: int, stats: Stats) -> None:
        self.port, self.stats = port, stats
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, message: bytes, timeout: float) -> tuple[int, dict[str, str], bytes]:
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
                self.stats.connects += 1
            self.writer.write(message)
            await self.writer.drain()
            assert self.reader is not None
            answer = await asyncio.wait_for(read_response(self.reader), timeout)
        except BaseException:
            self.close()
            raise
        if answer[1].get("connection", "").lower() == "close":
            self.close()
        return answer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def request(cfg: dict[str, Any], n: int, path: str) -> bytes:
    session, csrf, port = cfg["sessions"][n], cfg["csrf"], cfg["port"]
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Accept: application/json\r\nContent-Length: 0\r\n"
        f"Cookie: sessionid={session}; csrftoken={csrf}\r\nX-CSRFToken: {csrf}\r\n"
        "Connection: keep-alive\r\n\r\n"
    ).encode()


def note(stats: Stats, text: str) -> None:
    if len(stats.samples) < 8:
        stats.samples.append(text[:300])


async def window_client(
    n: int,
    cfg: dict[str, Any],
    start: float,
    deadline: float,
    stats: Stats,
    limit: int | None = None,
) -> None:
    window = cfg["windows"][n]
    call = request(cfg, n, f"/api/v1/hall/windows/{window}/call-next")
    conn = Connection(cfg["port"], stats)
    called = stats.called.setdefault(window, [])
    failures = 0
    while True:
        if time.monotonic() >= deadline:
            stats.stopped["deadline"] += 1
            break
        if failures >= MAX_FAILURES_IN_A_ROW:
            stats.stopped["failures"] += 1
            break
        if limit is not None and len(stats.call_ms) >= limit:
            stats.stopped["limit"] += 1
            break
        t0 = time.perf_counter()
        try:
            status, _headers, payload = await conn.post(call, cfg["timeout_s"])
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            stats.errors[f"call:{type(exc).__name__}"] += 1
            note(stats, f"call transport: {type(exc).__name__}: {exc}")
            failures += 1
            continue
        elapsed = (time.perf_counter() - t0) * 1000
        stats.call_ms.append(elapsed)
        stats.call_status[status] += 1
        if status == 204:
            stats.stopped["nobody_waiting"] += 1
            break
        if status != 200:
            failures += 1
            try:
                stats.codes[f"call:{status}:{json.loads(payload).get('code')}"] += 1
            except (ValueError, AttributeError):
                stats.codes[f"call:{status}:?"] += 1
            note(stats, f"call {status}: {payload[:240]!r}")
            continue
        failures = 0
        stats.call_ok_ms.append(elapsed)
        stats.call_times.append(time.perf_counter() - start)
        try:
            ticket = int(json.loads(payload)["id"])
        except (ValueError, KeyError, TypeError):
            stats.errors["call:bad_body"] += 1
            note(stats, f"call 200 without an id: {payload[:240]!r}")
            continue
        called.append(ticket)
        if not cfg["complete"]:
            continue
        finish = request(cfg, n, f"/api/v1/hall/tickets/{ticket}/complete")
        t0 = time.perf_counter()
        try:
            status, _headers, payload = await conn.post(finish, cfg["timeout_s"])
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            stats.errors[f"complete:{type(exc).__name__}"] += 1
            note(stats, f"complete transport: {type(exc).__name__}: {exc}")
            continue
        stats.complete_ms.append((time.perf_counter() - t0) * 1000)
        stats.complete_status[status] += 1
        if status != 200:
            try:
                stats.codes[f"complete:{status}:{json.loads(payload).get('code')}"] += 1
            except (ValueError, AttributeError):
                stats.codes[f"complete:{status}:?"] += 1
            note(stats, f"complete {status}: {payload[:240]!r}")
    conn.close()


def summary(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "p50_ms": percentile(ordered, 50),
        "p90_ms": percentile(ordered, 90),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1] if ordered else None,
    }


async def main(cfg: dict[str, Any]) -> dict[str, Any]:
    stats = Stats()
    start = time.perf_counter()
    deadline = time.monotonic() + cfg["deadline_s"]
    await asyncio.gather(
        *(window_client(n, cfg, start, deadline, stats) for n in range(len(cfg["windows"])))
    )
    elapsed = time.perf_counter() - start
    # Then one window alone, SERIAL call-next requests (with complete, if set): the service
    # time of one request when nothing else runs, i.e. latency without queueing.
    alone = Stats()
    if cfg.get("serial_calls"):
        await window_client(
            0, cfg, time.perf_counter(), time.monotonic() + 30, alone, cfg["serial_calls"]
        )
        for window, tickets in alone.called.items():
            stats.called.setdefault(window, []).extend(tickets)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "seconds": elapsed,
        "call_status": {str(k): v for k, v in sorted(stats.call_status.items())},
        "complete_status": {str(k): v for k, v in sorted(stats.complete_status.items())},
        "codes": dict(sorted(stats.codes.items())),
        "transport_errors": dict(stats.errors),
        "samples": stats.samples,
        "connects": stats.connects,
        "stopped": dict(stats.stopped),
        "call": summary(stats.call_ms),
        "call_200": summary(stats.call_ok_ms),
        "complete": summary(stats.complete_ms),
        "call_times": sorted(stats.call_times),
        "called": {str(k): v for k, v in stats.called.items()},
        "serial": {
            "call_status": {str(k): v for k, v in sorted(alone.call_status.items())},
            "complete_status": {str(k): v for k, v in sorted(alone.complete_status.items())},
            "transport_errors": dict(alone.errors),
            "call": summary(alone.call_ms),
            "complete": summary(alone.complete_ms),
        },
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
    }


if __name__ == "__main__":
    config = json.loads(Path(sys.argv[1]).read_text())
    Path(sys.argv[2]).write_text(json.dumps(asyncio.run(main(config))))
