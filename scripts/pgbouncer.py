#!/usr/bin/env python3
"""PgBouncer (Debian's package) in transaction mode in front of a PostgreSQL, for tests and
for trying TrafficDesk behind a pooler on one machine (docs/scaling.md, "PgBouncer").

    python scripts/pgbouncer.py --port 6432 --backend 127.0.0.1:5432

writes a pgbouncer.ini into a temporary folder and runs pgbouncer in the foreground (a child
process, not a daemon) until interrupted. Any database name is passed through to the same
name on the backend. Authentication is `trust` on loopback: for tests only.
Tests use `start()` / `Bouncer.stop()` from Python.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")


def binary() -> str | None:
    """Debian's pgbouncer, or None when it is not installed."""
    found = shutil.which("pgbouncer")
    if found:
        return found
    return next((path for path in CANDIDATES if os.access(path, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ini_text(
    *, port: int, backend_host: str, backend_port: int, user: str, pool_size: int, folder: Path
) -> str:
    return f"""[databases]
* = host={backend_host} port={backend_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "userlist.txt"}
pool_mode = transaction
max_client_conn = 500
default_pool_size = {pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_db_connections = 0
server_reset_query =
server_check_query = select 1
ignore_startup_parameters = extra_float_digits
admin_users = {user}
log_connections = 0
log_disconnections = 0
"""


@dataclass
class Bouncer:
    process: subprocess.Popen[bytes]
    port: int
    folder: Path

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # SIGINT: shut down now
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.folder, ignore_errors=True)


def start(
    *,
    backend_host: str = "127.0.0.1",
    backend_port: int = 5432,
    user: str = "postgres",
    pool_size: int = 8,
    port: int | None = None,
    timeout: float = 15.0,
) -> Bouncer:
    """Start pgbouncer as a child process and wait until it accepts connections."""
    exe = binary()
    if exe is None:
        raise FileNotFoundError("pgbouncer is not installed (apt-get install pgbouncer)")
    port = port or free_port()
    folder = Path(tempfile.mkdtemp(prefix="td-pgbouncer-"))
    folder.chmod(0o755)  # pgbouncer drops root for the postgres user, who must read it
    (folder / "userlist.txt").write_text(f'"{user}" ""\n')
    ini = folder / "pgbouncer.ini"
    ini.write_text(
        ini_text(
            port=port,
            backend_host=backend_host,
            backend_port=backend_port,
            user=user,
            pool_size=pool_size,
            folder=folder,
        )
    )
    command = [exe, str(ini)]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    bouncer = Bouncer(process, port, folder)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            bouncer.stop()
            raise RuntimeError(f"pgbouncer exited with {process.returncode}: {err.strip()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return bouncer
        except OSError:
            time.sleep(0.1)
    bouncer.stop()
    raise RuntimeError(f"pgbouncer did not listen on 127.0.0.1:{port} in {timeout} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=6432)
    parser.add_argument("--backend", default="127.0.0.1:5432", help="host:port of PostgreSQL")
    parser.add_argument("--pool-size", type=int, default=8)
    args = parser.parse_args()
    host, _, port = args.backend.rpartition(":")
    bouncer = start(
        backend_host=host or "127.0.0.1",
        backend_port=int(port),
        pool_size=args.pool_size,
        port=args.port,
    )
    print(f"PgBouncer (transaction mode) on {bouncer.url('<database>')}", flush=True)
    try:
        bouncer.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        bouncer.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
