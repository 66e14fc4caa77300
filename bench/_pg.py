"""A throwaway PostgreSQL database for a benchmark run."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL") or DEFAULT_PG


def unavailable() -> str | None:
    import psycopg

    try:
        with psycopg.connect(
            server_url().replace("postgres://", "postgresql://", 1), connect_timeout=3
        ) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL at {server_url()} does not answer: {str(exc).strip().splitlines()[0]}"
    return None


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    import psycopg

    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = server_url().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url())
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
