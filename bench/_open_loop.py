"""Open-loop load for bench/booking_rush.py and bench/call_next.py, run in its own process.

    python bench/_open_loop.py CONFIG.json RESULT.json

Requests are sent at a fixed offered rate, whatever the answers: request i of a step is due
at start + i / rate, and its latency counts from that moment (so time spent waiting for a
free connection on the client side is counted, not hidden: no coordinated omission). Each
request takes an idle keep-alive connection or opens a new one (at most MAX_CONNECTIONS).
Steps run from the lowest rate up; after a step whose p99 is above STOP_ABOVE_MS the higher
rates are not tried (they can only be worse) and are reported as not run.

CONFIG: {"port", "rates": [per second], "seconds": per step, "kind": "booking" | "call_next",
 ...the kind's own fields}. booking: "sessions", "csrf", "business", "hot", "cold",
 "hot_share", "id_offset". call_next: "windows": [[window_id, session], ...], "csrf"; a due
 event is a call-next at the next window, then (not timed) the complete of what it called.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._rush_load import percentile, read_response, resident_id  # noqa: E402

MAX_CONNECTIONS = 1000
#: Idle connections older than this are closed, not reused: the server closes keep-alive
#: connections idle for its keepalive (gunicorn's default, 2 s), and a request written into
#: one it is closing would be lost in transit (a client-side artefact, not a server error).
IDLE_REUSE_S = 1.0
STOP_ABOVE_MS = 2000.0
TIMEOUT_S = 30.0


class Connections:
    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.open = 0
        self.opened = 0
        self.free = asyncio.Condition()

    async def take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with self.free:
            while True:
                now = time.perf_counter()
                while self.idle and now - self.idle[-1][2] > IDLE_REUSE_S:
                    self.idle.pop()[1].close()
                    self.open -= 1
                if self.idle:
                    reader, writer, _since = self.idle.pop()
                    return reader, writer
                if self.open < MAX_CONNECTIONS:
                    break
                await self.free.wait()
            self.open += 1
        self.opened += 1
        try:
            return await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            await self.lost()
            raise

    async def give_back(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        async with self.free:
            self.idle.append((conn[0], conn[1], time.perf_counter()))
            self.free.notify()

    async def lost(self) -> None:
        async with self.free:
            self.open -= 1
            self.free.notify()


def post(port: int, path: str, cookie: str, csrf: str, body: bytes = b"") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\nAccept: application/json\r\n"
        f"Cookie: sessionid={cookie}; csrftoken={csrf}\r\nX-CSRFToken: {csrf}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    ).encode() + body


async def exchange(pool: Connections, message: bytes) -> tuple[int, dict[str, str], bytes]:
    conn = await pool.take()
    try:
        conn[1].write(message)
        await conn[1].drain()
        status, headers, body = await asyncio.wait_for(read_response(conn[0]), TIMEOUT_S)
    except BaseException:
        conn[1].close()
        await pool.lost()
        raise
    if headers.get("connection", "").lower() == "close":
        conn[1].close()
        await pool.lost()
    else:
        await pool.give_back(conn)
    return status, headers, body


class Booking:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.get("seed", 7))
        self.serial = cfg["id_offset"]

    async def once(self, pool: Connections, n: int) -> int:
        cfg = self.cfg
        hot = self.rng.random() < cfg["hot_share"]
        lo, hi = cfg["hot"] if hot else cfg["cold"]
        self.serial += 1
        body = json.dumps(
            {
                "slot": self.rng.randint(lo, hi),
                "businesses": [cfg["business"]],
                "id_number": resident_id(self.serial),
                "applicant_class": "GENERAL",
            }
        ).encode()
        # ID number i is booked by citizen i % len(sessions) (bench/_rush_setup.py).
        session = cfg["sessions"][self.serial % len(cfg["sessions"])]
        status, _h, _b = await exchange(
            pool, post(pool.port, "/api/v1/bookings", session, cfg["csrf"], body)
        )
        return status

    async def after(self, pool: Connections, n: int) -> None:
        return None


class CallNext:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.called: dict[int, int] = {}
        #: every ticket answered, by window: the benchmark checks them against the database
        self.answered: dict[str, list[int]] = {}

    async def once(self, pool: Connections, n: int) -> int:
        window, session = self.cfg["windows"][n % len(self.cfg["windows"])]
        status, _h, body = await exchange(
            pool,
            post(pool.port, f"/api/v1/hall/windows/{window}/call-next", session, self.cfg["csrf"]),
        )
        if status == 200:
            self.called[n] = json.loads(body)["id"]
            self.answered.setdefault(str(window), []).append(self.called[n])
        return status

    async def after(self, pool: Connections, n: int) -> None:
        ticket = self.called.pop(n, None)
        if ticket is None:
            return
        _window, session = self.cfg["windows"][n % len(self.cfg["windows"])]
        await exchange(
            pool,
            post(pool.port, f"/api/v1/hall/tickets/{ticket}/complete", session, self.cfg["csrf"]),
        )


async def step(kind: Any, port: int, rate: float, seconds: float, first: int) -> dict[str, Any]:
    pool = Connections(port)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    count = int(rate * seconds)
    start = time.perf_counter() + 0.05

    async def one(i: int) -> None:
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            status = await kind.once(pool, first + i)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            errors[type(exc).__name__] += 1
            return
        latencies.append((time.perf_counter() - due) * 1000)
        statuses[str(status)] += 1
        try:
            await kind.after(pool, first + i)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            errors[f"after:{type(exc).__name__}"] += 1

    await asyncio.gather(*(one(i) for i in range(count)))
    elapsed = time.perf_counter() - start
    for reader_writer in pool.idle:
        reader_writer[1].close()
    ordered = sorted(latencies)
    server_errors = sum(v for k, v in statuses.items() if k.startswith("5") and k != "503")
    p50, p99 = percentile(ordered, 50), percentile(ordered, 99)
    return {
        "offered_per_s": rate,
        "sent": count,
        "answered": len(ordered),
        "achieved_per_s": round(len(ordered) / elapsed, 1) if elapsed else None,
        "p50_ms": round(p50, 1) if p50 is not None else None,
        "p99_ms": round(p99, 1) if p99 is not None else None,
        "errors": sum(errors.values()) + server_errors,
        "statuses": dict(sorted(statuses.items())),
        "transport_errors": dict(errors),
        "connections_opened": pool.opened,
    }


async def main(cfg: dict[str, Any]) -> dict[str, Any]:
    kind = Booking(cfg) if cfg["kind"] == "booking" else CallNext(cfg)
    steps: list[dict[str, Any]] = []
    first = 0
    for rate in cfg["rates"]:
        last = steps[-1].get("p99_ms") if steps else 0.0  # a step not run has none
        if last is None or last > STOP_ABOVE_MS:
            steps.append({"offered_per_s": rate, "not_run": "a lower rate was already too slow"})
            continue
        steps.append(await step(kind, cfg["port"], rate, cfg["seconds"], first))
        first += int(rate * cfg["seconds"])
    return {"steps": steps, "called": getattr(kind, "answered", {})}


def max_rate_under(steps: list[dict[str, Any]], p99_ms: float) -> float | None:
    """The highest offered rate whose p99 stays under `p99_ms` with no errors, every lower
    rate passing too."""
    best = None
    for found in steps:
        if found.get("p99_ms") is None or found["p99_ms"] >= p99_ms or found["errors"]:
            break
        best = found["offered_per_s"]
    return best


if __name__ == "__main__":
    config = json.loads(Path(sys.argv[1]).read_text())
    Path(sys.argv[2]).write_text(json.dumps(asyncio.run(main(config))))
