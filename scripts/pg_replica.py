#!/usr/bin/env python3
"""A PostgreSQL primary and its streaming replica, as two throwaway clusters of Debian's
postgresql-common (pg_createcluster, pg_basebackup -R), on free loopback ports, with trust
authentication: for tests and for trying the read replica on one machine
(docs/scaling.md, "Read replica"). The machine's own clusters are never touched.

    python scripts/pg_replica.py create      # prints the two URLs and the name
    python scripts/pg_replica.py drop NAME   # stops and removes both clusters

Tests use `create_pair()` / `Pair.drop()` from Python.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

VERSION = "15"
TOOLS = ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster")


def missing_tools() -> list[str]:
    """The postgresql-common and server programs this needs that are not installed."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not Path(f"/usr/lib/postgresql/{VERSION}/bin/pg_basebackup").exists():
        missing.append("pg_basebackup")
    return missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(*command: str, timeout: float = 60) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout}")


def _wait_ready(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = subprocess.run(  # noqa: S603
            [f"/usr/lib/postgresql/{VERSION}/bin/pg_isready", "-h", "127.0.0.1", "-p", str(port)],
            capture_output=True,
        )
        if ready.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"PostgreSQL on 127.0.0.1:{port} is not ready after {timeout} s")


def _create_cluster(name: str, port: int, *extra: str) -> None:
    _run(
        "pg_createcluster", VERSION, name, "-p", str(port),
        "-o", "listen_addresses=localhost",  # loopback only
        "-o", "fsync=off",  # throwaway clusters: speed over durability
        *extra,
        "--", "--auth=trust", "--no-sync",
    )  # fmt: skip


@dataclass
class Pair:
    name: str
    primary_port: int
    replica_port: int

    @property
    def primary(self) -> str:
        return f"{self.name}_primary"

    @property
    def replica(self) -> str:
        return f"{self.name}_replica"

    def url(self, which: str, database: str = "postgres") -> str:
        port = self.primary_port if which == "primary" else self.replica_port
        return f"postgres://postgres@127.0.0.1:{port}/{database}"

    def drop(self) -> None:
        """Stop and remove both clusters (whatever state they are in)."""
        for cluster in (self.replica, self.primary):
            subprocess.run(  # noqa: S603
                ["pg_dropcluster", "--stop", VERSION, cluster],  # noqa: S607 - on PATH
                capture_output=True,
                timeout=60,
            )


def create_pair(name: str | None = None) -> Pair:
    """A primary (wal_level=replica) and a hot standby streaming from it, both started."""
    pair = Pair(name or f"td_{secrets.token_hex(4)}", free_port(), free_port())
    try:
        _create_cluster(
            pair.primary, pair.primary_port,
            "-o", "wal_level=replica", "-o", "max_wal_senders=5",
            "--start",
        )  # fmt: skip
        _wait_ready(pair.primary_port)
        _create_cluster(pair.replica, pair.replica_port, "-o", "hot_standby=on")
        data = Path(f"/var/lib/postgresql/{VERSION}/{pair.replica}")
        for entry in data.iterdir():  # empty, but keep the folder pg_createcluster made
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        _run(
            "runuser", "-u", "postgres", "--",
            f"/usr/lib/postgresql/{VERSION}/bin/pg_basebackup",
            "-h", "127.0.0.1", "-p", str(pair.primary_port), "-U", "postgres",
            "-D", str(data), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        _run("pg_ctlcluster", VERSION, pair.replica, "start")
        _wait_ready(pair.replica_port)
    except BaseException:
        pair.drop()
        raise
    return pair


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("create")
    drop = sub.add_parser("drop")
    drop.add_argument("name")
    args = parser.parse_args()
    if args.command == "create":
        pair = create_pair()
        print(f"name={pair.name}")
        print(f"DATABASE_URL={pair.url('primary', 'trafficdesk')}")
        print(f"REPLICA_DATABASE_URL={pair.url('replica', 'trafficdesk')}")
        return 0
    Pair(args.name, 0, 0).drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
