"""Database sessions (the default without Redis), read with one plain SQL statement: the
session is the first thing every logged-in request reads, and the ORM's query costs more
than the rest of a refused booking. Saving, expiry and clearing are Django's own."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.contrib.sessions.backends import db
from django.db import connection
from django.utils import timezone


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        key = self.session_key
        if not key:
            self._session_key = None
            return None
        table = self.model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",  # noqa: S608 - the table's name; values are bound # nosec B608
                [key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return SimpleNamespace(session_data=row[0])
