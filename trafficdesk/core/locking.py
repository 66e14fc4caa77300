"""Transactions that take row locks, and the one place where a lock timeout becomes "busy,
retry" (docs/locking.md).

SQLite opens every transaction IMMEDIATE with a busy timeout (settings); on PostgreSQL every
connection has a short `lock_timeout` (LOCK_TIMEOUT_MS), or each locking transaction sets it
(LOCK_TIMEOUT_PER_TRANSACTION). Either way, a transaction that could not get its locks in
time raises `Busy`, which the API answers with 503 and Retry-After, pages with a "try again"
page, and background tasks by running again a moment later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils.translation import gettext_lazy as _

P = ParamSpec("P")
R = TypeVar("R")

#: SQLSTATEs that mean "the locks were not free in time": lock_not_available, query_canceled
#: (statement or lock timeout), deadlock_detected, serialization_failure.
_BUSY_SQLSTATES = frozenset({"55P03", "57014", "40P01", "40001"})
_BUSY_TEXTS = ("database is locked", "database table is locked", "lock timeout", "deadlock")


class Busy(Exception):
    """The rows this needs are locked by others right now; the same request will work in a
    moment. Nothing was changed."""

    retry_after_seconds = 1
    message = _("Many people are doing this right now; nothing was changed. Try again in a moment.")

    def __str__(self) -> str:
        return str(self.message)


def is_lock_timeout(exc: BaseException) -> bool:
    """Whether a database error means "locked by others", on PostgreSQL or SQLite."""
    cause = exc.__cause__ or exc
    if getattr(cause, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    text = str(exc).lower()
    return any(marker in text for marker in _BUSY_TEXTS)


def set_lock_timeout(milliseconds: int | None = None) -> None:
    """Limit how long this transaction waits for a row lock (PostgreSQL; SQLite waits for the
    busy timeout instead). Nothing to do when the connection already has this limit, which
    it gets when it opens (settings.CONNECTION_LOCK_TIMEOUT_MS)."""
    if connection.vendor != "postgresql":
        return
    wait = int(milliseconds if milliseconds is not None else settings.LOCK_TIMEOUT_MS)
    if wait == settings.CONNECTION_LOCK_TIMEOUT_MS:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{wait}ms'")


@contextmanager
def locking_transaction(milliseconds: int | None = None) -> Iterator[None]:
    """One transaction that takes row locks; a lock it cannot get in time raises Busy."""
    try:
        with transaction.atomic():
            set_lock_timeout(milliseconds)
            yield
    except OperationalError as exc:
        if is_lock_timeout(exc):
            raise Busy from exc
        raise


def locking(function: Callable[P, R]) -> Callable[P, R]:
    """Run `function` in a locking_transaction()."""

    @wraps(function)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        with locking_transaction():
            return function(*args, **kwargs)

    return wrapped


@contextmanager
def locking_statement() -> Iterator[None]:
    """One statement that takes row locks and is a whole transaction by itself (PostgreSQL's
    data-modifying WITH): no BEGIN/COMMIT round trips in autocommit, a savepoint inside an
    outer transaction; a lock it cannot get in time raises Busy. The connection's
    lock_timeout applies (it is set when the connection opens)."""
    try:
        if connection.in_atomic_block or settings.CONNECTION_LOCK_TIMEOUT_MS is None:
            with locking_transaction():
                yield
        else:
            yield
    except OperationalError as exc:
        if is_lock_timeout(exc):
            raise Busy from exc
        raise
