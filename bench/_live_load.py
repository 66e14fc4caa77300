"""Load for bench/live_streams.py, run in its own process.

    python bench/_live_load.py CONFIG.json RESULT.json

Opens BOARDS server-sent event streams of one hall's TV board (/hall/<point>/board/events/)
and waits until each has its first chunk; then, for `seconds`: a page probe GETs a plain page
at `page_rate` per second (open loop, latency from its due moment), and a clerk calls the next
ticket every `call_every_s` (POST call-next, then complete), noting when each call-next was
sent. Every board notes when each call (by ticket label) reaches it. After the last call, the
boards get `grace_s` to receive everything; a board that did not is a missed event.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._open_loop import Connections, exchange, post  # noqa: E402
from bench._rush_load import percentile  # noqa: E402


class Board:
    def __init__(self) -> None:
        self.received: dict[str, float] = {}
        self.ready = asyncio.Event()
        self.failed: str | None = None
        self.events = 0


async def follow(port: int, path: str, board: Board, stop: asyncio.Event) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            board.failed = head.split(b"\r\n", 1)[0].decode("latin-1")
            board.ready.set()
            return
        chunked = b"transfer-encoding: chunked" in head.lower()
        buffer = b""
        while not stop.is_set():
            if chunked:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    break
                data = await reader.readexactly(size + 2)
                buffer += data[:-2]
            else:
                data = await reader.read(65536)
                if not data:
                    break
                buffer += data
            board.ready.set()
            while b"\n\n" in buffer:
                message, buffer = buffer.split(b"\n\n", 1)
                kind, payload = "", ""
                for line in message.decode().splitlines():
                    if line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:"):
                        payload += line[5:].strip()
                if kind == "call":
                    board.events += 1
                    board.received.setdefault(json.loads(payload)["label"], time.perf_counter())
        writer.close()
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        board.failed = f"{type(exc).__name__}: {exc}"[:200]
        board.ready.set()


async def probe_pages(
    port: int, path: str, rate: float, seconds: float
) -> tuple[list[float], Counter[str]]:
    pool = Connections(port)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    start = time.perf_counter() + 0.05
    message = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/html\r\n"
        "Accept-Language: zh-hans\r\nConnection: keep-alive\r\n\r\n"
    ).encode()

    async def one(i: int) -> None:
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        try:
            status, _h, _b = await exchange(pool, message)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            statuses[type(exc).__name__] += 1
            return
        latencies.append((time.perf_counter() - due) * 1000)
        statuses[str(status)] += 1

    await asyncio.gather(*(one(i) for i in range(int(rate * seconds))))
    return latencies, statuses


async def call_repeatedly(cfg: dict[str, Any]) -> tuple[dict[str, float], Counter[str]]:
    pool = Connections(cfg["port"])
    sent: dict[str, float] = {}
    statuses: Counter[str] = Counter()
    started = time.perf_counter()
    for n in range(cfg["calls"]):
        await asyncio.sleep(max(0.0, started + n * cfg["call_every_s"] - time.perf_counter()))
        at = time.perf_counter()
        status, _h, body = await exchange(
            pool,
            post(
                cfg["port"],
                f"/api/v1/hall/windows/{cfg['window']}/call-next",
                cfg["clerk_session"],
                cfg["csrf"],
            ),
        )
        statuses[f"call:{status}"] += 1
        if status != 200:
            continue
        ticket = json.loads(body)
        sent[ticket["label"]] = at
        status, _h, _b = await exchange(
            pool,
            post(
                cfg["port"],
                f"/api/v1/hall/tickets/{ticket['id']}/complete",
                cfg["clerk_session"],
                cfg["csrf"],
            ),
        )
        statuses[f"complete:{status}"] += 1
    return sent, statuses


async def main(cfg: dict[str, Any]) -> dict[str, Any]:
    stop = asyncio.Event()
    boards = [Board() for _ in range(cfg["boards"])]
    path = f"/hall/{cfg['point']}/board/events/"
    tasks = []
    opened_at = time.perf_counter()
    for i, board in enumerate(boards):
        tasks.append(asyncio.create_task(follow(cfg["port"], path, board, stop)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*(b.ready.wait() for b in boards)), 120)
    open_seconds = time.perf_counter() - opened_at
    failed = [b.failed for b in boards if b.failed]
    (Path(cfg["ready_file"])).write_text("ready")  # the booking rush starts now
    await asyncio.sleep(cfg.get("lead_s", 2))
    (pages, page_status), (sent, call_status) = await asyncio.gather(
        probe_pages(cfg["port"], cfg["page"], cfg["page_rate"], cfg["seconds"]),
        call_repeatedly(cfg),
    )
    deadline = time.perf_counter() + cfg["grace_s"]
    while time.perf_counter() < deadline:
        if all(label in b.received for b in boards if not b.failed for label in sent):
            break
        await asyncio.sleep(0.1)
    delays = sorted(
        (b.received[label] - at) * 1000
        for b in boards
        if not b.failed
        for label, at in sent.items()
        if label in b.received
    )
    missed = sum(1 for b in boards for label in sent if label not in b.received)
    stop.set()
    for task in tasks:
        task.cancel()
    ordered = sorted(pages)
    return {
        "streams": len(boards),
        "streams_failed": len(failed),
        "stream_failures": Counter(failed).most_common(3),
        "streams_open_seconds": round(open_seconds, 1),
        "calls": len(sent),
        "call_statuses": dict(call_status),
        "call_to_board_p50_ms": round(percentile(delays, 50) or 0, 1) if delays else None,
        "call_to_board_p99_ms": round(percentile(delays, 99) or 0, 1) if delays else None,
        "call_to_board_max_ms": round(delays[-1], 1) if delays else None,
        "missed_events": missed,
        "deliveries": len(delays),
        "pages": len(ordered),
        "page_statuses": dict(page_status),
        "page_p50_ms": round(percentile(ordered, 50) or 0, 1) if ordered else None,
        "page_p99_ms": round(percentile(ordered, 99) or 0, 1) if ordered else None,
    }


if __name__ == "__main__":
    config = json.loads(Path(sys.argv[1]).read_text())
    Path(sys.argv[2]).write_text(json.dumps(asyncio.run(main(config))))
