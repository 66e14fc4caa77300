"""Scale out: a booking rush through HAProxy with one and with two app servers, one of the two
SIGKILLed mid-rush; the lag of a streaming read replica; the delay of the national view.

Three parts, each bounded and each cleaning up after itself, even on failure:

* Rush (bench/_scale_rush.py, in a process of its own with the servers' settings): a
  throwaway database on the machine's PostgreSQL (trafficdesk_bench_scale_<hex>), migrated,
  the demo loaded; the code of tests/scale/test_two_servers.py drives it: app servers of
  tests/real_server.start_server (gunicorn, 2 uvicorn workers each), HAProxy with the
  project's deploy/haproxy.cfg filled in by scripts/run_cluster.py, the booking rush of
  tests/rush.Rush (CLIENTS client threads, a fresh connection per request, every request a new
  resident ID; a 201 is an acknowledged booking). First one server, then two; in each a
  measured window of at most PHASE_REQUESTS answers or PHASE_SECONDS seconds. Then app1 is
  SIGKILLed mid-rush; the rush goes on AFTER_KILL_SECONDS after HAProxy marks it down.
  `lost_acknowledged` = acknowledged bookings (all phases) not found active afterwards;
  `overbooked_slots` = slots over capacity.
  Before each rush the servers are warmed until HAProxy keeps them UP over two check
  intervals (it starts them UP before any check, and a cold server can then fail two checks
  and drop out just as the rush starts: seen here as thousands of HAProxy 503s).
  The real-name rule lets an account book only for its own ID and declared family members':
  each account binds an ID and has the phase's ID numbers declared (tests/rush.
  may_book_the_rush_ids, and the same rows for the IDs beyond its RUSH_IDS). Each window
  reports its answers by status, and each server's health (alive, /readyz, HAProxy's state)
  before and after it; the kill reports the answers and HAProxy's counters between the kill
  and the server marked down, and after. `checks.windows_all_201` says whether every answer
  in both windows was a booking.
* `instructions_per_request`: `perf stat -e instructions` attached to every server process
  over the measured windows, where perf counts instructions here (`perf stat -e
  instructions true`); otherwise taken from bench/results/hot_path_cost.json
  (booking_accepted, callgrind, in-process) when that file exists, else null with why. The
  server CPU milliseconds per request measured in the windows (/proc) are always given.
* `replica_lag_ms_p99`: a throwaway primary and streaming replica (scripts/pg_replica.py,
  pg_createcluster + pg_basebackup -R, free loopback ports) under a write load from pgbench
  (LAG_LOAD_RATE small INSERT transactions/s); LAG_SAMPLES times a row is committed on the
  primary and the replica polled until it shows it: the delay from the primary's commit
  returning to the row being visible on the replica. Both clusters dropped in a finally.
* `national_view_delay_ms_p99`: scripts/national_demo.py's two province databases and the
  national one (logical replication, a cluster of its own); NATIONAL_SAMPLES times the Hubei
  node sets a county's risk level through set_risk_level (its own process, its own
  settings), and the national database is polled until its regions_countyrisk row shows the
  level: the delay from the province's step returning (committed) to the row in the national
  database. The cluster is dropped in a finally.

This machine has 2 cores: the load generator, HAProxy, the app servers and PostgreSQL share
them, so two servers cannot be faster than one here; the figures that carry are the cost per
request of each server and that nothing acknowledged was lost when one was killed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench._pg import server_url, throwaway_database, unavailable
from bench.booking_rush import PYTHON, manage, pgbench_binary

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CLIENTS = 12
PHASE_REQUESTS = int(os.environ.get("SCALE_OUT_REQUESTS", "2000"))
PHASE_SECONDS = float(os.environ.get("SCALE_OUT_SECONDS", "20"))
WARMUP_SECONDS = 2.0
AFTER_KILL_SECONDS = 3.0
SLOTS, PEOPLE = 10, 600  # per phase: 6,000 places, more than the IDs it books
LAG_SAMPLES, LAG_LOAD_RATE = 1000, 500
NATIONAL_SAMPLES = 100
NATIONAL_COUNTY = "420103"  # a Hubei county (the Hubei node publishes its own counties' rows)


def p99(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered) + 0.5) - 1))]


def summary_ms(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    if not ordered:
        return {"samples": 0}
    return {
        "samples": len(ordered),
        "p50_ms": round(ordered[len(ordered) // 2], 2),
        "p99_ms": round(p99(ordered) or 0.0, 2),
        "max_ms": round(ordered[-1], 2),
    }


# --- perf --------------------------------------------------------------------------------


def perf_counts_instructions() -> tuple[bool, str]:
    if shutil.which("perf") is None:
        return False, "perf is not installed"
    done = subprocess.run(
        ["perf", "stat", "-x", ",", "-e", "instructions", "true"],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=30,
    )
    for line in done.stderr.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2].startswith("instructions"):
            if fields[0].isdigit():
                return True, "perf stat -e instructions counts here"
            return False, f"`perf stat -e instructions true` says {fields[0]!r} on this machine"
    return False, f"`perf stat -e instructions true` printed nothing usable: {done.stderr[-200:]}"


def from_hot_path_cost() -> tuple[int | None, str]:
    path = HERE / "results" / "hot_path_cost.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return (
            None,
            "bench/results/hot_path_cost.json does not exist (run make bench NAME=hot_path_cost)",
        )
    found = data.get("booking_accepted") or data.get("kinds", {}).get("booking_accepted")
    if not isinstance(found, dict) or not found.get("instructions"):
        return None, "bench/results/hot_path_cost.json holds no booking_accepted instructions"
    return int(found["instructions"]), (
        f"bench/results/hot_path_cost.json ({data.get('when', '?')}): booking_accepted "
        "instructions per request under callgrind, in-process through the ASGI application "
        "(no HAProxy, no network, no gunicorn); not measured in this run"
    )


# --- the rush through the balancer -------------------------------------------------------


def end_groups(pids_file: Path) -> None:
    """End the process groups the rush helper started, if it left any (killed on timeout)."""
    if not pids_file.exists():
        return
    for line in pids_file.read_text().split():
        pid = int(line)
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def rush(perf: bool) -> dict[str, Any]:
    problem = unavailable()
    if problem:
        return {"error": problem}
    workdir = Path(tempfile.mkdtemp(prefix="scale_out_"))
    pids_file = workdir / "pids"
    try:
        with throwaway_database("trafficdesk_bench_scale") as db_url:
            env = {
                **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
                "DATABASE_URL": db_url,
                "SECRET_KEY": secrets.token_urlsafe(48),
                "SMS_BACKEND": "trafficdesk.notify.backends.MemorySmsBackend",
                "DEBUG": "false",
                "LOG_LEVEL": "WARNING",
                "TRAFFICDESK_VAR_DIR": str(workdir / "var"),
                "DJANGO_SETTINGS_MODULE": "trafficdesk.settings",
            }
            for name in ("REDIS_URL", "REPLICA_DATABASE_URL", "LIVE_DATABASE_URL"):
                env.pop(name, None)
            started = time.perf_counter()
            manage(env, "migrate", "--no-input", "-v0")
            manage(env, "createcachetable")
            migrate_seconds = time.perf_counter() - started
            config = {
                "clients": CLIENTS,
                "phase_requests": PHASE_REQUESTS,
                "phase_seconds": PHASE_SECONDS,
                "warmup_seconds": WARMUP_SECONDS,
                "after_kill_seconds": AFTER_KILL_SECONDS,
                "slots": SLOTS,
                "people": PEOPLE,
                # every request a new ID, each declared on every account (real-name rule):
                # the measured window, the warm-up and the rush after the kill
                "ids_per_phase": 2 * PHASE_REQUESTS + 2000,
                # between the kill and HAProxy marking the server down, answers come fast
                # (HAProxy's own 503s): each takes an ID too
                "ids_after_kill": 6_000,
                "perf": perf,
                "pids_file": str(pids_file),
            }
            (workdir / "config.json").write_text(json.dumps(config))
            done = subprocess.run(
                [PYTHON, str(HERE / "_scale_rush.py"), str(workdir / "config.json"),
                 str(workdir / "result.json")],
                cwd=ROOT, env=env, capture_output=True, text=True,
                timeout=240 + 2 * PHASE_SECONDS,
            )  # fmt: skip
            if done.returncode != 0:
                return {"error": f"bench/_scale_rush.py failed: {done.stderr[-2000:]}"}
            result: dict[str, Any] = json.loads((workdir / "result.json").read_text())
            result["setup_migrate_seconds"] = round(migrate_seconds, 1)
            result["rush_seconds"] = round(time.perf_counter() - started, 1)
            return result
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        return {"error": f"{exc.cmd[:3]} failed: {stderr[-1500:]}"}
    except (subprocess.TimeoutExpired, OSError, psycopg.Error, ValueError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:2000]}
    finally:
        end_groups(pids_file)
        shutil.rmtree(workdir, ignore_errors=True)


# --- replica lag -------------------------------------------------------------------------


def replica_lag() -> dict[str, Any]:
    from scripts import pg_replica

    missing = pg_replica.missing_tools()
    if missing:
        return {"why": f"postgresql-common tools missing: {', '.join(missing)}"}
    if os.geteuid() != 0:
        return {"why": "pg_createcluster needs root to make throwaway clusters"}
    pgbench = pgbench_binary()
    workdir = Path(tempfile.mkdtemp(prefix="scale_out_lag_"))
    pair = pg_replica.create_pair()
    load: subprocess.Popen[str] | None = None
    try:
        primary_url = pair.url("primary").replace("postgres://", "postgresql://", 1)
        replica_url = pair.url("replica").replace("postgres://", "postgresql://", 1)
        with (
            psycopg.connect(primary_url, autocommit=True) as primary,
            psycopg.connect(replica_url, autocommit=True) as replica,
        ):
            primary.execute("CREATE TABLE lag_probe (id integer PRIMARY KEY)")
            primary.execute(
                "CREATE TABLE lag_load (id bigserial PRIMARY KEY, at timestamptz NOT NULL"
                " DEFAULT clock_timestamp(), pad text NOT NULL)"
            )
            deadline = time.monotonic() + 30
            while not replica.execute("SELECT to_regclass('lag_probe')").fetchone()[0]:
                if time.monotonic() > deadline:
                    raise RuntimeError("the replica did not show the probe table in 30 s")
                time.sleep(0.05)
            seconds = 60
            if pgbench:
                script = workdir / "load.sql"
                script.write_text(
                    "INSERT INTO lag_load (pad) SELECT repeat(md5(random()::text), 6)"
                    " FROM generate_series(1, 5);\n"
                )
                load = subprocess.Popen(  # noqa: S603
                    [pgbench, "-n", "-c", "2", "-j", "1", "-R", str(LAG_LOAD_RATE),
                     "-T", str(seconds), "-f", str(script), "-h", "127.0.0.1",
                     "-p", str(pair.primary_port), "-U", "postgres", "postgres"],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                )  # fmt: skip
                time.sleep(1.0)
            delays: list[float] = []
            timeouts = 0
            started = time.monotonic()
            for k in range(LAG_SAMPLES):
                if time.monotonic() - started > 40:
                    break
                primary.execute("INSERT INTO lag_probe (id) VALUES (%s)", (k,))
                committed = time.perf_counter()
                while True:
                    if replica.execute("SELECT 1 FROM lag_probe WHERE id = %s", (k,)).fetchone():
                        delays.append((time.perf_counter() - committed) * 1000)
                        break
                    if time.perf_counter() - committed > 5:
                        timeouts += 1
                        break
                    time.sleep(0.0005)
                time.sleep(0.01)
            loaded_rows = primary.execute("SELECT count(*) FROM lag_load").fetchone()[0]
            load_seconds = time.monotonic() - started + 1.0
        load_note = "no pgbench: no write load beside the probes"
        if load is not None:
            load.send_signal(signal.SIGINT)
            try:
                out, _err = load.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                load.kill()
                out, _err = load.communicate()
            tps = re.search(r"tps = ([\d.]+)", out or "")
            load_note = (
                f"pgbench -R {LAG_LOAD_RATE} -c 2 on the primary, each transaction INSERTing 5 "
                f"rows of 192 bytes; {loaded_rows} rows written in about {load_seconds:.0f} s"
                + (f" (pgbench tps {tps.group(1)})" if tps else "")
            )
        return {
            "replica_lag_ms_p99": round(p99(delays), 2) if delays else None,
            "replica_lag": {
                **summary_ms(delays),
                "timeouts_5s": timeouts,
                "load": load_note,
                "method": "INSERT of a probe row on the primary (synchronous_commit on, "
                "fsync off: throwaway clusters), then SELECT on the hot standby every 0.5 ms "
                "until it is visible; delay from the commit returning to the row visible",
            },
        }
    finally:
        if load is not None and load.poll() is None:
            load.kill()
            load.wait()
        pair.drop()
        shutil.rmtree(workdir, ignore_errors=True)


# --- national view delay -----------------------------------------------------------------


def national_delay() -> dict[str, Any]:
    from scripts import national_demo

    problem = national_demo.missing()
    if problem:
        return {"why": problem}
    started = time.perf_counter()
    demo = national_demo.up()
    try:
        setup_seconds = time.perf_counter() - started
        hubei = demo.province("42")
        delays: list[float] = []
        from_request: list[float] = []
        timeouts = 0
        levels = ("HIGH", "MEDIUM")
        with psycopg.connect(demo.national.url, autocommit=True) as national:
            begun = time.monotonic()
            for k in range(NATIONAL_SAMPLES):
                if time.monotonic() - begun > 60:
                    break
                level = levels[k % 2]
                sent = time.perf_counter()
                hubei.step("set_risk", NATIONAL_COUNTY, level)
                committed = time.perf_counter()
                while True:
                    row = national.execute(
                        "SELECT level FROM regions_countyrisk WHERE county_code = %s",
                        (NATIONAL_COUNTY,),
                    ).fetchone()
                    now = time.perf_counter()
                    if row and row[0] == level:
                        delays.append((now - committed) * 1000)
                        from_request.append((now - sent) * 1000)
                        break
                    if now - committed > 10:
                        timeouts += 1
                        break
                    time.sleep(0.002)
        return {
            "national_view_delay_ms_p99": round(p99(delays), 2) if delays else None,
            "national_view": {
                **summary_ms(delays),
                "from_request_p99_ms": round(p99(from_request) or 0.0, 2),
                "timeouts_10s": timeouts,
                "setup_seconds": round(setup_seconds, 1),
                "method": "the Hubei node (scripts/national_demo.py, its own process and "
                "settings) sets county 420103's risk level through set_risk_level, alternately "
                "HIGH and MEDIUM; the national database is polled every 2 ms until its "
                "regions_countyrisk row shows the level; delay from the step returning "
                "(committed) to the row visible (from_request: from the step being sent). "
                f"{NATIONAL_SAMPLES} samples: p99 is about the largest. One cluster for the "
                "three databases, as the demo makes it (synchronous_commit=off, "
                "wal_retrieve_retry_interval=200ms)",
            },
        }
    finally:
        national_demo.drop(demo)


# --- the benchmark -----------------------------------------------------------------------


def guarded(part: Any, *args: Any) -> dict[str, Any]:
    try:
        return part(*args)  # type: ignore[no-any-return]
    except Exception as exc:  # noqa: BLE001 - one part failing must not lose the others
        return {"why": f"{type(exc).__name__}: {exc}"[:1500]}


def run() -> dict[str, Any]:
    wall = time.perf_counter()
    perf_ok, perf_note = perf_counts_instructions()
    rushed = guarded(rush, perf_ok)
    lag = guarded(replica_lag)
    national = guarded(national_delay)

    one, two = rushed.get("one_server") or {}, rushed.get("two_servers") or {}
    figures: dict[str, Any] = {
        "requests_per_s": {
            "one_server": one.get("requests_per_s"),
            "two_servers": two.get("requests_per_s"),
        },
    }
    if perf_ok and one.get("perf_instructions_per_request"):
        figures["instructions_per_request"] = {
            "one_server": one.get("perf_instructions_per_request"),
            "two_servers": two.get("perf_instructions_per_request"),
            "source": "perf stat -e instructions attached to every server process over the "
            "measured windows, divided by the answers in them",
        }
    else:
        value, source = from_hot_path_cost()
        figures["instructions_per_request"] = {
            "one_server": value,
            "two_servers": value,
            "source": f"perf cannot count here ({perf_note}); {source}",
        }
        if value is None:
            figures["instructions_per_request"]["why"] = (
                "no instruction counter for the server processes on this machine and no "
                "hot_path_cost result to derive it from; server_cpu_ms_per_request is the "
                "measured per-request cost"
            )
    figures["server_cpu_ms_per_request"] = {
        "one_server": one.get("server_cpu_ms_per_request"),
        "two_servers": two.get("server_cpu_ms_per_request"),
        "note": "CPU time of the gunicorn trees (master + workers, /proc) in the measured "
        "window ÷ answers in it; noisy on a shared machine, unlike instruction counts",
    }
    figures["lost_acknowledged"] = rushed.get("lost_acknowledged")
    figures["overbooked_slots"] = rushed.get("overbooked_slots")
    figures["replica_lag_ms_p99"] = lag.get("replica_lag_ms_p99")
    figures["national_view_delay_ms_p99"] = national.get("national_view_delay_ms_p99")
    if "why" in lag or "error" in lag:
        figures["replica_lag_why"] = lag.get("why") or lag.get("error")
    if "why" in national:
        figures["national_view_why"] = national["why"]
    if "error" in rushed or "why" in rushed:
        figures["rush_why"] = rushed.get("error") or rushed.get("why")
    cores = os.cpu_count() or 0
    figures["speed_up_note"] = (
        f"This machine has {cores} cores, shared by the load generator (client threads in "
        "one Python process), HAProxy, every app server's 2 workers and PostgreSQL: a second "
        "app server adds processes, not cores, so it cannot show a speed-up here and "
        "two_servers requests_per_s is not expected to exceed one_server's. What carries to "
        "machines with cores to spare is the cost per request of each server "
        "(server_cpu_ms_per_request, instructions_per_request) and that nothing "
        "acknowledged was lost when one server was killed mid-rush."
    )
    figures["rush"] = {k: v for k, v in rushed.items() if k not in {"lost_acknowledged"}}
    figures["replica_lag"] = lag.get("replica_lag", lag)
    figures["national_view"] = national.get("national_view", national)
    figures["limits"] = {
        "clients": CLIENTS,
        "phase_requests": PHASE_REQUESTS,
        "phase_seconds": PHASE_SECONDS,
        "after_kill_seconds": AFTER_KILL_SECONDS,
        "replica_lag_samples": LAG_SAMPLES,
        "national_samples": NATIONAL_SAMPLES,
    }
    figures["meets_targets"] = {"lost_acknowledged_0": rushed.get("lost_acknowledged") == 0}
    # A window whose answers are not all bookings (201) measured something else (HAProxy's
    # own 503s, refusals): its requests_per_s is not the booking path's, say so.
    figures["checks"] = {
        "windows_all_201": all(
            set((phase.get("statuses") or {"none": 1}).keys()) == {"201"} for phase in (one, two)
        ),
        "overbooked_slots_0": rushed.get("overbooked_slots") == 0,
        "slots_counters_match": rushed.get("slots_counters_mismatch") == 0,
        "tests_rush_check": rushed.get("tests_rush_check"),
        "answers_between_kill_and_down": (rushed.get("kill") or {}).get("statuses_kill_to_down"),
    }
    figures["postgres"] = server_url().split("@")[-1]
    figures["wall_seconds"] = round(time.perf_counter() - wall, 1)
    return figures


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    print(json.dumps(run(), indent=2))
