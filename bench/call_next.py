"""Call-next: 100 windows calling the next ticket at once, through the real server.

* A throwaway PostgreSQL database (trafficdesk_bench_call_<hex>), migrated, with the demo
  loaded (`manage.py load_demo`: regions, risk levels, phases, policy, catalogue), dropped at
  the end even on failure.
* bench/_call_next_setup.py (run with the server's environment) adds one big hall,
  GY-BENCH-CALL in 520115 (LOW risk, phase 3, the county of GY-HALL-01), with one zone and
  WINDOWS open normal windows serving P01, TICKETS waiting GENERAL P01 tickets (made
  directly, arrivals spread over the last 4 hours, zone `present` = TICKETS), and one clerk
  per window (role clerk, region 520115) logged in by session.
* the server as in booking_rush: gunicorn with 2 uvicorn workers, trafficdesk.asgi, on
  127.0.0.1:<free port>, DEBUG=false, LOG_LEVEL=WARNING, in-memory SMS backend.
* bench/_call_next_load.py: one asyncio client per window, each as its own clerk with a
  session cookie and CSRF token, looping POST /api/v1/hall/windows/{id}/call-next and, on
  200, POST /api/v1/hall/tickets/{id}/complete (CALL_NEXT_COMPLETE=0 leaves it out), until
  nobody waits (204) or CALL_NEXT_SECONDS (60) have passed.
  `p50_ms`/`p99_ms` are of call-next requests only (all answers); complete has its own.
* Open-loop phase (bench/_open_loop.py), after the closed loop: call-next at fixed offered
  rates (OPEN_LOOP_RATES, OPEN_LOOP_SECONDS each) round-robin over the windows, each 200
  followed by its complete; `p99_ms_at_100_per_s` is call-next's p99 at 100 calls/s offered,
  from each request's due moment.
* Afterwards the database is checked: no ticket has more than one Call row (there are no
  recalls in this run), no ticket id was answered to two windows, every answered ticket is
  called/done at the window that got it, and the number of claimed tickets and Call rows
  equals the number of 200s.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from bench._pg import server_url, throwaway_database, unavailable
from bench.booking_rush import (
    CLK_TCK,
    PYTHON,
    cpu_by_group,
    free_port,
    machine_busy,
    manage,
    open_loop,
    start_server,
    stop,
    wait_ready,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

WINDOWS = 100
TICKETS = int(os.environ.get("CALL_NEXT_TICKETS", "20000"))
LOAD_SECONDS = int(os.environ.get("CALL_NEXT_SECONDS", "60"))
COMPLETE = os.environ.get("CALL_NEXT_COMPLETE", "1") != "0"
WORKERS = 2
THREADS = int(os.environ.get("CALL_NEXT_THREADS", "4"))
TARGET_P99_MS = 50.0
OPEN_LOOP_RATES = [50, 100, 200]
OPEN_LOOP_SECONDS = int(os.environ.get("OPEN_LOOP_SECONDS", "10"))
SERIAL_CALLS = 20  # afterwards, one window alone: latency without queueing


def server_env(db_url: str, workdir: Path) -> dict[str, str]:
    """The environment of booking_rush's server (and of manage.py and the setup script)."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}},
        "DATABASE_URL": db_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SMS_BACKEND": "trafficdesk.notify.backends.MemorySmsBackend",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1",
        "TRAFFICDESK_VAR_DIR": str(workdir / "var"),
        "DJANGO_SETTINGS_MODULE": "trafficdesk.settings",
    }
    env.pop("REDIS_URL", None)
    return env


def warm_up(port: int, window: int, session: str, csrf: str, times: int = 24) -> Counter[int]:
    """call-next on the warm-up window (nobody waits for its business: 204), on fresh
    connections so that every worker thread loads its caches and opens its connection."""
    seen: Counter[int] = Counter()
    for _ in range(times):
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/hall/windows/{window}/call-next",
            data=b"",
            method="POST",
            headers={
                "Cookie": f"sessionid={session}; csrftoken={csrf}",
                "X-CSRFToken": csrf,
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as answer:  # noqa: S310 - loopback http
                seen[answer.status] += 1
        except urllib.error.HTTPError as exc:
            seen[exc.code] += 1
    return seen


def check_database(
    db_url: str, data: dict[str, Any], called: dict[str, list[int]]
) -> dict[str, Any]:
    point = data["point_id"]
    answered = {ticket: int(window) for window, tickets in called.items() for ticket in tickets}
    with psycopg.connect(
        db_url.replace("postgres://", "postgresql://", 1), autocommit=True
    ) as conn:
        multi = conn.execute(
            "SELECT count(*), coalesce(max(n), 0) FROM (SELECT ticket_id, count(*) AS n"
            " FROM hallqueue_call WHERE service_point_id = %s GROUP BY ticket_id"
            " HAVING count(*) > 1) d",
            (point,),
        ).fetchone()
        call_rows = conn.execute(
            "SELECT count(*) FROM hallqueue_call WHERE service_point_id = %s", (point,)
        ).fetchone()[0]
        by_status = dict(
            conn.execute(
                "SELECT status, count(*) FROM hallqueue_ticket WHERE service_point_id = %s"
                " GROUP BY status",
                (point,),
            ).fetchall()
        )
        claimed = conn.execute(
            "SELECT t.id, t.window_id, w.number, c.window_number FROM hallqueue_ticket t"
            " LEFT JOIN sites_window w ON w.id = t.window_id"
            " LEFT JOIN hallqueue_call c ON c.ticket_id = t.id"
            " WHERE t.service_point_id = %s AND t.status <> 'waiting'",
            (point,),
        ).fetchall()
        present, cap = conn.execute(
            "SELECT present, occupancy_cap FROM sites_zone WHERE id = %s", (data["zone_id"],)
        ).fetchone()
    wrong_window = sum(
        1
        for ticket, window_id, number, call_window in claimed
        if ticket in answered and (window_id != answered[ticket] or number != call_window)
    )
    claimed_ids = {row[0] for row in claimed}
    return {
        "tickets_with_several_calls": multi[0],
        "most_calls_on_one_ticket": multi[1],
        "call_rows": call_rows,
        "tickets_by_status": by_status,
        "tickets_claimed": len(claimed_ids),
        "claimed_not_answered": len(claimed_ids - answered.keys()),
        "answered_not_claimed": len(answered.keys() - claimed_ids),
        "answered_at_another_window": wrong_window,
        "zone_present": present,
        "zone_cap": cap,
    }


def per_second(times: list[float], lo: float, hi: float) -> float | None:
    if hi <= lo:
        return None
    return round(sum(1 for t in times if lo <= t < hi) / (hi - lo), 1)


def ms(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def run() -> dict[str, Any]:
    problem = unavailable()
    if problem:
        message = f"{problem} (set TEST_POSTGRES_URL); call_next needs PostgreSQL"
        print(message, file=sys.stderr)
        return {"error": message, "windows": WINDOWS, "calls": 0}

    wall = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="call_next_"))
    server: subprocess.Popen | None = None
    server_log = workdir / "gunicorn.log"
    try:
        with throwaway_database("trafficdesk_bench_call") as db_url:
            try:
                env = server_env(db_url, workdir)
                setup_start = time.perf_counter()
                manage(env, "migrate", "--no-input", "-v0")
                manage(env, "createcachetable")
                manage(env, "load_demo")
                data_file = workdir / "data.json"
                subprocess.run(
                    [PYTHON, str(HERE / "_call_next_setup.py"), str(data_file), str(WINDOWS),
                     str(TICKETS)],
                    cwd=ROOT, env=env, check=True, timeout=180, stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )  # fmt: skip
                data = json.loads(data_file.read_text())
                setup_seconds = time.perf_counter() - setup_start

                port = free_port()
                server = start_server(env, port, server_log)
                wait_ready(server, port)

                from django.middleware.csrf import _get_new_csrf_string

                csrf = _get_new_csrf_string()
                warm = warm_up(port, data["warm_window"], data["sessions"][0], csrf)
                if set(warm) != {204}:
                    raise RuntimeError(f"warm-up call-next answered {dict(warm)}, not only 204")

                config = {
                    "port": port,
                    "windows": data["windows"],
                    "sessions": data["sessions"],
                    "csrf": csrf,
                    "complete": COMPLETE,
                    "deadline_s": LOAD_SECONDS,
                    "timeout_s": 30,
                    "serial_calls": SERIAL_CALLS,
                }
                (workdir / "load.json").write_text(json.dumps(config))
                before = cpu_by_group(server.pid)
                busy0, total0 = machine_busy()
                loader = subprocess.run(
                    [PYTHON, str(HERE / "_call_next_load.py"), str(workdir / "load.json"),
                     str(workdir / "result.json")],
                    cwd=ROOT, timeout=LOAD_SECONDS + 90, capture_output=True, text=True,
                )  # fmt: skip
                busy1, total1 = machine_busy()
                after = cpu_by_group(server.pid)
                if loader.returncode != 0:
                    raise RuntimeError(f"load generator failed: {loader.stderr[-1500:]}")
                load = json.loads((workdir / "result.json").read_text())
                opened = open_loop(
                    {
                        "port": port,
                        "kind": "call_next",
                        "rates": OPEN_LOOP_RATES,
                        "seconds": OPEN_LOOP_SECONDS,
                        "windows": list(zip(data["windows"], data["sessions"], strict=True)),
                        "csrf": csrf,
                    },
                    workdir,
                    "open_loop",
                )
                stop(server)
                server = None
                for window, tickets in opened["called"].items():  # the open loop's calls too
                    load["called"].setdefault(window, []).extend(tickets)
                open_calls = sum(len(t) for t in opened["called"].values())
                check = check_database(db_url, data, load["called"])
            finally:
                stop(server)
                server = None
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        return {"error": f"{exc.cmd[:3]} failed: {stderr[-1500:]}", "windows": WINDOWS, "calls": 0}
    except (RuntimeError, OSError, subprocess.TimeoutExpired, psycopg.Error) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:2000], "windows": WINDOWS, "calls": 0}
    else:
        result = figures(data, load, check, before, after, (busy0, total0, busy1, total1),
                         server_log, setup_seconds, wall, open_calls)  # fmt: skip
        result["open_loop"] = opened["steps"]
        at_100 = next((s for s in opened["steps"] if s["offered_per_s"] == 100), {})
        result["p99_ms_at_100_per_s"] = at_100.get("p99_ms")
        result["meets_targets"]["p99_ms_at_100_per_s_lt_50"] = (
            result["p99_ms_at_100_per_s"] is not None
            and result["p99_ms_at_100_per_s"] < TARGET_P99_MS
            and not at_100.get("errors")
        )
        result["open_loop_note"] = (
            f"after the closed loop, call-next requests at fixed offered rates for "
            f"{OPEN_LOOP_SECONDS} s each, round-robin over the windows, whatever the answers; "
            "latency of call-next from its due moment; each 200 followed (untimed) by complete"
        )
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def figures(
    data: dict[str, Any],
    load: dict[str, Any],
    check: dict[str, Any],
    before: dict[str, float],
    after: dict[str, float],
    busy: tuple[int, int, int, int],
    server_log: Path,
    setup_seconds: float,
    wall: float,
    open_calls: int,
) -> dict[str, Any]:
    calls = load["call_status"].get("200", 0)
    serial = load["serial"]
    serial_calls = serial["call_status"].get("200", 0)
    empty = load["call_status"].get("204", 0)
    seconds = load["seconds"]
    answered_calls = sum(load["call_status"].values())
    seen = Counter(t for tickets in load["called"].values() for t in tickets)
    twice = sum(1 for n in seen.values() if n > 1)
    duplicates = max(twice, check["tickets_with_several_calls"])
    complete_ok = load["complete_status"].get("200", 0)
    answered_complete = sum(load["complete_status"].values())
    errors = (
        answered_calls - calls - empty
        + answered_complete - complete_ok
        + sum(load["transport_errors"].values())
    )  # fmt: skip
    serial_errors = (
        sum(serial["call_status"].values()) - serial_calls - serial["call_status"].get("204", 0)
        + sum(serial["complete_status"].values()) - serial["complete_status"].get("200", 0)
        + sum(serial["transport_errors"].values())
    )  # fmt: skip
    times = load["call_times"]
    busy0, total0, busy1, total1 = busy
    server_cpu = after["gunicorn"] - before["gunicorn"]
    db_cpu = after["postgres"] - before["postgres"]
    requests = answered_calls + answered_complete
    p99 = load["call"]["p99_ms"]
    # A call-next the client gave up on (timeout) may still have claimed its ticket: such a
    # ticket stays "called" with one Call row and no answer. Not a duplicate, a lost answer.
    call_timeouts = sum(
        n for kind, n in {**load["transport_errors"], **serial["transport_errors"]}.items()
        if kind.startswith("call:")
    )  # fmt: skip
    lost = check["claimed_not_answered"]
    consistent = (
        check["call_rows"] == check["tickets_claimed"] == calls + serial_calls + open_calls + lost
        and lost <= call_timeouts
        and check["answered_not_claimed"] == 0
        and check["answered_at_another_window"] == 0
    )
    result: dict[str, Any] = {
        "windows": len(data["windows"]),
        "calls": calls,
        "calls_per_s": round(calls / seconds, 1) if seconds else 0.0,
        "p50_ms": ms(load["call"]["p50_ms"]),
        "p90_ms": ms(load["call"]["p90_ms"]),
        "p99_ms": ms(p99),
        "max_ms": ms(load["call"]["max_ms"]),
        "duplicates": duplicates,
        "errors": errors,
        "meets_targets": {
            "duplicates_0": duplicates == 0,
            "closed_loop_p99_ms_lt_50": p99 is not None and p99 < TARGET_P99_MS,
        },
        "seconds": round(seconds, 2),
        "tickets_waiting_at_start": TICKETS,
        "tickets_left_waiting": check["tickets_by_status"].get("waiting", 0),
        "ran_out_of_tickets": empty > 0,
        "empty_answers_204": empty,
        "completed": complete_ok,
        "complete_p50_ms": ms(load["complete"]["p50_ms"]),
        "complete_p99_ms": ms(load["complete"]["p99_ms"]),
        "requests_per_s": round(requests / seconds, 1) if seconds else 0.0,
        "calls_per_s_first_10s": per_second(times, 0, min(10, seconds)),
        "calls_per_s_last_10s": per_second(
            times, max(0, min(seconds, LOAD_SECONDS) - 10), min(seconds, LOAD_SECONDS)
        ),
        "alone": {
            "calls": serial_calls,
            "call_p50_ms": ms(serial["call"]["p50_ms"]),
            "call_max_ms": ms(serial["call"]["max_ms"]),
            "complete_p50_ms": ms(serial["complete"]["p50_ms"]),
            "errors": serial_errors,
            "note": f"after the concurrent run, window 1 alone made up to {SERIAL_CALLS} "
            "call-next (+complete) requests one after another: the latency of one request "
            "without queueing. Not in calls/p50/p99; its tickets are in the duplicate checks.",
        },
        "duplicate_checks": {
            "ticket_ids_answered_to_two_windows": twice,
            "tickets_with_several_call_rows": check["tickets_with_several_calls"],
            "most_call_rows_on_one_ticket": check["most_calls_on_one_ticket"],
            "call_rows": check["call_rows"],
            "tickets_claimed_in_db": check["tickets_claimed"],
            "open_loop_calls": open_calls,
            "claimed_but_not_answered": lost,
            "call_timeouts": call_timeouts,
            "answered_but_not_claimed": check["answered_not_claimed"],
            "answered_at_another_window": check["answered_at_another_window"],
            "db_matches_answers": consistent,
            "note": "db_matches_answers: Call rows = claimed tickets = 200s (closed and open "
            "loop) + tickets claimed "
            "for a call-next the client timed out on (at most call_timeouts); each answered "
            "ticket claimed by the window that got it",
        },
        "tickets_by_status": check["tickets_by_status"],
        "zone_present_after": f"{check['zone_present']}/{check['zone_cap']}",
        "call_status_counts": load["call_status"],
        "complete_status_counts": load["complete_status"],
        "refusal_codes": load["codes"],
        "transport_errors": load["transport_errors"],
        "error_samples": load["samples"],
        "clients_stopped_by": load["stopped"],
        "connections_opened": load["connects"],
        "calls_per_window": {
            "min": min((len(v) for v in load["called"].values()), default=0),
            "max": max((len(v) for v in load["called"].values()), default=0),
        },
        "queueing_note": (
            "closed loop: each window sends its next request as soon as the last is answered, "
            "so latency ~= windows / requests_per_s (Little's law); p99 < 50 ms with 100 "
            "windows needs > 2,000 requests/s"
        ),
        "measured": (
            "p50/p90/p99/max_ms: every call-next request (200 and 204), from send to last "
            "byte, queueing in gunicorn included; calls = 200 answers; calls_per_s = calls / "
            "seconds of load. "
            + (
                "Each 200 is followed by POST complete on the same connection (its latency "
                "is complete_p50/p99_ms), so a window has one call-next in flight at a time."
                if COMPLETE
                else "No complete: windows call again at once."
            )
        ),
        "load": (
            f"{len(data['windows'])} open normal windows serving {data['business']} in one zone "
            f"at {data['point']} (520115, risk {data['risk_level']}, phase {data['phase']}); "
            f"{TICKETS} waiting GENERAL tickets; one asyncio client per window in one process, "
            f"each its own clerk session; up to {LOAD_SECONDS} s; gunicorn with {WORKERS} uvicorn "
            "workers (trafficdesk.asgi), loopback"
        ),
        "cpu": {
            "machine_busy_percent": round(100 * (busy1 - busy0) / max(1, total1 - total0), 1),
            "busy_core_seconds": round((busy1 - busy0) / CLK_TCK, 1),
            "gunicorn_seconds": round(server_cpu, 1),
            "gunicorn_ms_per_request": round(1000 * server_cpu / max(1, requests), 1),
            "postgres_seconds": round(db_cpu, 1),
            "postgres_ms_per_request": round(1000 * db_cpu / max(1, requests), 1),
            "load_generator_seconds": round(load["cpu_seconds"], 1),
            "cores": os.cpu_count(),
        },
    }
    text = server_log.read_text(errors="replace") if server_log.exists() else ""
    lines = Counter(
        re.sub(r"\d+", "N", line.strip())[:120] for line in text.splitlines() if line.strip()
    )
    result["server_log_lines"] = dict(lines.most_common(8))
    if "Traceback" in text:
        result["server_log_tail"] = text[-1500:]
    result["setup_seconds"] = round(setup_seconds, 1)
    where = urlsplit(server_url())
    result["postgres"] = f"{where.hostname}:{where.port or 5432}"
    result["wall_seconds"] = round(time.perf_counter() - wall, 1)
    return result
