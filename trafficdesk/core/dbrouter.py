"""Reads from a PostgreSQL streaming replica, for the read-only pages (docs/scaling.md,
"Read replica").

With REPLICA_DATABASE_URL set, settings add DATABASES["replica"], this router and
ReplicaReadMiddleware. A request is served from the replica only when all hold:

- it is a GET or HEAD of a view named in settings.REPLICA_READ_VIEWS (dashboards, what is
  open, reports: pages that write nothing and may be a few seconds old);
- the browser did not write in the last REPLICA_MAX_LAG_SECONDS (+ the lag check's cache
  time): a request that wrote through the primary sets the REPLICA_WROTE_COOKIE, so that
  the same session reads its own writes from the primary;
- the replica's lag (`replica_lag_seconds()`, measured on the replica, cached per process for
  REPLICA_LAG_CHECK_MS) is known and within REPLICA_MAX_LAG_SECONDS; otherwise, and when the
  replica cannot be reached, reads fall back to the primary.

Everything else, every write, sessions and the database cache always use the primary.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

PRIMARY = "default"
REPLICA = "replica"
#: Apps whose tables are read from the primary even on a replica page: the session and the
#: database cache are bookkeeping a request must see fresh.
PRIMARY_ONLY_APPS = frozenset({"sessions", "django_cache"})

_reads: ContextVar[str | None] = ContextVar("trafficdesk_replica_reads", default=None)

# One query on the replica: caught up and still receiving → 0; else the age of the last
# transaction it replayed (replay paused, or streaming stopped with nothing left to replay).
LAG_SQL = (
    "SELECT pg_is_in_recovery(),"
    " pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()"
    " AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver),"
    " EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
)

_lag_lock = threading.Lock()
_lag_cache: tuple[float, float | None] | None = None  # (measured at, lag)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def measure_replica_lag() -> float | None:
    """The lag now, in seconds: 0 when the replica has replayed all it received and is still
    receiving; infinity when it is behind and has replayed nothing yet; None when there is no
    replica or it cannot be read."""
    if not replica_configured():
        return None
    replica = connections[REPLICA]
    try:
        if replica.vendor != "postgresql":
            return None
        with replica.cursor() as cursor:
            cursor.execute(LAG_SQL)
            in_recovery, caught_up, age = cursor.fetchone()
    except DatabaseError:
        replica.close()
        return None
    if not in_recovery or caught_up:
        return 0.0
    return float("inf") if age is None else max(0.0, float(age))


def replica_lag_seconds() -> float | None:
    """The replica's lag in seconds (see measure_replica_lag), measured at most once per
    REPLICA_LAG_CHECK_MS in each process. The one place that knows it: routing and /metrics
    call this."""
    global _lag_cache
    max_age = float(getattr(settings, "REPLICA_LAG_CHECK_MS", 1000)) / 1000
    now = time.monotonic()
    with _lag_lock:
        if _lag_cache is not None and now - _lag_cache[0] < max_age:
            return _lag_cache[1]
    lag = measure_replica_lag()
    with _lag_lock:
        _lag_cache = (time.monotonic(), lag)
    return lag


def replica_is_fresh() -> bool:
    lag = replica_lag_seconds()
    return lag is not None and lag <= float(settings.REPLICA_MAX_LAG_SECONDS)


def read_your_writes_seconds() -> float:
    """How long after a write a browser reads from the primary: the lag bound plus the time a
    lag measurement may be reused."""
    return float(settings.REPLICA_MAX_LAG_SECONDS) + float(settings.REPLICA_LAG_CHECK_MS) / 1000


def reading_from() -> str:
    """The alias this request's reads go to (for logs and tests)."""
    return _reads.get() or PRIMARY


class ReplicaRouter:
    """Reads of a replica page go to the replica; all else to the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if _reads.get() == REPLICA and model._meta.app_label not in PRIMARY_ONLY_APPS:
            return REPLICA
        return PRIMARY

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True  # the same data on both

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA  # a standby is read-only; it gets the schema by replication


_READ_ONLY_HEADS = ("SELECT", "SHOW", "SET", "SAVEPOINT", "RELEASE", "ROLLBACK", "EXPLAIN")
_WRITE_WORD = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE)\b")


def is_write(sql: str) -> bool:
    """Whether a statement writes (a WITH writes when it holds INSERT/UPDATE/DELETE)."""
    head = sql.lstrip().upper()
    if head.startswith("WITH"):
        return bool(_WRITE_WORD.search(head))
    return not head.startswith(_READ_ONLY_HEADS)


def _wrote_recently(request: HttpRequest) -> bool:
    raw = request.COOKIES.get(settings.REPLICA_WROTE_COOKIE, "")
    try:
        at = float(raw)
    except ValueError:
        return False
    return time.time() - at < read_your_writes_seconds()


class ReplicaReadMiddleware:
    """Chooses where a request reads (above) and marks the browser of a request that wrote.
    Placed right after SessionMiddleware, so that everything the request does is seen."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        wrote = False

        def watch(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal wrote
            if not wrote and is_write(sql):
                wrote = True
            return execute(sql, params, many, context)

        _reads.set(None)
        try:
            with connections[PRIMARY].execute_wrapper(watch):
                response = self.get_response(request)
        finally:
            _reads.set(None)  # not reset(token): under ASGI the view may run in a copied context
        if wrote:
            response.set_cookie(
                settings.REPLICA_WROTE_COOKIE,
                f"{time.time():.3f}",
                max_age=int(read_your_writes_seconds()) + 1,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if (
            request.method in ("GET", "HEAD")
            and match is not None
            and match.view_name in settings.REPLICA_READ_VIEWS
            and not _wrote_recently(request)
            and replica_is_fresh()
        ):
            _reads.set(REPLICA)
        return None
