"""What one request costs: Python instructions and SQL statements per request, for each hot
path beside a lean reference endpoint measured in the same run.

* A throwaway PostgreSQL database (trafficdesk_bench_hot_<hex>), migrated; the demo and the
  run's data made by bench/_hot_path_setup.py (citizens with sessions, a roomy slot, a full
  slot, 120 walk-in tickets at window 3 of GY-HALL-01, the clerk's session). Each of the two
  runs below gets its own copy (CREATE DATABASE ... TEMPLATE), so both start from the same
  state; all are dropped at the end, even on failure.
* Run 1, plain: bench/_hot_path_probe.py makes the requests in-process through the product's
  ASGI application (trafficdesk.asgi with every middleware) and the lean reference endpoints
  (bench/_lean_reference.py: the same work in raw SQL, under the same handler class, no
  middleware) and counts SQL statements on every connection and thread; every answer's status
  is checked.
* Run 2, under valgrind's callgrind (instruction counts repeat exactly on a noisy machine):
  each measured batch runs inside one ctypes call (ffi_call), and callgrind dumps a profile part
  before and after it, so a part holds exactly one batch, all threads included. Warm-up
  requests run before each batch, outside it. Under valgrind everything runs ~50x slower, so
  the run stretches its time windows: LOCAL_CACHE_SECONDS=120 (per-process caches live as they
  would for 2.4 s of real time) and SMS_DELIVERY_BATCH_MS=60000 (notice deliveries are batched
  per process, one send for many requests, as at full speed). PYTHONHASHSEED=0 for repeatable
  dict and set layouts.

Figures per kind: `instructions` and `statements` per request, the reference's, and
`ratio` = product / reference (instructions). `board_event` is per board and event.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench._pg import server_url, throwaway_database, unavailable
from bench.booking_rush import PYTHON, manage

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KINDS = (
    "booking_accepted",
    "booking_refused_full",
    "call_next_complete",
    "open_page",
    "board_event",
)
TARGETS = {
    "booking_accepted_ratio_max": 1.5,
    "booking_refused_full_statements_max": 2,
    "call_next_complete_instructions_max": 6_000_000,
}


def environment(db_url: str, workdir: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "DJANGO_SETTINGS_MODULE": "bench._hot_path_settings",
        "DATABASE_URL": db_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SMS_BACKEND": "trafficdesk.notify.backends.MemorySmsBackend",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "testserver,127.0.0.1",
        "TRAFFICDESK_VAR_DIR": str(workdir / "var"),
        "LOCAL_CACHE_SECONDS": "120",
        "SMS_DELIVERY_BATCH_MS": "60000",
        "PYTHONHASHSEED": "0",
    }


@contextmanager
def copy_of(db_url: str) -> Iterator[str]:
    """A copy of the prepared database, dropped afterwards."""
    admin = server_url().replace("postgres://", "postgresql://", 1)
    source = urlsplit(db_url).path.lstrip("/")
    name = f"{source}_{secrets.token_hex(2)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    try:
        yield urlunsplit(urlsplit(db_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def probe(env: dict[str, str], setup: Path, out: Path, valgrind_dir: Path | None) -> dict[str, Any]:
    command = [PYTHON, str(HERE / "_hot_path_probe.py"), str(setup), str(out)]
    if valgrind_dir is not None:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--dump-before=ffi_call",
            "--dump-after=ffi_call",
            f"--callgrind-out-file={valgrind_dir}/callgrind.out.%p",
            *command,
        ]
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=1800, capture_output=True)
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def batches(valgrind_dir: Path) -> list[int]:
    """Instructions of each measured batch, in order: the parts dumped after ffi_call."""
    parts: list[tuple[int, int]] = []
    for path in valgrind_dir.glob("callgrind.out.*"):
        text = path.read_text(errors="replace")[:4096]
        if "Trigger: --dump-after=ffi_call" not in text:
            continue
        part = int(re.search(r"^part: (\d+)", text, re.M).group(1))  # type: ignore[union-attr]
        summary = re.search(r"^summary: (\d+)", path.read_text(errors="replace"), re.M)
        assert summary is not None, path
        parts.append((part, int(summary.group(1))))
    return [instructions for _part, instructions in sorted(parts)]


def figures(
    plain: dict[str, Any], counted: dict[str, Any], instructions: list[int]
) -> dict[str, Any]:
    order = counted["order"]
    if len(order) != len(instructions):
        raise RuntimeError(f"{len(instructions)} measured parts for {len(order)} batches")
    per_request = {
        name: instructions[i] / counted["requests"][name] for i, name in enumerate(order)
    }
    result: dict[str, Any] = {}
    for kind in KINDS:
        if kind not in per_request:  # HOT_PATH_ONLY=<kinds> measures only those
            continue
        reference = f"{kind}_reference"
        requests = plain["requests"][kind]
        result[kind] = {
            "instructions": round(per_request[kind]),
            "statements": plain["statements"][kind] / requests,
            "reference_instructions": round(per_request[reference]),
            "reference_statements": plain["statements"][reference] / plain["requests"][reference],
            "ratio": round(per_request[kind] / per_request[reference], 2),
            "statuses": plain["statuses"][kind],
        }
    return result


def check_answers(plain: dict[str, Any]) -> None:
    expected = {
        "booking_accepted": [201],
        "booking_refused_full": [409],
        "call_next_complete": [200],
        "open_page": [200],
        "board_event": [200],
    }
    for kind, statuses in expected.items():
        if kind not in plain["statuses"]:  # HOT_PATH_ONLY=<kinds> measures only those
            continue
        for name in (kind, f"{kind}_reference"):
            if plain["statuses"][name] != statuses:
                raise RuntimeError(f"{name} answered {plain['statuses'][name]}, not {statuses}")


def run() -> dict[str, Any]:
    problem = unavailable()
    if problem:
        raise SystemExit(f"hot_path_cost needs PostgreSQL: {problem}")
    if shutil.which("valgrind") is None:
        raise SystemExit("hot_path_cost needs valgrind (apt-get install valgrind)")
    workdir = Path(tempfile.mkdtemp(prefix="hot_path_cost_"))
    try:
        with throwaway_database("trafficdesk_bench_hot") as db_url:
            env = environment(db_url, workdir)
            manage(env, "migrate", "--noinput", timeout=300)
            # Pages name hashed static files from the manifest, as in production (a deploy step).
            manage(env, "collectstatic", "--noinput", "-v0", timeout=600)
            setup = workdir / "setup.json"
            made = subprocess.run(
                [PYTHON, str(HERE / "_hot_path_setup.py"), str(setup)],
                cwd=ROOT,
                env=env,
                check=False,
                timeout=600,
                capture_output=True,
                text=True,
            )
            if made.returncode:
                raise RuntimeError(f"the set-up failed:\n{made.stderr[-3000:]}")
            with copy_of(db_url) as plain_db:
                plain = probe(
                    {**env, "DATABASE_URL": plain_db}, setup, workdir / "plain.json", None
                )
            check_answers(plain)
            cg = workdir / "callgrind"
            cg.mkdir()
            with copy_of(db_url) as counted_db:
                counted = probe(
                    {**env, "DATABASE_URL": counted_db}, setup, workdir / "counted.json", cg
                )
            check_answers(counted)
            result = figures(plain, counted, batches(cg))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    met = {}
    if "booking_accepted" in result:
        met["booking_accepted_ratio"] = (
            result["booking_accepted"]["ratio"] <= TARGETS["booking_accepted_ratio_max"]
        )
    if "booking_refused_full" in result:
        met["booking_refused_full_statements"] = (
            result["booking_refused_full"]["statements"]
            <= TARGETS["booking_refused_full_statements_max"]
        )
    if "call_next_complete" in result:
        met["call_next_complete_instructions"] = (
            result["call_next_complete"]["instructions"]
            <= TARGETS["call_next_complete_instructions_max"]
        )
    return {
        **result,
        "targets": TARGETS,
        "met": met,
        "method": "callgrind instructions (all threads) per request, statements counted on "
        "every connection; see bench/hot_path_cost.py",
    }
