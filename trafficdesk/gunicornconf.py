"""How the web server runs, in one place: `make demo`, production, the crash-safety test and
the benchmarks all start

    gunicorn -c python:trafficdesk.gunicornconf trafficdesk.asgi:application

gunicorn manages the processes (restarts a crashed worker, graceful reloads, timeouts);
each worker is uvicorn's event loop (docs/adr/0001-asgi-server.md). Environment:
WEB_BIND (127.0.0.1:8000), WEB_WORKERS (2), WEB_ACCESS_LOG (off unless "-" or a path),
WEB_LOG_LEVEL (info); ASGI_SYNC_THREADS is read by the application (settings.py);
LOG_FORMAT=json writes the access log as JSON too; PROMETHEUS_MULTIPROC_DIR (a fresh folder
per start when unset) is where the workers keep their metrics for one scrape to sum.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import tempfile
from pathlib import Path

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
# uvicorn believes X-Forwarded-For and X-Forwarded-Proto (the https scheme, HTTPS=true) from
# these addresses; by itself it would trust 127.0.0.1. The same list as the application's
# (TRUSTED_PROXIES, trafficdesk/core/clientip.py, which applies the same right-most-untrusted
# rule again), so there is one rule, and by default nobody is believed.
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES", "")

# Metrics of all workers, summed at each scrape (prometheus-client's multiprocess mode,
# trafficdesk/core/metrics.py): the folder must be set before the workers load the
# application, and empty at start (a given folder is emptied of earlier runs' files).
_MADE_METRICS_DIR = ""
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()
else:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="trafficdesk-metrics-")
    _MADE_METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_exit(server: object) -> None:
    """The master stops: remove the metrics folder it made (not atexit: workers, forked
    from the master, would run it as each of them ends)."""
    if _MADE_METRICS_DIR:
        shutil.rmtree(_MADE_METRICS_DIR, ignore_errors=True)


def child_exit(server: object, worker: object) -> None:
    """A worker that ended: its live gauges are dropped (its counters keep counting)."""
    # local import: prometheus-client reads PROMETHEUS_MULTIPROC_DIR when first imported
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def post_worker_init(worker: object) -> None:
    """Once the application is loaded: move everything loaded so far (Django, the URLconf,
    templates, translations) out of the garbage collector's view. A full collection then
    walks only what requests made, instead of pausing a request for tens of milliseconds
    to walk the whole application.

    And mask tokens, plates and ID numbers in the access log (trafficdesk/core/logmask.py):
    the worker logs requests on "uvicorn.access" (gunicorn's own logger for sync workers)."""
    # local import: this file is read by gunicorn's master before the application is loaded
    from trafficdesk.core.logmask import AccessFields, AccessLogMask, QuietProbes

    as_json = os.environ.get("LOG_FORMAT", "text") == "json"
    for name in ("uvicorn.access", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, AccessLogMask) for f in logger.filters):
            logger.addFilter(QuietProbes())
            logger.addFilter(AccessLogMask())
            if as_json:
                logger.addFilter(AccessFields())
    if as_json:
        _json_handlers()
    gc.freeze()


def _json_handlers() -> None:
    """The server's own log lines (access, errors) as JSON, like the application's."""
    # local import: this file is read by gunicorn's master before the application is loaded
    from trafficdesk.core.logging import JsonFormatter

    for name in ("uvicorn.access", "uvicorn.error", "gunicorn.access", "gunicorn.error"):
        for handler in logging.getLogger(name).handlers:
            handler.setFormatter(JsonFormatter())
