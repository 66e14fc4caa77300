"""Load generator for bench/booking_rush.py, run in its own process.

    python bench/_rush_load.py CONFIG.json RESULT.json

A small asyncio HTTP/1.1 client (standard library only, so the client costs little CPU):
CLIENTS coroutines, each logged in as its own citizen, take the next request from a shared
list and POST /api/v1/bookings, reusing the connection when the server keeps it open
(gunicorn's sync workers close it after each response, so then every request reconnects).
Latency is measured per request from connect/send to the last byte of the response.
New requests stop being started at the deadline; requests in flight are finished.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trafficdesk.core.validators import id_check_char  # noqa: E402

REGION = "520115"
FIRST_BIRTHDAY = date(1970, 1, 1)


def resident_id(i: int) -> str:
    """The i-th of distinct valid 18-digit IDs: 999 sequence numbers per birthday."""
    birthday = FIRST_BIRTHDAY + timedelta(days=i // 999)
    first17 = f"{REGION}{birthday:%Y%m%d}{i % 999 + 1:03d}"
    return first17 + id_check_char(first17)


def plan(cfg: dict[str, Any]) -> list[tuple[int, bool, str]]:
    """(slot, hot?, id) per request: exactly hot_share of them to the hot slots, shuffled."""
    rng = random.Random(cfg["seed"])
    total = cfg["requests"]
    hot_count = round(total * cfg["hot_share"])
    hot_lo, hot_hi = cfg["hot"]
    cold_lo, cold_hi = cfg["cold"]
    kinds = [True] * hot_count + [False] * (total - hot_count)
    rng.shuffle(kinds)
    return [
        (rng.randint(hot_lo, hot_hi) if hot else rng.randint(cold_lo, cold_hi), hot, resident_id(i))
        for i, hot in enumerate(kinds)
    ]


class Stats:
    def __init__(self) -> None:
        self.status: Counter[int] = Counter()
        self.status_hot: Counter[str] = Counter()
        self.codes: Counter[str] = Counter()
        self.latency_ms: list[float] = []
        self.errors: Counter[str] = Counter()
        self.samples: list[str] = []
        self.connects = 0


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if status in (204, 304) or 100 <= status < 200:
        body = b""  # no body, whatever the headers say (RFC 9112 section 6.3)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    else:
        body = await reader.read()
    return status, headers, body


async def client(
    n: int,
    cfg: dict[str, Any],
    requests: list[tuple[int, bool, str]],
    cursor: list[int],
    deadline: float,
    stats: Stats,
) -> None:
    host, port = "127.0.0.1", cfg["port"]
    sessions, csrf = cfg["sessions"], cfg["csrf"]
    head = (
        f"POST /api/v1/bookings HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/json\r\nAccept: application/json\r\n"
        f"X-CSRFToken: {csrf}\r\nConnection: keep-alive\r\n"
    )
    reader = writer = None
    while True:
        if cursor[0] >= len(requests) or time.monotonic() >= deadline:
            break
        index = cursor[0]
        slot, hot, id_number = requests[index]
        cursor[0] += 1
        # ID number i is booked by citizen i % len(sessions): the one whose family it is
        # (bench/_rush_setup.py, the real-name rule).
        cookie = f"Cookie: sessionid={sessions[index % len(sessions)]}; csrftoken={csrf}\r\n"
        body = json.dumps(
            {
                "slot": slot,
                "businesses": [cfg["business"]],
                "id_number": id_number,
                "applicant_class": "GENERAL",
            }
        ).encode()
        message = (head + cookie + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        start = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
                stats.connects += 1
            writer.write(message)
            await writer.drain()
            status, headers, payload = await asyncio.wait_for(
                read_response(reader), cfg["timeout_s"]
            )
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            stats.errors[type(exc).__name__] += 1
            if len(stats.samples) < 5:
                stats.samples.append(f"transport: {type(exc).__name__}: {exc}"[:300])
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        stats.latency_ms.append((time.perf_counter() - start) * 1000)
        stats.status[status] += 1
        stats.status_hot[f"{'hot' if hot else 'cold'}:{status}"] += 1
        if status in (409, 422, 503):
            try:
                stats.codes[f"{status}:{json.loads(payload).get('code')}"] += 1
            except ValueError:
                stats.codes[f"{status}:?"] += 1
        elif status != 201 and len(stats.samples) < 5:
            stats.samples.append(f"{status}: {payload[:300]!r}")
        if headers.get("connection", "").lower() == "close":
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def percentile(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


async def main(cfg: dict[str, Any]) -> dict[str, Any]:
    requests = plan(cfg)
    stats = Stats()
    cursor = [0]
    start = time.perf_counter()
    deadline = time.monotonic() + cfg["deadline_s"]
    await asyncio.gather(
        *(client(n, cfg, requests, cursor, deadline, stats) for n in range(cfg["clients"]))
    )
    elapsed = time.perf_counter() - start
    latencies = sorted(stats.latency_ms)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "planned": len(requests),
        "started": cursor[0],
        "answered": len(latencies),
        "seconds": elapsed,
        "status": {str(k): v for k, v in sorted(stats.status.items())},
        "status_by_kind": dict(sorted(stats.status_hot.items())),
        "codes": dict(sorted(stats.codes.items())),
        "transport_errors": dict(stats.errors),
        "samples": stats.samples,
        "connects": stats.connects,
        "p50_ms": percentile(latencies, 50),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99),
        "max_ms": latencies[-1] if latencies else None,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "distinct_ids": len({r[2] for r in requests}),
    }


if __name__ == "__main__":
    config = json.loads(Path(sys.argv[1]).read_text())
    Path(sys.argv[2]).write_text(json.dumps(asyncio.run(main(config))))
