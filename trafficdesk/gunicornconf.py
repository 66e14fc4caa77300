"""How the web server runs, in one place: `make demo`, production, the crash-safety test and
the benchmarks all start

    gunicorn -c python:trafficdesk.gunicornconf trafficdesk.asgi:application

gunicorn manages the processes (restarts a crashed worker, graceful reloads, timeouts);
each worker is uvicorn's event loop (docs/adr/0001-asgi-server.md). Environment:
WEB_BIND (127.0.0.1:8000), WEB_WORKERS (2), WEB_ACCESS_LOG (off unless "-" or a path),
WEB_LOG_LEVEL (info); ASGI_SYNC_THREADS is read by the application (settings.py).
"""

from __future__ import annotations

import gc
import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = "uvicorn_worker.UvicornWorker"
# A worker that stops answering its heartbeat for this long is replaced.
timeout = 60
# On restart, open streams are closed after this long; browsers reconnect with Last-Event-ID.
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
# gunicorn's control socket sits at one fixed path per user: two servers on one machine (the
# tests, the benchmarks) would fight over it, and nothing here uses it.
control_socket_disable = True


def post_worker_init(worker: object) -> None:
    """Once the application is loaded: move everything loaded so far (Django, the URLconf,
    templates, translations) out of the garbage collector's view. A full collection then
    walks only what requests made, instead of pausing a request for tens of milliseconds
    to walk the whole application."""
    gc.freeze()
