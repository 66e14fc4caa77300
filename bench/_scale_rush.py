"""The booking-rush part of bench/scale_out.py, run as a subprocess with the servers' settings
(DATABASE_URL of a throwaway, migrated database; Django is set up once per process).

    python bench/_scale_rush.py CONFIG.json RESULT.json

It drives the code of tests/scale/test_two_servers.py: the demo loaded, citizens with sessions
(tests/real_server.session_for), slots of tests/rush.rush_slots, app servers of
tests/real_server.start_server (gunicorn, 2 uvicorn workers each, the test's SERVER_ENV),
HAProxy with deploy/haproxy.cfg filled in by scripts/run_cluster.py (tests/haproxy.py), and
the booking rush of tests/rush.Rush (client threads, a fresh connection per request; a 201 is
an acknowledged booking). Phases, each on slots of its own:

* `one_server`: one app server behind HAProxy; a measured window of at most
  `phase_requests` answers or `phase_seconds` seconds.
* `two_servers`: two app servers behind HAProxy; the same measured window, then app1 is
  SIGKILLed mid-rush, the rush goes on for `after_kill_seconds` after HAProxy marks it down.

CPU seconds of each server's process tree (gunicorn master and workers, /proc) are read at
the start and end of each measured window; with `perf` true, `perf stat -e instructions` is
attached to every server process over the window too. Afterwards: every acknowledged booking
of every phase must exist and be active; no slot over capacity; counters equal bookings.
Each server and HAProxy's process group id is written to `pids_file` as it starts, so that
the parent can end them if this process is killed.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trafficdesk.settings")

import django  # noqa: E402

django.setup()

from django.db.models import Count, F, Q  # noqa: E402

from bench.booking_rush import processes  # noqa: E402
from tests import haproxy  # noqa: E402
from tests.booking.conftest import make_id  # noqa: E402
from tests.real_server import free_port, kill_hard, session_for, start_server, stop  # noqa: E402
from tests.rush import (  # noqa: E402
    RUSH_IDS,
    Rush,
    assert_nothing_lost_or_overbooked,
    declare_rush_ids,
    may_book_the_rush_ids,
    rush_slots,
)
from tests.scale.test_two_servers import SERVER_ENV, _sessions_total, _wait_states  # noqa: E402
from trafficdesk.accounts.models import User  # noqa: E402
from trafficdesk.booking.models import Booking, Slot  # noqa: E402
from trafficdesk.catalog.models import Business  # noqa: E402
from trafficdesk.demo.services import load_demo  # noqa: E402
from trafficdesk.sites.models import ServicePoint  # noqa: E402

FIRST_ONE = 20_000  # tests/rush.Rush's default first serial
SECOND_FIRST = 26_000  # up to 21,000 IDs for phase two: 26,001 ... 46,999 (mod 28,000)


def declare(users: list[User], serials: range) -> None:
    """More of the rush's ID numbers declared on every account (tests/rush.declare_rush_ids):
    the real-name rule lets an account book only for its own ID and its declared family
    members', and a phase here sends more requests (each a new ID) than RUSH_IDS."""
    declare_rush_ids(users, serials)


def tree_pids(master: int) -> list[int]:
    return [pid for pid, (_c, ppid, _cpu) in processes().items() if master in (pid, ppid)]


def tree_cpu(master: int) -> float:
    """CPU seconds of a gunicorn master, its workers and its exited children."""
    return sum(cpu for pid, (_c, ppid, cpu) in processes().items() if master in (pid, ppid))


def postgres_cpu() -> float:
    return sum(cpu for _pid, (command, _p, cpu) in processes().items() if command == "postgres")


class Perf:
    """`perf stat -e instructions` attached to the given processes until stopped."""

    def __init__(self, pids: list[int], folder: Path) -> None:
        self.out = folder / f"perf-{time.monotonic_ns()}.txt"
        self.proc = subprocess.Popen(  # noqa: S603
            ["perf", "stat", "-x", ",", "-e", "instructions", "-o", str(self.out),  # noqa: S607
             "-p", ",".join(map(str, pids))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.2)

    def stop(self) -> int | None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None
        for line in self.out.read_text(errors="replace").splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[2].startswith("instructions"):
                return int(fields[0]) if fields[0].isdigit() else None
        return None


def haproxy_counts(stats: str) -> dict[str, dict[str, int]]:
    """HAProxy's own counters per server and for the backend: responses by class, connection
    errors, retries and redispatches (a 5xx on the BACKEND row and not on a server's is one
    HAProxy made itself)."""
    text = haproxy.cluster().haproxy_command(stats, "show stat")
    header, *rows = [line for line in text.splitlines() if line.strip()]
    columns = header.lstrip("# ").split(",")
    wanted = ("stot", "hrsp_2xx", "hrsp_4xx", "hrsp_5xx", "econ", "eresp", "wretr", "wredis")
    found = {}
    for row in rows:
        values = dict(zip(columns, row.split(","), strict=False))
        if values.get("pxname") == "app":
            found[values["svname"]] = {k: int(values[k] or 0) for k in wanted if k in values}
    return found


def counts(rush: Rush) -> dict[str, int]:
    with rush._lock:  # noqa: SLF001 - a consistent copy of the rush's own counter
        return {str(k): v for k, v in rush.statuses.items()}


def minus(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def record(pids_file: Path, pid: int) -> None:
    with pids_file.open("a") as out:
        out.write(f"{pid}\n")


PORT_OF: dict[int, int] = {}


def health(servers: list[subprocess.Popen[bytes]], stats: str) -> dict[str, Any]:
    """Each server: alive, its processes, its own /readyz answer, HAProxy's view."""
    ready = []
    for server in servers:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT_OF[server.pid], timeout=5)
            conn.request("GET", "/readyz", headers={"Host": "localhost"})
            ready.append(conn.getresponse().status)
            conn.close()
        except (OSError, http.client.HTTPException) as exc:
            ready.append(type(exc).__name__)
    return {
        "alive": [server.poll() is None for server in servers],
        "processes": [len(tree_pids(server.pid)) for server in servers],
        "readyz": ready,
        "haproxy": haproxy.cluster().server_states(stats),
    }


def cluster(
    count: int, folder: Path, pids_file: Path
) -> tuple[list[subprocess.Popen[bytes]], subprocess.Popen[bytes], int, str]:
    """`count` app servers behind HAProxy, all UP."""
    servers: list[subprocess.Popen[bytes]] = []
    addresses = []
    for i in range(count):
        port = free_port()
        servers.append(start_server(port, workers=2, **SERVER_ENV))
        PORT_OF[servers[-1].pid] = port
        record(pids_file, servers[-1].pid)
        addresses.append((f"app{i + 1}", f"127.0.0.1:{port}"))
    proxy_port = free_port()
    stats = str(folder / f"haproxy-{count}.sock")
    config = haproxy.cluster().haproxy_config(f"127.0.0.1:{proxy_port}", addresses, stats)
    sub = folder / f"haproxy-{count}"
    sub.mkdir()
    proxy = haproxy.start(config, sub, proxy_port)
    record(pids_file, proxy.pid)
    warm(servers, stats)
    return servers, proxy, proxy_port, stats


def warm(servers: list[subprocess.Popen[bytes]], stats: str, timeout: float = 60) -> None:
    """HAProxy starts with every server UP before any check has run; a cold server's first
    /readyz can take longer than `timeout check 2s`, so two failed checks would take it out
    for a while just as the rush starts (seen here: thousands of HAProxy 503s). So: each
    server answers /readyz itself, quickly, several times; then two check intervals pass and
    HAProxy still sees every server UP."""
    deadline = time.monotonic() + timeout
    names = {f"app{i + 1}": "UP" for i in range(len(servers))}
    while time.monotonic() < deadline:
        quick = 0
        for _ in range(5):
            started = time.monotonic()
            answers = health(servers, stats)["readyz"]
            if all(a == 200 for a in answers) and time.monotonic() - started < 0.5:
                quick += 1
        time.sleep(2.5)  # inter 1s fall 2: a failing server would be DOWN by now
        if quick == 5 and haproxy.cluster().server_states(stats) == names:
            return
    raise RuntimeError(f"servers not steadily UP in {timeout:.0f} s: {health(servers, stats)}")


def probe(rush: Rush) -> str:
    """One booking request as the rush sends it, its status and body (for the error)."""
    session_key, csrf = rush.sessions[0]
    conn = http.client.HTTPConnection("127.0.0.1", rush.port(), timeout=10)
    conn.request(
        "POST",
        "/api/v1/bookings",
        json.dumps(
            {"slot": rush.slot_ids[0], "businesses": [rush.business], "id_number": make_id(99_999)}
        ),
        {
            "Content-Type": "application/json",
            "X-CSRFToken": csrf,
            "Referer": "http://127.0.0.1/",
            "Cookie": f"sessionid={session_key}; csrftoken={csrf}",
        },
    )
    response = conn.getresponse()
    return f"{response.status} {response.read()[:600]!r}"


def measured_window(
    rush: Rush,
    servers: list[subprocess.Popen[bytes]],
    cfg: dict[str, Any],
    folder: Path,
    stats: str,
) -> dict[str, Any]:
    """Wait for the first acknowledged booking (every server warm), then measure."""
    if not rush.wait_for_acknowledged(1, timeout=60):
        raise RuntimeError(
            f"no booking acknowledged in 60 s: {dict(rush.statuses)}; one answer: {probe(rush)}"
        )
    time.sleep(cfg["warmup_seconds"])
    before_window = counts(rush)
    perf = None
    if cfg["perf"]:
        perf = Perf([p for s in servers for p in tree_pids(s.pid)], folder)
    health_before = health(servers, stats)
    cpu0 = {s.pid: tree_cpu(s.pid) for s in servers}
    pg0 = postgres_cpu()
    answered0, acknowledged0 = rush.answered(), len(rush.acknowledged)
    statuses0 = counts(rush)
    started = time.monotonic()
    while (
        rush.answered() - answered0 < cfg["phase_requests"]
        and time.monotonic() - started < cfg["phase_seconds"]
    ):
        time.sleep(0.05)
    seconds = time.monotonic() - started
    answered = rush.answered() - answered0
    statuses = minus(counts(rush), statuses0)
    cpu = [tree_cpu(s.pid) - cpu0[s.pid] for s in servers]
    pg = postgres_cpu() - pg0
    instructions = perf.stop() if perf is not None else None
    health_after = health(servers, stats)
    return {
        "servers": len(servers),
        "requests": answered,
        "acknowledged": len(rush.acknowledged) - acknowledged0,
        "statuses": statuses,
        "statuses_before_window": before_window,
        "health_before": health_before,
        "health_after": health_after,
        "seconds": round(seconds, 2),
        "requests_per_s": round(answered / seconds, 1) if seconds else None,
        "server_cpu_seconds": [round(c, 2) for c in cpu],
        "server_cpu_ms_per_request": round(1000 * sum(cpu) / max(1, answered), 2),
        "postgres_cpu_ms_per_request": round(1000 * pg / max(1, answered), 2),
        "perf_instructions_per_request": round(instructions / answered)
        if instructions and answered
        else None,
    }


def main(cfg: dict[str, Any]) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="scale_out_"))
    try:
        return phases(cfg, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def phases(cfg: dict[str, Any], folder: Path) -> dict[str, Any]:
    pids_file = Path(cfg["pids_file"])
    load_demo()
    hall = ServicePoint.objects.get(code="GY-HALL-01")
    p01 = Business.objects.get(code="P01")
    users = [
        User.objects.create(username=f"scale-{i}", mobile=f"1350001{i:04d}", role="citizen")
        for i in range(cfg["clients"])
    ]
    # Each phase books make_id(first + 1), make_id(first + 2), ..., once each. make_id gives
    # 28,000 distinct numbers (serial mod 28,000), 19,000 + i being each account's own: phase
    # one has FIRST_ONE + 1 ..., phase two SECOND_FIRST + 1 ... up to below 47,000.
    setup_started = time.monotonic()
    if cfg["ids_per_phase"] + cfg["ids_after_kill"] > 47_000 - SECOND_FIRST:
        raise RuntimeError("more IDs asked for than make_id has distinct numbers")
    may_book_the_rush_ids(users, first_serial=FIRST_ONE)  # binds each account's own ID too
    declare(users, range(FIRST_ONE + 1 + RUSH_IDS, FIRST_ONE + 1 + cfg["ids_per_phase"]))
    second = cfg["ids_per_phase"] + cfg["ids_after_kill"]
    declare(users, range(SECOND_FIRST + 1, SECOND_FIRST + 1 + second))
    sessions = [session_for(u) for u in users]
    declare_seconds = time.monotonic() - setup_started
    made = rush_slots(hall, p01.category, count=2 * cfg["slots"], people=cfg["people"])
    one_slots, two_slots = made[: cfg["slots"]], made[cfg["slots"] :]
    result: dict[str, Any] = {
        "clients": cfg["clients"],
        "slots_per_phase": cfg["slots"],
        "declare_ids_seconds": round(declare_seconds, 1),
    }
    acknowledged: list[str] = []
    statuses: dict[str, dict[str, int]] = {}

    # Phase 1: one app server behind HAProxy.
    servers, proxy, port, stats = cluster(1, folder, pids_file)
    try:
        with Rush(lambda: port, sessions, one_slots, first_serial=FIRST_ONE) as rush:
            result["one_server"] = measured_window(rush, servers, cfg, folder, stats)
        acknowledged += rush.acknowledged
        statuses["one_server"] = {str(k): v for k, v in rush.statuses.items()}
    finally:
        haproxy.stop(proxy)
        for server in servers:
            stop(server)

    # Phase 2: two app servers; then app1 is SIGKILLed mid-rush.
    servers, proxy, port, stats = cluster(2, folder, pids_file)
    try:
        with Rush(lambda: port, sessions, two_slots, first_serial=SECOND_FIRST) as rush:
            result["two_servers"] = measured_window(rush, servers, cfg, folder, stats)
            sent = [_sessions_total(stats, "app1"), _sessions_total(stats, "app2")]
            acknowledged_at_kill = len(rush.acknowledged)
            at_kill, proxy_at_kill = counts(rush), haproxy_counts(stats)
            kill_hard(servers[0])
            down_after = _wait_states(stats, {"app1": "DOWN", "app2": "UP"}, timeout=10)
            answered_at_down, at_down = rush.answered(), counts(rush)
            proxy_at_down = haproxy_counts(stats)
            time.sleep(cfg["after_kill_seconds"])
            at_end, proxy_at_end = counts(rush), haproxy_counts(stats)
            result["kill"] = {
                "statuses_kill_to_down": minus(at_down, at_kill),
                "statuses_after_down": minus(at_end, at_down),
                "haproxy_kill_to_down": {
                    name: minus(v, proxy_at_kill.get(name, {})) for name, v in proxy_at_down.items()
                },
                "haproxy_after_down": {
                    name: minus(v, proxy_at_down.get(name, {})) for name, v in proxy_at_end.items()
                },
                "killed": "app1 (SIGKILL to its process group, mid-rush)",
                "sent_by_haproxy_before_kill": {"app1": sent[0], "app2": sent[1]},
                "marked_down_after_s": round(down_after, 2),
                "answered_by_survivor_after_down": rush.answered() - answered_at_down,
                "acknowledged_before_kill": acknowledged_at_kill,
            }
        result["kill"]["acknowledged_total"] = len(rush.acknowledged)
        acknowledged += rush.acknowledged
        statuses["two_servers"] = {str(k): v for k, v in rush.statuses.items()}
    finally:
        haproxy.stop(proxy)
        for server in servers:
            if server.poll() is None:
                stop(server)

    # What must hold whatever happened to the servers.
    active = set(Booking.objects.filter(status="active").values_list("token", flat=True))
    slots = one_slots + two_slots
    result["acknowledged"] = len(acknowledged)
    result["lost_acknowledged"] = len(set(acknowledged) - active)
    result["duplicate_acknowledged_tokens"] = len(acknowledged) - len(set(acknowledged))
    result["overbooked_slots"] = Slot.objects.filter(
        Q(booked_people__gt=F("capacity_people")) | Q(booked_minutes__gt=F("capacity_minutes"))
    ).count()
    result["slots_counters_mismatch"] = sum(
        1
        for slot in Slot.objects.filter(pk__in=[s.pk for s in slots]).annotate(
            active=Count("bookings", filter=Q(bookings__status="active"))
        )
        if slot.booked_people != slot.active
    )
    try:
        assert_nothing_lost_or_overbooked(acknowledged, slots)
        result["tests_rush_check"] = "passed (tests/rush.assert_nothing_lost_or_overbooked)"
    except AssertionError as exc:
        result["tests_rush_check"] = f"FAILED: {exc}"[:500]
    result["statuses"] = statuses
    return result


if __name__ == "__main__":
    config = json.loads(Path(sys.argv[1]).read_text())
    Path(sys.argv[2]).write_text(json.dumps(main(config)))
