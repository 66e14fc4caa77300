"""Database triggers that refuse UPDATE and DELETE on the audit log (SQLite and PostgreSQL).

PostgreSQL still allows TRUNCATE to the table owner, which the test runner's flush uses;
production should run the application under a role that does not own the tables.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

INSTALL = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS audit_auditentry_no_update BEFORE UPDATE ON audit_auditentry"
        " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;",
        "CREATE TRIGGER IF NOT EXISTS audit_auditentry_no_delete BEFORE DELETE ON audit_auditentry"
        " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_auditentry_refuse() RETURNS trigger AS $$"
        " BEGIN RAISE EXCEPTION 'audit log is append-only'; END; $$ LANGUAGE plpgsql;",
        "DROP TRIGGER IF EXISTS audit_auditentry_append_only ON audit_auditentry;",
        "CREATE TRIGGER audit_auditentry_append_only BEFORE UPDATE OR DELETE"
        " ON audit_auditentry FOR EACH ROW EXECUTE FUNCTION audit_auditentry_refuse();",
    ],
}
REMOVE = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS audit_auditentry_no_update;",
        "DROP TRIGGER IF EXISTS audit_auditentry_no_delete;",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS audit_auditentry_append_only ON audit_auditentry;",
    ],
}


def install(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for sql in INSTALL.get(connection.vendor, []):
            cursor.execute(sql)


def remove(connection: BaseDatabaseWrapper) -> None:
    """Only for the test runner's flush between transactional tests."""
    with connection.cursor() as cursor:
        for sql in REMOVE.get(connection.vendor, []):
            cursor.execute(sql)
