"""Background work on every node (issue 18, item 5; docs/adr/0002): several `db_worker`
processes — one per node in production — take tasks from the one database and none runs a
task twice. The claim is django-tasks-db's: `SELECT … FOR UPDATE SKIP LOCKED` and a status
UPDATE in one transaction on PostgreSQL, an exclusive (IMMEDIATE) transaction on SQLite.

The race: three workers poll the same queue at once. The negative control claims the naive
way (read the first ready task, then mark it running) and the same check sees tasks run twice.
Runs on the database of the current pass."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django_tasks_db.models import DBTaskResult

from tests.real_server import ROOT, database_url
from tests.scale._tasks import RUNS_TABLE, record_run

TASKS = 120
WORKERS = 3


@pytest.fixture
def runs_table(transactional_db: Any) -> Any:
    DBTaskResult.objects.all().delete()  # the tasks the migrations' data enqueued: not ours
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {RUNS_TABLE} (task_key VARCHAR(40) NOT NULL, pid INTEGER NOT NULL)"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {RUNS_TABLE}")


def runs() -> list[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT task_key, pid FROM {RUNS_TABLE}")  # noqa: S608 # nosec B608
        return [(key, pid) for key, pid in cursor.fetchall()]


def run_twice(recorded: list[tuple[str, int]]) -> list[str]:
    return sorted(key for key, n in Counter(key for key, _pid in recorded).items() if n > 1)


def start_worker(name: str) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        DATABASE_URL=database_url(),
        SECRET_KEY=settings.SECRET_KEY,
        DJANGO_SETTINGS_MODULE="trafficdesk.settings",
        TRAFFICDESK_VAR_DIR=str(settings.VAR_DIR),
        LOG_LEVEL="ERROR",
    )
    env.pop("TRAFFICDESK_DB_TESTS_ONLY", None)
    return subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--batch",
            "--no-startup-delay",
            "--interval",
            "0.05",
            "--worker-id",
            name,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_race_workers_on_several_nodes_never_run_a_task_twice(runs_table: Any) -> None:
    for i in range(TASKS):
        record_run.enqueue(f"task-{i}")
    workers = [start_worker(f"node-{n}") for n in range(WORKERS)]
    deadline = time.monotonic() + 90
    for worker in workers:
        _out, err = worker.communicate(timeout=max(1.0, deadline - time.monotonic()))
        assert worker.returncode == 0, err.decode()[-2000:]
    recorded = runs()
    assert run_twice(recorded) == []
    assert sorted(key for key, _pid in recorded) == sorted(f"task-{i}" for i in range(TASKS))
    assert len({pid for _key, pid in recorded}) > 1, "the work was shared between the workers"
    ours = DBTaskResult.objects.filter(task_path=record_run.module_path)
    assert ours.ready().count() == 0
    assert ours.successful().count() == TASKS


def test_negative_control_a_naive_claim_runs_tasks_twice(runs_table: Any) -> None:
    """Read the first ready task, then mark it running, without the lock: two workers read
    the same task before either marks it, and both run it."""
    for i in range(20):
        record_run.enqueue(f"naive-{i}")
    barrier = threading.Barrier(2)

    def naive_worker() -> None:
        try:
            for _ in range(20):
                barrier.wait(timeout=10)
                found = (
                    DBTaskResult.objects.ready().filter(task_path=record_run.module_path).first()
                )
                if found is None:
                    return
                barrier.wait(timeout=10)  # both have read before either claims
                DBTaskResult.objects.filter(pk=found.pk).update(status="RUNNING")
                record_run.func(*found.args_kwargs["args"])
                DBTaskResult.objects.filter(pk=found.pk).update(status="SUCCESSFUL")
        finally:
            connection.close()

    threads = [threading.Thread(target=naive_worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert run_twice(runs()), "the naive claim was expected to run some task twice"
