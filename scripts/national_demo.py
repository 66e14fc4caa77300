"""Two province databases and a national one, on this machine (docs/scaling.md, "One database
per province, the national view"; docs/adr/0003-province-databases.md).

    .venv/bin/python scripts/national_demo.py up      # cluster, databases, replication
    .venv/bin/python scripts/national_demo.py down    # drop every tdnat_* cluster

The three databases (td_national, td_p52, td_p42) live in one PostgreSQL cluster of their
own (pg_createcluster, wal_level=logical, trust, a free port); the machine's main cluster is
never touched. Within one cluster a subscription's slot must be made before CREATE
SUBSCRIPTION (create_slot = false), which `manage.py national_setup` does by itself when it
finds the publisher in its own cluster; on separate servers it is not needed.

Each node's work runs in a process of its own with that node's DATABASE_URL and
PROVINCE_CODE (Django settings are per process): `national_demo.py serve` sets Django up
once and runs the steps (STEPS) it reads, one JSON line each. tests/scale/test_national.py
drives the same functions."""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
PG_VERSION = "15"
PREFIX = "tdnat_"
#: Province code → the county where the demo puts its hall and its checkpoint.
PROVINCES = {"52": "520115", "42": "420102"}
SERVER_OPTIONS = (
    "wal_level=logical",
    "max_replication_slots=10",
    "max_wal_senders=10",
    "max_logical_replication_workers=6",
    "max_worker_processes=12",
    "wal_retrieve_retry_interval=200ms",
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "shared_buffers=32MB",
)
MARK = "@@national-demo@@ "
#: The longest a step may take (migrating takes the longest) before the driver gives up.
STEP_SECONDS = 240


def missing() -> str | None:
    """Why the cluster cannot be made here, or None."""
    for tool in ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "pg_lsclusters"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install postgresql-{PG_VERSION})"
    return None


@dataclass
class Node:
    """A TrafficDesk node: its database, and the process that runs its steps."""

    role: str  # "national" or a province code
    port: int
    worker: subprocess.Popen[str] | None = None
    answers: queue.Queue[str | None] = field(default_factory=queue.Queue)

    @property
    def database(self) -> str:
        return "td_national" if self.role == "national" else f"td_p{self.role}"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    @property
    def province(self) -> str:
        return "" if self.role == "national" else self.role

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.url.replace("postgresql://", "postgres://", 1),
            PROVINCE_CODE=self.province,
            PROVINCE_NODES=",".join(f"{c}=https://{c}.122.example" for c in PROVINCES),
            SECRET_KEY=env.get("SECRET_KEY") or "national-demo-key-" + "x" * 40,
            DJANGO_SETTINGS_MODULE="trafficdesk.settings",
            PYTHONUNBUFFERED="1",
        )
        env.pop("TEST_POSTGRES_URL", None)
        return env

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(query.encode(), params)
            return list(cursor.fetchall()) if cursor.description else []

    def start(self) -> None:
        """The node's process: Django set up once with this node's settings, then one step
        per line read (`serve`)."""
        self.worker = subprocess.Popen(  # noqa: S603 - this script, with this node's settings
            [sys.executable, str(Path(__file__).resolve()), "serve"],
            env=self.env(),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.answers = queue.Queue()
        threading.Thread(target=self._read, args=(self.worker, self.answers), daemon=True).start()

    @staticmethod
    def _read(worker: subprocess.Popen[str], answers: queue.Queue[str | None]) -> None:
        assert worker.stdout is not None
        for line in worker.stdout:
            if line.startswith(MARK):
                answers.put(line[len(MARK) :])
        answers.put(None)

    def send(self, name: str, *args: Any) -> None:
        assert self.worker is not None and self.worker.stdin is not None
        self.worker.stdin.write(json.dumps([name, [str(a) for a in args]]) + "\n")
        self.worker.stdin.flush()

    def receive(self, timeout: float = STEP_SECONDS) -> Any:
        try:
            line = self.answers.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"the {self.role} node did not answer in {timeout} s") from None
        if line is None:
            raise RuntimeError(f"the {self.role} node's process ended")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{self.role}: {answer['error']}")
        return answer["result"]

    def step(self, name: str, *args: Any) -> Any:
        self.send(name, *args)
        return self.receive()

    def stop(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            assert self.worker.stdin is not None
            self.worker.stdin.close()
            try:
                self.worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()


@dataclass
class Demo:
    cluster: str
    port: int
    nodes: dict[str, Node] = field(default_factory=dict)
    seeded: dict[str, Any] = field(default_factory=dict)

    @property
    def national(self) -> Node:
        return self.nodes["national"]

    def province(self, code: str) -> Node:
        return self.nodes[code]

    def admin_sql(self, query: str) -> None:
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres",
            autocommit=True,
            connect_timeout=5,
        ) as conn:
            conn.execute(query.encode())


def _tool(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """One of PostgreSQL's cluster tools, with our own arguments."""
    return subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=timeout, check=False
    )


def _clusters() -> dict[str, str]:
    """This machine's clusters of PG_VERSION: name → port."""
    out = _tool(["pg_lsclusters", "-h"], timeout=30)
    found = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == PG_VERSION:
            found[parts[1]] = parts[2]
    return found


def _free_port() -> int:
    taken = {int(p) for p in _clusters().values()}
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in taken and port > 10000:
            return port
    raise RuntimeError("no free port")


def _wait_answers(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(
                f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2
            ) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def make_cluster() -> Demo:
    """A cluster of its own (wal_level=logical, trust, a free port), started."""
    name = f"{PREFIX}{secrets.token_hex(4)}"
    port = _free_port()
    options = [arg for option in SERVER_OPTIONS for arg in ("-o", option)]
    done = _tool(
        ["pg_createcluster", PG_VERSION, name, "-p", str(port), "--start", *options]
        + ["--start-conf=manual", "--", "--auth=trust", "--no-sync"],
        timeout=180,
    )
    demo = Demo(name, port)
    if done.returncode != 0:
        drop(demo)
        raise RuntimeError(f"pg_createcluster {name}: {done.stderr[-2000:]}")
    _wait_answers(port)
    demo.nodes = {role: Node(role, port) for role in ("national", *PROVINCES)}
    return demo


def drop(demo: Demo) -> None:
    """Stop the nodes' processes, then the cluster (immediately: it is thrown away)."""
    for node in demo.nodes.values():
        node.stop()
    _tool(["pg_ctlcluster", PG_VERSION, demo.cluster, "stop", "-m", "immediate"], timeout=60)
    _tool(["pg_dropcluster", "--stop", PG_VERSION, demo.cluster], timeout=60)


def make_databases(demo: Demo) -> None:
    """Migrate the national database in its node's process, then make the provinces' as
    copies of it (CREATE DATABASE ... TEMPLATE: the same migrations, in a moment)."""
    national = demo.national
    demo.admin_sql(f"CREATE DATABASE {national.database}")
    national.start()
    national.step("migrate")
    for code in PROVINCES:
        demo.admin_sql(
            f"CREATE DATABASE {demo.province(code).database} TEMPLATE {national.database}"
        )
        demo.province(code).start()


def setup_replication(demo: Demo) -> None:
    """`manage.py national_setup` on each node: publications first (a subscription's first
    copy reads its publication), then the national subscriptions, then the provinces'."""
    for code in PROVINCES:
        demo.province(code).step("setup", "--role", "province")
    provinces = [arg for c in PROVINCES for arg in ("--province", f"{c}={demo.province(c).url}")]
    demo.national.step("setup", "--role", "national", *provinces)
    for code in PROVINCES:
        demo.province(code).step("setup", "--role", "province", "--national-url", demo.national.url)


def wait_for(check: Callable[[], bool], timeout: float = 30, what: str = "replication") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not catch up in {timeout} s")
        time.sleep(0.2)


def up() -> Demo:
    demo = make_cluster()
    try:
        make_databases(demo)
        for code in PROVINCES:
            demo.province(code).send("seed")
        demo.seeded = {code: demo.province(code).receive() for code in PROVINCES}
        setup_replication(demo)
    except BaseException:
        drop(demo)
        raise
    return demo


# --- steps, run inside a node's process -------------------------------------------------------


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _resident_id(county: str, n: int) -> str:
    from trafficdesk.core.validators import id_check_char

    first17 = f"{county}19900301{n:03d}"
    return first17 + id_check_char(first17)


def _admin() -> Any:
    from trafficdesk.accounts.models import User

    return User.objects.get(username=f"admin{os.environ['PROVINCE_CODE']}")


def step_seed() -> dict[str, Any]:
    """A province administrator, phase 3, one hall with an open window, a slot soon,
    a checkpoint, and the hall's county at low risk: all through the services."""
    from django.utils import timezone

    from trafficdesk.accounts.access import SYSTEM
    from trafficdesk.accounts.models import Role
    from trafficdesk.accounts.services import create_staff_user
    from trafficdesk.booking.models import Slot
    from trafficdesk.catalog.models import Business
    from trafficdesk.checkpoint.models import Checkpoint, CheckpointKind
    from trafficdesk.checkpoint.services import save_checkpoint
    from trafficdesk.core.vocabulary import RiskLevel, ServicePointKind, WindowKind
    from trafficdesk.policy.services import set_phase
    from trafficdesk.regions.models import Region
    from trafficdesk.regions.services import set_risk_level
    from trafficdesk.sites.models import ServicePoint, Window, Zone
    from trafficdesk.sites.services import save_service_point, save_window, save_zone

    code = os.environ["PROVINCE_CODE"]
    county = Region.objects.get(code=PROVINCES[code])
    province = Region.objects.get(code=f"{code}0000")
    admin = create_staff_user(
        f"admin{code}", secrets.token_urlsafe(16), Role.REGIONAL_ADMIN, province
    )
    yesterday = timezone.now() - timedelta(days=1)
    set_phase(admin, province, 3, reason="demo", effective_from=yesterday)
    point = save_service_point(
        SYSTEM,
        ServicePoint(
            code=f"HALL-{code}",
            name_zh=f"{province.name_zh}车管所",
            name_en="Vehicle Administration Office",
            kind=ServicePointKind.HALL,
            region=county,
            address="demo",
            ppe_complete=True,
            service_area_m2=1000,
            diversion_ease=3,
        ),
    )
    zone = save_zone(SYSTEM, Zone(service_point=point, name_zh="大厅", occupancy_cap=40))
    plates = Business.objects.get(code="P01")
    save_window(
        SYSTEM,
        Window(service_point=point, zone=zone, number=1, kind=WindowKind.NORMAL, is_open=True),
        [plates],
    )
    start = (timezone.now() + timedelta(minutes=5)).replace(second=7, microsecond=0)
    slot = Slot.objects.create(
        service_point=point,
        category=plates.category,
        starts_at=start,
        ends_at=start + timedelta(minutes=60),
        capacity_minutes=100,
        capacity_people=5,
        priority_release_at=timezone.now() - timedelta(hours=1),
    )
    checkpoint = Checkpoint(
        code=f"CP-{code}",
        name_zh="收费站",
        kind=CheckpointKind.TOLL_STATION,
        region=county,
    )
    save_checkpoint(SYSTEM, checkpoint)
    set_risk_level(admin, county, RiskLevel.LOW, reason="demo", effective_from=yesterday)
    return {"slot": slot.pk, "point": point.code}


def step_book(slot_id: str, n: str) -> dict[str, Any]:
    """A citizen books the slot through the booking services."""
    from trafficdesk.accounts.models import User
    from trafficdesk.booking import services

    code = os.environ["PROVINCE_CODE"]
    citizen = User.objects.create(
        username=f"citizen-{n}", mobile=f"1370000{int(n):04d}", role="citizen"
    )
    booking = services.book(citizen, int(slot_id), ["P01"], _resident_id(PROVINCES[code], int(n)))
    return {"booking": booking.pk, "token": booking.token}


def step_bookings() -> dict[str, Any]:
    from trafficdesk.booking.models import Booking

    return {"tokens": sorted(Booking.objects.values_list("token", flat=True))}


def step_refresh() -> dict[str, Any]:
    """Recompute this node's read-model rows; the figures it computed, summed."""
    from django.utils import timezone

    from trafficdesk.national.services import county_figures, refresh_snapshot

    now = timezone.now()
    done = refresh_snapshot(now)
    totals: dict[str, int] = {}
    for figures in county_figures(now).values():
        for name, value in figures.items():
            totals[name] = totals.get(name, 0) + value
    return {"totals": totals, "online_backlog": done.online_backlog, "risk_rows": done.risk_rows}


def step_set_risk(county: str, level: str) -> dict[str, Any]:
    from trafficdesk.regions.models import Region
    from trafficdesk.regions.services import set_risk_level

    set_risk_level(_admin(), Region.objects.get(code=county), level, reason="demo")
    return {"ok": True}


def step_register(checkpoint: str, origin: str, n: str) -> dict[str, Any]:
    """A traveller registers at the checkpoint, coming from `origin`."""
    from trafficdesk.checkpoint.models import Checkpoint
    from trafficdesk.checkpoint.services import register

    registration = register(
        Checkpoint.objects.get(code=checkpoint),
        {
            "name": "张三",
            "id_number": _resident_id(origin, int(n)),
            "mobile": f"1380000{int(n):04d}",
            "plate": "鄂A12345",
            "origin": origin,
            "destination": "贵阳",
            "passengers": 1,
        },
    )
    return {
        "from_risk_area": registration.from_risk_area,
        "origin_risk": registration.origin_risk,
        "reasons": [r[0] for r in registration.flag_reasons],
    }


def step_view() -> dict[str, Any]:
    from trafficdesk.national.services import national_view

    provinces, total = national_view()
    return {"provinces": {p.code: p.as_dict() for p in provinces}, "total": total.as_dict()}


def step_migrate() -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connections

    from trafficdesk.catalog.services import load_catalogue
    from trafficdesk.regions.services import load_divisions

    call_command("migrate", verbosity=0, skip_checks=True)
    # Reference data every node holds: the two provinces' divisions (a checkpoint's arrivals
    # come from anywhere; the real nodes load the whole country) and the catalogue.
    for code in PROVINCES:
        load_divisions(code)
    load_catalogue()
    connections.close_all()  # the database is the others' template: no session may stay
    return {"ok": True}


def step_setup(*args: str) -> dict[str, Any]:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("national_setup", *args, stdout=out)
    return {"done": out.getvalue().splitlines()}


STEPS: dict[str, Callable[..., dict[str, Any]]] = {
    "migrate": step_migrate,
    "setup": step_setup,
    "seed": step_seed,
    "book": step_book,
    "bookings": step_bookings,
    "refresh": step_refresh,
    "set_risk": step_set_risk,
    "register": step_register,
    "view": step_view,
}


def serve() -> int:
    """Run the steps named on standard input, one JSON line each; answer on standard output
    after MARK (whatever else a step prints is ignored)."""
    import traceback

    _setup_django()
    for line in sys.stdin:
        name, args = json.loads(line)
        try:
            answer = {"result": STEPS[name](*args)}
        except Exception as exc:  # reported to the driver, which raises it
            answer = {"error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-2000:]}"}
        print(MARK + json.dumps(answer, default=str), flush=True)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        return serve()
    if argv[:1] == ["up"]:
        problem = missing()
        if problem:
            print(problem, file=sys.stderr)
            return 1
        demo = up()
        for node in demo.nodes.values():
            node.stop()
            print(f"{node.role}: DATABASE_URL={node.url} PROVINCE_CODE={node.province}")
        print(f"cluster {PG_VERSION}/{demo.cluster}; `national_demo.py down` drops it.")
        return 0
    if argv[:1] == ["down"]:
        names = [name for name in _clusters() if name.startswith(PREFIX)]
        for name in names:
            drop(Demo(name, 0))
        print(f"dropped {len(names)} clusters")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
