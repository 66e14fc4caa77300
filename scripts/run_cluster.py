"""Run TrafficDesk past one process: N app servers behind HAProxy, one background worker.

    DATABASE_URL=postgres://... [REDIS_URL=redis://...] .venv/bin/python scripts/run_cluster.py
    make cluster ARGS="--servers 3"

Each app server is the production server (gunicorn with uvicorn workers,
trafficdesk/gunicornconf.py) on a loopback port of its own; HAProxy (Debian's package) listens
on --port, sends each request to a ready server (`GET /readyz` every second, `fall 2`: a dead
server is out within about two seconds) and adds X-Forwarded-For, which the servers believe
from loopback only (TRUSTED_PROXIES). The config is deploy/haproxy.cfg with the servers filled
in. Every server shares the database (sessions, retry keys, the capacity ledger, live events)
and Redis when REDIS_URL is set; without Redis the rate limits are counted in the database
(RATELIMIT_PER_PROCESS=false), not in each process's memory.

PostgreSQL only: SQLite is one file on one machine, written by one process at a time.
Ctrl-C stops everything. The functions are also what tests/scale/test_two_servers.py uses."""

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
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "haproxy.cfg"
HAPROXY = os.environ.get("HAPROXY_PATH") or shutil.which("haproxy") or "/usr/sbin/haproxy"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def haproxy_config(
    bind: str, servers: Sequence[tuple[str, str]], stats_socket: str, check_host: str = "localhost"
) -> str:
    """deploy/haproxy.cfg with the listening address, the servers (name, host:port), the stats
    socket and the Host header of the health checks (one of ALLOWED_HOSTS) filled in."""
    lines = "\n".join(f"  server {name} {address} check" for name, address in servers)
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in {
        "bind": bind,
        "stats_socket": stats_socket,
        "check_host": check_host,
        "servers": lines,
    }.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def app_env(base: Mapping[str, str], port: int) -> dict[str, str]:
    """The environment of one app server: the cluster's shared settings, its own port."""
    env = dict(base)
    env["WEB_BIND"] = f"127.0.0.1:{port}"
    env.setdefault("TRUSTED_PROXIES", "127.0.0.1")
    env.setdefault("LOG_FORMAT", "json")
    if not env.get("REDIS_URL"):
        env.setdefault("RATELIMIT_PER_PROCESS", "false")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each server makes its own (gunicornconf)
    return env


def start_app_server(env: Mapping[str, str], **popen: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own server, our own arguments
        [GUNICORN, "-c", "python:trafficdesk.gunicornconf", "trafficdesk.asgi:application"],
        cwd=ROOT,
        env=dict(env),
        start_new_session=True,
        **popen,  # type: ignore[arg-type]
    )


def start_haproxy(config: str, folder: Path, **popen: object) -> subprocess.Popen[bytes]:
    """Write the config into `folder` and start HAProxy in the foreground (-db)."""
    path = folder / "haproxy.cfg"
    path.write_text(config, encoding="utf-8")
    check = subprocess.run([HAPROXY, "-c", "-q", "-f", str(path)], capture_output=True)  # noqa: S603
    if check.returncode != 0:
        raise RuntimeError(f"HAProxy refuses its config: {check.stderr.decode()}")
    return subprocess.Popen(  # noqa: S603
        [HAPROXY, "-db", "-f", str(path)],
        start_new_session=True,
        **popen,  # type: ignore[arg-type]
    )


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")


def haproxy_command(stats_socket: str, command: str) -> str:
    """One command on HAProxy's stats socket ("show stat", "disable server app/app1")."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(2)
        sock.connect(stats_socket)
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def server_states(stats_socket: str, backend: str = "app") -> dict[str, str]:
    """Each server of the backend and its state as HAProxy sees it (UP, DOWN, ...)."""
    text = haproxy_command(stats_socket, "show stat")
    header, *rows = [line for line in text.splitlines() if line.strip()]
    columns = header.lstrip("# ").split(",")
    states = {}
    for row in rows:
        values = dict(zip(columns, row.split(","), strict=False))
        if values.get("pxname") == backend and values.get("svname") not in ("FRONTEND", "BACKEND"):
            states[values["svname"]] = values["status"].split(" ")[0]
    return states


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a process group started here (SIGTERM, then SIGKILL if it lingers)."""
    try:
        os.killpg(proc.pid, sig)
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    except ProcessLookupError:
        pass


def _manage(env: Mapping[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=dict(env), check=True)  # noqa: S603


def _secret_key() -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = ROOT / "var" / "secret_key"
    if not path.exists():
        sys.exit("SECRET_KEY is not set and var/secret_key does not exist (make var/secret_key)")
    return path.read_text().strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=2, help="app servers (2)")
    parser.add_argument("--workers", type=int, default=2, help="processes per app server (2)")
    parser.add_argument("--host", default="127.0.0.1", help="HAProxy listens here (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="HAProxy's port (8000)")
    parser.add_argument("--first-app-port", type=int, default=8101, help="app servers from (8101)")
    parser.add_argument("--no-setup", action="store_true", help="skip migrate and collectstatic")
    parser.add_argument("--no-worker", action="store_true", help="start no background worker")
    args = parser.parse_args(argv)

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "DATABASE_URL must point at PostgreSQL: every app server shares it. SQLite is one"
            " machine and one process (make demo)."
        )
    if not Path(HAPROXY).exists():
        sys.exit(f"{HAPROXY} is missing: apt-get install -y haproxy")
    env = {
        **os.environ,
        "SECRET_KEY": _secret_key(),
        "DJANGO_SETTINGS_MODULE": "trafficdesk.settings",
    }
    env.setdefault("WEB_WORKERS", str(args.workers))
    if not args.no_setup:
        _manage(env, "migrate", "--no-input", "-v0")
        _manage(env, "createcachetable")
        _manage(env, "collectstatic", "--no-input", "-v0")

    folder = Path(tempfile.mkdtemp(prefix="trafficdesk-cluster-"))
    stats_socket = str(folder / "haproxy.sock")
    ports = [args.first_app_port + i for i in range(args.servers)]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            procs.append(start_app_server(app_env(env, port)))
        for port, proc in zip(ports, procs, strict=True):
            wait_for_port(port, proc)
        servers = [(f"app{i + 1}", f"127.0.0.1:{port}") for i, port in enumerate(ports)]
        config = haproxy_config(f"{args.host}:{args.port}", servers, stats_socket)
        procs.append(start_haproxy(config, folder))
        wait_for_port(args.port, procs[-1])
        if not args.no_worker:
            procs.append(
                subprocess.Popen(  # noqa: S603
                    [sys.executable, "manage.py", "db_worker", "--interval", "1"],
                    cwd=ROOT,
                    env=env,
                    start_new_session=True,
                )
            )
        print(
            f"HAProxy on http://{args.host}:{args.port}/ in front of app servers on ports"
            f" {', '.join(map(str, ports))}; stats: socat {stats_socket} - <<< 'show stat'",
            flush=True,
        )
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        reported: set[int] = set()
        haproxy = procs[len(ports)]
        while haproxy.poll() is None:
            # An app server that ended is out of HAProxy's rotation within two checks; the
            # others carry on. Say so once; restart it by hand (or run under systemd).
            for port, proc in zip(ports, procs, strict=False):
                if proc.poll() is not None and port not in reported:
                    reported.add(port)
                    print(f"the app server on port {port} ended ({proc.returncode})", flush=True)
            time.sleep(1)
        return 1  # HAProxy ended by itself: stop the rest
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in reversed(procs):
            stop(proc)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
