"""Booking rush: the real server under a rush of bookings, against pgbench doing the same
booking transaction in the same run.

* A throwaway PostgreSQL database (trafficdesk_bench_<hex>), migrated, with the demo loaded,
  dropped at the end even on failure.
* The production server: gunicorn with 2 uvicorn workers serving trafficdesk.asgi
  (trafficdesk/gunicornconf.py) on 127.0.0.1:<free port>, access log off, DEBUG=false,
  LOG_LEVEL=WARNING, in-memory SMS backend.
* CITIZENS citizens logged in by session (created directly, no SMS login) and, for P01 at
  GY-HALL-01 (LOW risk, phase 3: open to GENERAL applicants), HOT slots of 20 people and
  COLD slots of 50 people — twice: one set for HTTP, an identical one for pgbench.
* REQUESTS booking requests from CLIENTS concurrent clients in one separate process
  (bench/_rush_load.py), HOT_SHARE of them to the hot slots, each with a distinct valid
  resident ID, no Idempotency-Key. Bounded in time: no request starts after
  LOAD_DEADLINE_S (120 s unless BOOKING_RUSH_SECONDS says otherwise); `requests` is the
  number actually sent, `requests_planned` the number planned.
* pgbench (-c 20 -j 2 -T 15, simple protocol, like Django's client-side binding) runs the
  transaction of services.book() (the connection carries the lock timeout): BEGIN; INSERT
  booking; INSERT item; conditional UPDATE of the slot; INSERT the SMS into the outbox;
  INSERT event; COMMIT — or ROLLBACK when the UPDATE
  took no capacity. pgbench_tps counts every transaction, refusals (rollbacks) included, with
  the same hot/cold mix; ratio_to_pgbench = requests_per_s / pgbench_tps.
* Open-loop phase (bench/_open_loop.py), after the closed loop, on a third identical slot
  set: requests at fixed offered rates (OPEN_LOOP_RATES, OPEN_LOOP_SECONDS each), p50/p99
  from each request's due moment; max_rate_p99_under_100ms.
* Afterwards the database is checked: no slot over capacity, and per slot the active
  bookings equal booked_people and their minutes booked_minutes.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

from bench._open_loop import max_rate_under

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))

REQUESTS, CLIENTS, CITIZENS = 20_000, 200, 200
HOT, COLD, HOT_SHARE = 20, 2_000, 0.8
# No request is started after this many seconds, to keep the run near 3 minutes; set
# BOOKING_RUSH_SECONDS higher to let all REQUESTS through on a slow server.
LOAD_DEADLINE_S = int(os.environ.get("BOOKING_RUSH_SECONDS", "420"))
WORKERS = 2
THREADS = int(os.environ.get("BOOKING_RUSH_THREADS", "4"))
PGBENCH_CLIENTS, PGBENCH_THREADS, PGBENCH_SECONDS = 20, 2, 15
TARGET_RATIO, TARGET_P99_MS, TARGET_OPEN_RATE = 0.6, 100.0, 300
OPEN_LOOP_RATES = [50, 100, 200, 300, 400, 500, 700]
OPEN_LOOP_SECONDS = int(os.environ.get("OPEN_LOOP_SECONDS", "8"))
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- PostgreSQL --------------------------------------------------------------------------


def server_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"


def with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def admin_connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True, connect_timeout=3)


def drop_database(url: str, name: str) -> None:
    with admin_connect(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> None:
    subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=timeout,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def start_server(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    """The production server (README, make demo): gunicorn with uvicorn workers serving
    trafficdesk.asgi, WORKERS workers, access log off."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [GUNICORN, "-c", "python:trafficdesk.gunicornconf", "trafficdesk.asgi:application"],
            cwd=ROOT,
            env={
                **env,
                "WEB_BIND": f"127.0.0.1:{port}",
                "WEB_WORKERS": str(WORKERS),
                "WEB_LOG_LEVEL": "warning",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def open_loop(config: dict[str, Any], workdir: Path, name: str) -> dict[str, Any]:
    """Run bench/_open_loop.py with `config`; its steps."""
    (workdir / f"{name}.json").write_text(json.dumps(config))
    done = subprocess.run(
        [PYTHON, str(HERE / "_open_loop.py"), str(workdir / f"{name}.json"),
         str(workdir / f"{name}_result.json")],
        cwd=ROOT, timeout=60 + len(config["rates"]) * (config["seconds"] + 60),
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"open-loop load failed: {done.stderr[-1500:]}")
    return json.loads((workdir / f"{name}_result.json").read_text())  # type: ignore[no-any-return]


def http_get(port: int, path: str, timeout: float = 5) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1])


def wait_ready(proc: subprocess.Popen, port: int, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            http_get(port, "/api/v1/openapi.json", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer in time")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def processes() -> dict[int, tuple[str, int, float]]:
    """pid -> (command, parent pid, CPU seconds of it and of its exited children)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        command = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        cpu = sum(int(f) for f in fields[11:15]) / CLK_TCK  # utime stime cutime cstime
        found[int(stat.parent.name)] = (command, int(fields[1]), cpu)
    return found


def cpu_by_group(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the gunicorn tree and of all postgres processes (exited backends
    count in the postmaster's children time)."""
    table = processes()
    gunicorn = sum(cpu for pid, (_c, ppid, cpu) in table.items() if server_pid in (pid, ppid))
    postgres = sum(cpu for _pid, (command, _p, cpu) in table.items() if command == "postgres")
    return {"gunicorn": gunicorn, "postgres": postgres}


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


# --- pgbench -----------------------------------------------------------------------------


def pgbench_binary() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))
    return str(candidates[-1]) if candidates else None


def pgbench_script(data: dict[str, Any]) -> str:
    """The transaction of services.book(), statement for statement (the real-name caps
    included) (Django's psycopg backend
    binds parameters client-side, hence -M simple and quoted :dg)."""
    m = data["minutes"]
    hot_lo, hot_hi = data["pgbench"]["hot"]
    cold_lo, cold_hi = data["pgbench"]["cold"]
    user_lo, user_hi = data["user_ids"]
    share = round(HOT_SHARE * 100)
    # The real-name caps (booking.holders.within_caps_sql): the account's and the ID's active
    # bookings, counted in the statement that takes the place, after their advisory locks.
    active = (
        "(SELECT count(*) FROM booking_booking cb JOIN booking_slot cs ON cs.id = cb.slot_id "
        "WHERE cb.status IN ('active', 'checked_in') AND cs.ends_at > now() AND NOT EXISTS "
        "(SELECT 1 FROM booking_priorityclaim cc WHERE cc.booking_id = cb.id "
        "AND cc.enterprise_id IS NOT NULL) AND "
    )
    return f"""\\set r random(1, 100)
\\if :r <= {share}
\\set slot random({hot_lo}, {hot_hi})
\\else
\\set slot random({cold_lo}, {cold_hi})
\\endif
\\set holder random({user_lo}, {user_hi})
BEGIN;
SELECT pg_advisory_xact_lock(hashtextextended('booking-account:' || :holder, 0));
INSERT INTO booking_booking (token, number, holder_id, slot_id, id_digest, id_masked, applicant_class, minutes, general_minutes, status, created_at, updated_at, moves, cancel_reason, rush_request_id) VALUES (md5(random()::text) || substr(md5(random()::text), 1, 11), substr(encode(decode(md5(random()::text), 'hex'), 'base64'), 1, 8), :holder, :slot, md5(random()::text) || md5(random()::text), '520115********0010', 'GENERAL', {m}, {m}, 'active', now(), now(), 0, '', NULL) RETURNING id AS bid, id_digest AS dg \\gset
SELECT pg_advisory_xact_lock(hashtextextended('booking-id:' || ':dg', 0));
INSERT INTO booking_bookingitem (booking_id, business_id, id_digest, active) VALUES (:bid, {data["business_id"]}, ':dg', true);
WITH took AS (UPDATE booking_slot SET booked_minutes = booked_minutes + {m}, booked_people = booked_people + 1, booked_general_minutes = booked_general_minutes + {m} WHERE rush_id IS NULL AND booked_minutes <= capacity_minutes - {m} AND booked_people <= capacity_people - 1 AND (priority_release_at <= now() OR booked_general_minutes <= capacity_minutes - priority_reserved_minutes - {m}) AND id = :slot AND {active}cb.holder_id = :holder) < 1000000 AND {active}cb.id_digest = ':dg' AND cb.id <> :bid) < 3 RETURNING 1) SELECT count(*) AS took FROM took \\gset
\\if :took
INSERT INTO notify_smsmessage (created_at, kind, region_id, recipient_masked, body, backend, status, error, recipient, text, claimed_at, claim, attempts, sent_at, next_attempt_at, provider, provider_message_id, delivery_status, delivered_at) VALUES (now(), 'booking.booked', {data["region_id"]}, '138****0000', 'booked', '', 'queued', '', '13800000000', 'booked', NULL, '', 0, NULL, NULL, '', '', '', NULL) RETURNING id AS sid \\gset
INSERT INTO booking_bookingevent (booking_id, kind, at, detail, from_slot_id, notice_id) VALUES (:bid, 'booked', now(), '', NULL, :sid);
COMMIT;
\\else
ROLLBACK;
\\endif
"""


def run_pgbench(db_url: str, data: dict[str, Any], workdir: Path) -> dict[str, Any]:
    binary = pgbench_binary()
    if binary is None:
        return {"pgbench_error": "pgbench not found"}
    script = workdir / "book.sql"
    script.write_text(pgbench_script(data))
    parts = urllib.parse.urlsplit(db_url)
    env = {
        **os.environ,
        "PGPASSWORD": urllib.parse.unquote(parts.password or ""),
        # as every server connection: the lock timeout is the connection's, not a statement
        "PGOPTIONS": "-c lock_timeout=2000",
    }
    command = [
        binary, "-n", "-M", "simple",
        "-c", str(PGBENCH_CLIENTS), "-j", str(PGBENCH_THREADS), "-T", str(PGBENCH_SECONDS),
        "-f", str(script),
        "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
        "-U", urllib.parse.unquote(parts.username or "postgres"),
        parts.path.lstrip("/"),
    ]  # fmt: skip
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=PGBENCH_SECONDS + 60
    )
    out = done.stdout + done.stderr
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if done.returncode != 0 or not processed or not tps:
        return {"pgbench_error": f"pgbench exit {done.returncode}: {out[-800:]}"}
    return {
        "processed": int(processed.group(1)),
        "failed": int(failed.group(1)) if failed else 0,
        "tps": float(tps.group(1)),
        "aborted_clients": len(re.findall(r"client \d+ aborted", out)),
    }


# --- checks ------------------------------------------------------------------------------


def check_slots(conn: psycopg.Connection, lo: int, hi: int) -> dict[str, int]:
    over = conn.execute(
        "SELECT count(*) FROM booking_slot WHERE id BETWEEN %s AND %s"
        " AND (booked_people > capacity_people OR booked_minutes > capacity_minutes)",
        (lo, hi),
    ).fetchone()[0]
    mismatched = conn.execute(
        """SELECT count(*) FROM booking_slot s LEFT JOIN (
               SELECT slot_id, count(*) AS n, sum(minutes) AS m FROM booking_booking
               WHERE status IN ('active', 'checked_in') GROUP BY slot_id) b ON b.slot_id = s.id
           WHERE s.id BETWEEN %s AND %s
             AND (coalesce(b.n, 0) <> s.booked_people OR coalesce(b.m, 0) <> s.booked_minutes)""",
        (lo, hi),
    ).fetchone()[0]
    active = conn.execute(
        "SELECT count(*) FROM booking_booking WHERE slot_id BETWEEN %s AND %s"
        " AND status IN ('active', 'checked_in')",
        (lo, hi),
    ).fetchone()[0]
    return {"overbooked": over, "mismatched": mismatched, "active": active}


def booked_people(conn: psycopg.Connection, lo: int, hi: int) -> tuple[int, int]:
    row = conn.execute(
        "SELECT coalesce(sum(booked_people), 0), coalesce(sum(capacity_people), 0)"
        " FROM booking_slot WHERE id BETWEEN %s AND %s",
        (lo, hi),
    ).fetchone()
    return int(row[0]), int(row[1])


# --- the benchmark -----------------------------------------------------------------------


def unreachable(url: str, exc: Exception) -> dict[str, Any]:
    shown = urllib.parse.urlsplit(url)
    where = f"{shown.hostname}:{shown.port or 5432}"
    message = f"PostgreSQL is not reachable at {where} (set TEST_POSTGRES_URL): {exc}"
    print(message, file=sys.stderr)
    return {"error": message, "requests": 0, "clients": CLIENTS}


def run() -> dict[str, Any]:
    admin_url = server_url()
    try:
        with admin_connect(admin_url) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return unreachable(admin_url, exc)

    wall = time.perf_counter()
    name = f"trafficdesk_bench_{secrets.token_hex(6)}"
    db_url = with_database(admin_url, name)
    workdir = Path(tempfile.mkdtemp(prefix="booking_rush_"))
    server: subprocess.Popen | None = None
    server_log = workdir / "gunicorn.log"
    with admin_connect(admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {
            **{k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}},
            "DATABASE_URL": db_url,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "SMS_BACKEND": "trafficdesk.notify.backends.MemorySmsBackend",
            # Each simulated client books far faster than a person; measure booking, not the
            # per-user rate limit (tested on its own in tests/security).
            "BOOKING_RATE_PER_USER": "1000000/m",
            # Likewise the real-name cap of active bookings per account: each citizen books
            # for its share of the load's ID numbers (bench/_rush_setup.py).
            "BOOKING_MAX_ACTIVE_PER_ACCOUNT": "1000000",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1",
            "TRAFFICDESK_VAR_DIR": str(workdir / "var"),
            "DJANGO_SETTINGS_MODULE": "trafficdesk.settings",
        }
        env.pop("REDIS_URL", None)
        setup_start = time.perf_counter()
        manage(env, "migrate", "--no-input", "-v0")
        manage(env, "createcachetable")
        data_file = workdir / "data.json"
        subprocess.run(
            [PYTHON, str(HERE / "_rush_setup.py"), str(data_file), str(CITIZENS), str(HOT),
             str(COLD)],
            cwd=ROOT, env=env, check=True, timeout=180, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        data = json.loads(data_file.read_text())
        setup_seconds = time.perf_counter() - setup_start

        port = free_port()
        server = start_server(env, port, server_log)
        wait_ready(server, port)
        for _ in range(20):  # every worker imports, connects and compiles its first answers
            http_get(port, f"/api/v1/slots?point={data['point']}&business={data['business']}")

        from django.middleware.csrf import _get_new_csrf_string

        csrf = _get_new_csrf_string()
        config = {
            "port": port,
            "sessions": data["sessions"],
            "csrf": csrf,
            "business": data["business"],
            "hot": data["http"]["hot"],
            "cold": data["http"]["cold"],
            "requests": REQUESTS,
            "clients": CLIENTS,
            "hot_share": HOT_SHARE,
            "deadline_s": LOAD_DEADLINE_S,
            "timeout_s": 30,
            "seed": 2020,
        }
        (workdir / "load.json").write_text(json.dumps(config))
        loadavg_before = float(Path("/proc/loadavg").read_text().split()[0])
        before = cpu_by_group(server.pid)
        busy0, total0 = machine_busy()
        loader = subprocess.run(
            [PYTHON, str(HERE / "_rush_load.py"), str(workdir / "load.json"),
             str(workdir / "result.json")],
            cwd=ROOT, timeout=LOAD_DEADLINE_S + 90, capture_output=True, text=True,
        )  # fmt: skip
        busy1, total1 = machine_busy()
        after = cpu_by_group(server.pid)
        if loader.returncode != 0:
            raise RuntimeError(f"load generator failed: {loader.stderr[-1500:]}")
        server_cpu = after["gunicorn"] - before["gunicorn"]
        db_cpu = after["postgres"] - before["postgres"]
        busy_cpu = (busy1 - busy0) / CLK_TCK
        load = json.loads((workdir / "result.json").read_text())
        opened = open_loop(
            {
                "port": port,
                "kind": "booking",
                "rates": OPEN_LOOP_RATES,
                "seconds": OPEN_LOOP_SECONDS,
                "sessions": data["sessions"],
                "csrf": csrf,
                "business": data["business"],
                "hot": data["open"]["hot"],
                "cold": data["open"]["cold"],
                "hot_share": HOT_SHARE,
                "id_offset": 1_000_000,
            },
            workdir,
            "open_loop",
        )
        stop(server)
        server = None

        bench = run_pgbench(db_url, data, workdir)

        with psycopg.connect(db_url, autocommit=True) as conn:
            http_check = check_slots(conn, data["http"]["hot"][0], data["http"]["cold"][1])
            pg_check = check_slots(conn, data["pgbench"]["hot"][0], data["pgbench"]["cold"][1])
            all_over = conn.execute(
                "SELECT count(*) FROM booking_slot WHERE booked_people > capacity_people"
                " OR booked_minutes > capacity_minutes"
            ).fetchone()[0]
            hot_booked = booked_people(conn, *data["http"]["hot"])
            pg_hot_booked = booked_people(conn, *data["pgbench"]["hot"])
            sms_booked = conn.execute(
                "SELECT count(*) FROM notify_smsmessage WHERE kind = 'booking.booked'"
            ).fetchone()[0]

        status = load["status"]
        accepted = status.get("201", 0)
        refused = status.get("409", 0)
        busy = status.get("503", 0)
        answered = load["answered"]
        errors = answered - accepted - refused - busy + sum(load["transport_errors"].values())
        accepted_per_s = accepted / load["seconds"] if load["seconds"] else 0.0

        figures: dict[str, Any] = {
            "requests": load["started"],
            "requests_planned": load["planned"],
            "clients": CLIENTS,
            "accepted": accepted,
            "refused": refused,
            "busy": busy,
            "errors": errors,
            "seconds": round(load["seconds"], 2),
            "requests_per_s": round(answered / load["seconds"], 1),
            "accepted_per_s": round(accepted_per_s, 1),
            "p50_ms": round(load["p50_ms"], 1) if load["p50_ms"] is not None else None,
            "p90_ms": round(load["p90_ms"], 1) if load["p90_ms"] is not None else None,
            "p99_ms": round(load["p99_ms"], 1) if load["p99_ms"] is not None else None,
            "max_ms": round(load["max_ms"], 1) if load["max_ms"] is not None else None,
            "overbooked_slots": http_check["overbooked"],
            "slots_bookings_mismatch": http_check["mismatched"],
            "active_bookings": http_check["active"],
            "active_bookings_equal_accepted": http_check["active"] == accepted,
            "hot_places_booked": f"{hot_booked[0]}/{hot_booked[1]}",
            "sms_recorded": sms_booked,
            "status_counts": status,
            "status_by_kind": load["status_by_kind"],
            "refusal_codes": load["codes"],
            "transport_errors": load["transport_errors"],
            "error_samples": load["samples"],
            "distinct_id_numbers": load["distinct_ids"],
            "connections_opened": load["connects"],
            "load": (
                f"{HOT_SHARE:.0%} of requests to {HOT} hot slots ({data['hot_people']} people, "
                f"{data['hot_people'] * data['minutes']} min each), the rest to {COLD} cold "
                f"slots ({data['cold_people']} people each); business {data['business']} at "
                f"{data['point']} (risk {data['risk_level']}, phase {data['phase']}); "
                f"{CLIENTS} asyncio clients in one process, {CITIZENS} citizen sessions, "
                "every request a new valid resident ID, no Idempotency-Key; "
                f"gunicorn with {WORKERS} uvicorn workers (trafficdesk.asgi), loopback"
            ),
            "cpu": {
                "machine_busy_percent": round(100 * (busy1 - busy0) / max(1, total1 - total0), 1),
                "busy_core_seconds": round(busy_cpu, 1),
                "gunicorn_seconds": round(server_cpu, 1),
                "gunicorn_ms_per_request": round(1000 * server_cpu / max(1, answered), 1),
                "postgres_seconds": round(db_cpu, 1),
                "postgres_ms_per_request": round(1000 * db_cpu / max(1, answered), 1),
                "load_generator_seconds": round(load["cpu_seconds"], 1),
                "rest_seconds": round(busy_cpu - server_cpu - db_cpu - load["cpu_seconds"], 1),
                "loadavg_1m_before": loadavg_before,
                "cores": os.cpu_count(),
                "note": "postgres = every postgres process on the machine; rest = kernel, "
                "other processes (other work on a shared machine shows here)",
            },
        }
        if "pgbench_error" in bench:
            figures["pgbench_tps"] = None
            figures["ratio_to_pgbench"] = None
            figures["pgbench_note"] = bench["pgbench_error"]
        else:
            committed = pg_check["active"]
            seconds = bench["processed"] / bench["tps"] if bench["tps"] else PGBENCH_SECONDS
            requests_per_s = answered / load["seconds"] if load["seconds"] else 0.0
            figures.update(
                {
                    "pgbench_tps": round(bench["tps"], 1),
                    "ratio_to_pgbench": round(requests_per_s / bench["tps"], 3)
                    if bench["tps"]
                    else None,
                    "pgbench_committed_per_s": round(committed / seconds, 1),
                    "pgbench_transactions": bench["processed"],
                    "pgbench_committed_bookings": committed,
                    "pgbench_failed": bench["failed"],
                    "pgbench_aborted_clients": bench["aborted_clients"],
                    "pgbench_hot_places_booked": f"{pg_hot_booked[0]}/{pg_hot_booked[1]}",
                    "pgbench_overbooked_slots": pg_check["overbooked"],
                    "pgbench_slots_bookings_mismatch": pg_check["mismatched"],
                    "pgbench_note": (
                        f"pgbench -M simple -c {PGBENCH_CLIENTS} -j {PGBENCH_THREADS} "
                        f"-T {PGBENCH_SECONDS}, same database, own identical slot set, same "
                        f"{HOT_SHARE:.0%} hot mix; book()'s transaction (INSERT booking, "
                        "INSERT item, conditional UPDATE of the slot, INSERT the SMS into the "
                        "outbox, INSERT event, COMMIT; ROLLBACK when the UPDATE took nothing; "
                        "lock_timeout set on the connection as the server's are). pgbench_tps "
                        "counts every transaction, the rolled-back refusals included, as "
                        "requests_per_s counts every answer: ratio_to_pgbench compares the two "
                        "on the same mix. Not included: the reads before the transaction and the "
                        "delivery task enqueued after it."
                    ),
                }
            )
        figures["open_loop"] = opened["steps"]
        figures["max_rate_p99_under_100ms"] = max_rate_under(opened["steps"], TARGET_P99_MS)
        figures["open_loop_note"] = (
            f"requests sent at each offered rate for {OPEN_LOOP_SECONDS} s whatever the answers, "
            "latency from each request's due moment; to a third identical slot set with the "
            "same hot/cold mix (the first step fills the hot slots, as the first seconds of a "
            "rush do); max_rate_p99_under_100ms = highest rate whose p99 < 100 ms without "
            "errors, every lower rate passing too"
        )
        figures["all_slots_overbooked"] = all_over
        ratio = figures.get("ratio_to_pgbench")
        figures["meets_targets"] = {
            "overbooked_slots_0": figures["overbooked_slots"] == 0 and all_over == 0,
            "bookings_match_counters": http_check["mismatched"] == 0
            and http_check["active"] == accepted,
            "ratio_to_pgbench_ge_0_6": ratio is not None and ratio >= TARGET_RATIO,
            "max_rate_p99_under_100ms_ge_300": (figures["max_rate_p99_under_100ms"] or 0)
            >= TARGET_OPEN_RATE,
            "requests_ge_20000": load["started"] >= REQUESTS,
        }
        lines = Counter(
            re.sub(r"\d+", "N", line.strip())[:120]
            for line in server_log.read_text(errors="replace").splitlines()
            if line.strip()
        )
        figures["server_log_lines"] = dict(lines.most_common(8))
        if "Traceback" in server_log.read_text(errors="replace"):
            figures["server_log_tail"] = server_log.read_text(errors="replace")[-1500:]
        figures["load_deadline_s"] = LOAD_DEADLINE_S
        figures["setup_seconds"] = round(setup_seconds, 1)
        figures["database"] = name
        figures["wall_seconds"] = round(time.perf_counter() - wall, 1)
        return figures
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        return {"error": f"{exc.cmd[:3]} failed: {stderr[-1500:]}", "requests": 0}
    except (RuntimeError, OSError, subprocess.TimeoutExpired, psycopg.Error) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:2000], "requests": 0}
    finally:
        stop(server)
        try:
            drop_database(admin_url, name)
        except psycopg.Error as exc:
            print(f"could not drop database {name}: {exc}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
