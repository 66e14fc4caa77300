"""The production server (gunicorn with uvicorn workers, trafficdesk/gunicornconf.py) started
as its own process on the test database of the current pass (SQLite or PostgreSQL), for the
tests that need the real thing: crash safety, live streams holding no thread.

The test must use `transactional_db` so that the server sees its data."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from importlib import import_module
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from django.utils.crypto import get_random_string

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def session_for(user: Any) -> tuple[str, str]:
    """A logged-in session for `user` (what django.contrib.auth.login stores), in the
    configured session engine, and a CSRF token to send with it."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.SESSION_AUTH_BACKEND
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    assert store.session_key is not None
    return store.session_key, get_random_string(32)


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] or "postgres"
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_COLLECTED: list[str] = []


def _static_sources_digest() -> str:
    """A digest of every static source file (names and contents, as the finders find them)
    and of the storage that collects them: equal digests collect equal folders."""
    import hashlib

    from django.contrib.staticfiles.finders import get_finders

    from trafficdesk import settings as deployed  # the storage collectstatic runs with

    digest = hashlib.sha256(repr(deployed.STORAGES["staticfiles"]).encode())
    found: dict[str, str] = {}
    for finder in get_finders():
        for relative, storage in finder.list(ignore_patterns=[]):
            found.setdefault(relative, storage.path(relative))
    for relative in sorted(found):
        digest.update(relative.encode() + b"\0" + Path(found[relative]).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def collected_static() -> str:
    """The static files as a deploy collects them (`manage.py collectstatic`: hashed names,
    gzipped and brotli copies, the manifest the production storage reads), in
    var/test-static/<digest of the sources>/. Compressing takes ~20 s, so the folder is kept
    for as long as the sources are unchanged: the SQLite and PostgreSQL passes (and the next
    run) share one collect; a changed file collects a new folder and the old one goes."""
    if not _COLLECTED:
        import shutil
        import tempfile

        cache = Path(settings.VAR_DIR) / "test-static"
        cache.mkdir(parents=True, exist_ok=True)
        root = cache / _static_sources_digest()
        if not (root / "staticfiles.json").exists():
            building = Path(tempfile.mkdtemp(prefix="collecting-", dir=cache))
            env = dict(
                os.environ, STATIC_ROOT=str(building), DJANGO_SETTINGS_MODULE="trafficdesk.settings"
            )
            env.setdefault("SECRET_KEY", settings.SECRET_KEY)
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
                cwd=ROOT,
                env=env,
                check=True,
            )
            shutil.rmtree(root, ignore_errors=True)
            building.rename(root)  # whole or not at all: a cut-off collect is never used
        for stale in cache.iterdir():
            cut_off = stale.name.startswith("collecting-")  # another run's, maybe still going
            if stale != root and (not cut_off or time.time() - stale.stat().st_mtime > 3600):
                shutil.rmtree(stale, ignore_errors=True)
        _COLLECTED.append(str(root))
    return _COLLECTED[0]


def start_server(port: int, workers: int = 2, **env_extra: str) -> subprocess.Popen[bytes]:
    """Start the server and wait until it accepts connections."""
    env = dict(
        os.environ,
        STATIC_ROOT=collected_static(),
        DATABASE_URL=database_url(),
        SECRET_KEY=settings.SECRET_KEY,
        LOG_LEVEL="ERROR",
        WEB_LOG_LEVEL="error",
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_WORKERS=str(workers),
        SMS_BACKEND="trafficdesk.notify.backends.MemorySmsBackend",
        DJANGO_SETTINGS_MODULE="trafficdesk.settings",
        TRAFFICDESK_VAR_DIR=str(settings.VAR_DIR),
        **env_extra,
    )
    env.pop("TRAFFICDESK_DB_TESTS_ONLY", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    server = subprocess.Popen(
        [GUNICORN, "-c", "python:trafficdesk.gunicornconf", "trafficdesk.asgi:application"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.1)
    kill_hard(server)
    raise RuntimeError("the server did not start")


def kill_hard(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(10)


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop gracefully (SIGTERM), then hard if it lingers."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)
    except subprocess.TimeoutExpired:
        kill_hard(server)
    except ProcessLookupError:
        pass


def worker_pids(server: subprocess.Popen[bytes]) -> list[int]:
    """The worker processes of a running gunicorn (its children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == server.pid:
            found.append(int(entry.name))
    return found


def thread_count(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


# --- reading event streams --------------------------------------------------------------------

WAIT_S = 10.0

OPEN: list[EventReader] = []
"""Readers still open; a fixture closes them before it stops the server."""


class EventReader:
    """One open event stream, read on a thread of its own."""

    def __init__(self, port: int, path: str, headers: dict[str, str] | None = None) -> None:
        OPEN.append(self)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.response = self.conn.getresponse()
        self.events: list[dict[str, str]] = []
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        current: dict[str, str] = {}
        try:
            while True:
                line = self.response.readline()
                if not line:
                    return
                text = line.decode().rstrip("\n")
                if text.startswith("retry:"):
                    self.opened.set()
                elif text == "":
                    if "data" in current:
                        self.events.append(current)
                    current = {}
                elif not text.startswith(":") and ":" in text:
                    key, value = text.split(":", 1)
                    current[key] = value.strip()
        except Exception:  # closed by the test (or the server): the stream is over
            return

    def wait_for(self, count: int, timeout: float = WAIT_S) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.events)

    def close(self) -> None:
        try:
            self.conn.sock and self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()
