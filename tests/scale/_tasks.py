"""A task for tests/scale/test_workers.py: it records each run (key, worker process) in a
plain table the test makes, so that a task run twice shows as two rows."""

from __future__ import annotations

import os
import time

from django.db import connection
from django_tasks import task

RUNS_TABLE = "td_test_task_runs"


@task()
def record_run(key: str) -> None:
    """Record one run of `key`; a little work so that the workers overlap."""
    time.sleep(0.005)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {RUNS_TABLE} (task_key, pid) VALUES (%s, %s)",  # noqa: S608 # nosec B608 - a constant name
            [key, os.getpid()],
        )
