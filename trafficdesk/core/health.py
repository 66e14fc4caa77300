"""Health checks for a load balancer and an orchestrator (docs/scaling.md).

* `/healthz` (liveness): the process answers; it reads nothing, so a slow database never
  gets a live server restarted.
* `/readyz` (readiness): the database answers `SELECT 1` within READYZ_TIMEOUT_MS, and Redis
  answers PING when REDIS_URL is set; else 503 with a JSON body naming what failed. HAProxy
  sends traffic only to servers that are ready (deploy/haproxy.cfg).

Both are plain views: no session, no login, no CSRF (GET only), for operators and machines,
so their words are not translated."""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)

_redis_clients: dict[str, redis.Redis] = {}
_redis_lock = threading.Lock()


def _redis(url: str, timeout: float) -> redis.Redis:
    """One client per process (it keeps its connection between checks)."""
    with _redis_lock:
        client = _redis_clients.get(url)
        if client is None:
            client = redis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
            _redis_clients[url] = client
        return client


def check_database(timeout_ms: int) -> None:
    """`SELECT 1` on this thread's connection; on PostgreSQL bounded by a statement timeout
    that ends with the check's transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(timeout_ms)])
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_redis(url: str, timeout_ms: int) -> None:
    if not _redis(url, timeout_ms / 1000).ping():
        raise redis.RedisError("PING was not answered")


def readiness() -> dict[str, str]:
    """Each dependency's state: "ok" or why it failed (an exception's class name)."""
    timeout_ms: int = settings.READYZ_TIMEOUT_MS
    checks: dict[str, str] = {}
    try:
        check_database(timeout_ms)
        checks["database"] = "ok"
    except DatabaseError as exc:
        log.warning("readyz: the database is not ready: %s", type(exc).__name__)
        checks["database"] = type(exc).__name__
        connection.close_if_unusable_or_obsolete()
    if settings.REDIS_URL:
        try:
            check_redis(settings.REDIS_URL, timeout_ms)
            checks["redis"] = "ok"
        except (redis.RedisError, OSError) as exc:
            log.warning("readyz: Redis is not ready: %s", type(exc).__name__)
            checks["redis"] = type(exc).__name__
    return checks


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "alive"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = readiness()
    failed = sorted(name for name, state in checks.items() if state != "ok")
    body: dict[str, Any] = {"status": "unready" if failed else "ready", "checks": checks}
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)
