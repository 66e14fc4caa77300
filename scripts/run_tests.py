#!/usr/bin/env python3
"""Run the suite on SQLite, then the database-dependent tests again on PostgreSQL.

PostgreSQL comes from TEST_POSTGRES_URL, else 127.0.0.1:5432 (user postgres, trust auth).
Each run uses a throwaway database. Under CI=true a missing PostgreSQL fails the run.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"


def postgres_answers(url: str) -> str | None:
    """None when the server answers, else why not."""
    import psycopg

    try:
        with psycopg.connect(
            url.replace("postgres://", "postgresql://", 1), connect_timeout=3
        ) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not there"
        return str(exc).strip().splitlines()[0]
    return None


def throwaway_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/trafficdesk_{secrets.token_hex(4)}"))


def run(label: str, env: dict[str, str], extra: list[str]) -> int:
    print(f"\n===== tests on {label} =====", flush=True)
    return subprocess.call([sys.executable, "-m", "pytest", *extra], env=env)  # noqa: S603


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args, extra = parser.parse_known_args()
    ci = os.environ.get("CI", "").lower() == "true"
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    status = 0
    if args.only in (None, "sqlite"):
        status |= run("SQLite", base, extra)
    if args.only in (None, "postgres"):
        pg = os.environ.get("TEST_POSTGRES_URL") or DEFAULT_PG
        problem = postgres_answers(pg)
        if problem:
            message = f"PostgreSQL at {pg} does not answer: {problem}"
            if ci or args.only == "postgres" or os.environ.get("TEST_POSTGRES_URL"):
                print(f"FAIL: {message}", file=sys.stderr)
                return 1
            print(f"SKIP PostgreSQL pass: {message}", file=sys.stderr)
            return status
        env = dict(base, DATABASE_URL=throwaway_url(pg), TRAFFICDESK_DB_TESTS_ONLY="1")
        status |= run("PostgreSQL", env, extra)
    return status


if __name__ == "__main__":
    sys.exit(main())
