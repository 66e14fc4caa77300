"""Live streams: 1,000 open TV-board streams while a booking rush runs, through the real server.

* A throwaway PostgreSQL database, migrated; bench/_rush_setup.py (the demo, citizens with
  sessions, booking slots) and bench/_live_setup.py (walk-in tickets at GY-HALL-01 for
  window 3, the clerk's session). Dropped at the end, even on failure.
* The production server as in booking_rush: gunicorn with 2 uvicorn workers serving
  trafficdesk.asgi on 127.0.0.1, live events over PostgreSQL LISTEN/NOTIFY.
* bench/_live_load.py (one process) opens STREAMS board streams of GY-HALL-01 and waits until
  every one has answered; then for SECONDS it probes a plain page (PAGE) at PAGE_RATE per
  second, open loop, and the clerk calls the next ticket every CALL_EVERY_S (call-next, then
  complete). Meanwhile bench/_open_loop.py (another process) runs the booking rush at
  RUSH_RATE requests per second offered (below the server's capacity: a saturating closed
  loop would make every page wait behind it, whatever the streams cost; booking_rush measures
  saturation).
* call_to_board: from the moment a call-next was sent to the moment its call reached a board,
  over every board and call. missed_events: (call, board) pairs never received within GRACE_S
  after the last call. server_rss_mb: the largest sum of the server's processes' resident
  memory seen while the load ran.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._pg import throwaway_database, unavailable
from bench.booking_rush import (
    PYTHON,
    free_port,
    http_get,
    manage,
    start_server,
    stop,
    wait_ready,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STREAMS = int(os.environ.get("LIVE_STREAMS", "1000"))
SECONDS = int(os.environ.get("LIVE_STREAMS_SECONDS", "30"))
RUSH_RATE = 150
PAGE, PAGE_RATE = "/open/", 5
CALL_EVERY_S, GRACE_S = 1.0, 10
TARGETS = {"page_p99_ms": 200, "call_to_board_p99_ms": 1000, "missed_events": 0}


def server_rss_mb(server_pid: int) -> float:
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        pid, ppid = int(fields["Pid"]), int(fields["PPid"])
        if server_pid in (pid, ppid) and "VmRSS" in fields:
            total += int(fields["VmRSS"].split()[0])
    return round(total / 1024, 1)


def run() -> dict[str, Any]:
    problem = unavailable()
    if problem:
        raise SystemExit(f"live_streams needs PostgreSQL: {problem}")
    workdir = Path(tempfile.mkdtemp(prefix="live_streams_"))
    server: subprocess.Popen | None = None
    try:
        with throwaway_database("trafficdesk_bench_live") as db_url:
            env = {
                **{k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}},
                "DATABASE_URL": db_url,
                "SECRET_KEY": secrets.token_urlsafe(48),
                "SMS_BACKEND": "trafficdesk.notify.backends.MemorySmsBackend",
                "BOOKING_RATE_PER_USER": "1000000/m",
                "DEBUG": "false",
                "LOG_LEVEL": "WARNING",
                "ALLOWED_HOSTS": "127.0.0.1",
                "TRAFFICDESK_VAR_DIR": str(workdir / "var"),
                "DJANGO_SETTINGS_MODULE": "trafficdesk.settings",
            }
            env.pop("REDIS_URL", None)
            manage(env, "migrate", "--no-input", "-v0", timeout=300)
            manage(env, "createcachetable")
            rush = workdir / "rush.json"
            live = workdir / "live.json"
            for command in (
                [PYTHON, str(HERE / "_rush_setup.py"), str(rush), "200", "20", "2000"],
                [PYTHON, str(HERE / "_live_setup.py"), str(live), str(SECONDS * 2 + 20)],
            ):
                subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=300,
                               capture_output=True)  # fmt: skip
            rush_data, live_data = json.loads(rush.read_text()), json.loads(live.read_text())
            port = free_port()
            server = start_server(env, port, workdir / "server.log")
            wait_ready(server, port)
            for _ in range(10):
                http_get(port, PAGE)
            from django.middleware.csrf import _get_new_csrf_string

            csrf = _get_new_csrf_string()
            ready = workdir / "ready"
            load_cfg = {
                "port": port,
                "boards": STREAMS,
                "point": live_data["point"],
                "window": live_data["window"],
                "clerk_session": live_data["clerk_session"],
                "csrf": csrf,
                "seconds": SECONDS,
                "page": PAGE,
                "page_rate": PAGE_RATE,
                "calls": int(SECONDS / CALL_EVERY_S),
                "call_every_s": CALL_EVERY_S,
                "grace_s": GRACE_S,
                "ready_file": str(ready),
                "lead_s": 2,
            }
            (workdir / "load.json").write_text(json.dumps(load_cfg))
            loader = subprocess.Popen(
                [PYTHON, str(HERE / "_live_load.py"), str(workdir / "load.json"),
                 str(workdir / "load_result.json")],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            rss_idle = server_rss_mb(server.pid)
            while not ready.exists():
                if loader.poll() is not None:
                    raise RuntimeError(f"live load failed: {loader.stderr.read()[-1500:]!r}")
                time.sleep(0.2)
            rss_streams = server_rss_mb(server.pid)
            booking_cfg = {
                "port": port,
                "kind": "booking",
                "rates": [RUSH_RATE],
                "seconds": SECONDS + 2,
                "sessions": rush_data["sessions"],
                "csrf": csrf,
                "business": rush_data["business"],
                "hot": rush_data["http"]["hot"],
                "cold": rush_data["http"]["cold"],
                "hot_share": 0.8,
                "id_offset": 0,
            }
            (workdir / "rush_load.json").write_text(json.dumps(booking_cfg))
            booking = subprocess.Popen(
                [PYTHON, str(HERE / "_open_loop.py"), str(workdir / "rush_load.json"),
                 str(workdir / "rush_result.json")],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            peak = rss_streams
            while loader.poll() is None or booking.poll() is None:
                peak = max(peak, server_rss_mb(server.pid))
                time.sleep(0.5)
            if loader.returncode or booking.returncode:
                raise RuntimeError(
                    f"load failed: {loader.stderr.read()[-800:]!r} {booking.stderr.read()[-800:]!r}"
                )
            result = json.loads((workdir / "load_result.json").read_text())
            rush_step = json.loads((workdir / "rush_result.json").read_text())["steps"][0]
            stop(server)
            server = None
    finally:
        stop(server)
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "streams": result["streams"],
        "page_p99_ms": result["page_p99_ms"],
        "call_to_board_p99_ms": result["call_to_board_p99_ms"],
        "missed_events": result["missed_events"],
        "server_rss_mb": peak,
        "server_rss_mb_before_streams": rss_idle,
        "server_rss_mb_with_streams_idle": rss_streams,
        "details": result,
        "booking_rush": {
            k: rush_step.get(k)
            for k in ("offered_per_s", "achieved_per_s", "p50_ms", "p99_ms", "errors", "statuses")
        },
        "targets": TARGETS,
        "met": {
            "page_p99_ms": (result["page_p99_ms"] or 1e9) < TARGETS["page_p99_ms"],
            "call_to_board_p99_ms": (result["call_to_board_p99_ms"] or 1e9)
            < TARGETS["call_to_board_p99_ms"],
            "missed_events": result["missed_events"] == 0 and result["streams_failed"] == 0,
        },
        "load": (
            f"{STREAMS} board streams of GY-HALL-01 from one process; a plain page ({PAGE}) at "
            f"{PAGE_RATE}/s and one call every {CALL_EVERY_S:g} s for {SECONDS} s, while the "
            f"booking rush runs open loop at {RUSH_RATE} requests/s (80% to 20 hot slots); "
            "gunicorn with 2 uvicorn workers, PostgreSQL LISTEN/NOTIFY, loopback"
        ),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2), file=sys.stderr)
