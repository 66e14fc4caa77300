"""Raw INSERT statements built from model instances, for the few hot paths that send a whole
transaction as one statement (booking: docs/locking.md). The values are what the ORM would
write (each field's pre_save and database preparation); only the composition is by hand."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model


@cache
def _fields(model: type[Model]) -> tuple[Field[Any, Any], ...]:
    return tuple(f for f in model._meta.concrete_fields if not f.primary_key)


def insert_statement(
    instance: Model,
    *,
    select_from: str | None = None,
    expressions: dict[str, str] | None = None,
    returning: bool = True,
) -> tuple[str, list[Any]]:
    """`INSERT INTO <table> (<columns>) VALUES (…) RETURNING id` for `instance`, or
    `… SELECT … FROM <select_from>` (one row per row of that relation, none when it is
    empty). `expressions` gives SQL for some columns instead of the instance's values (a
    reference to a row inserted earlier in the same statement)."""
    model = type(instance)
    given = expressions or {}
    columns, values, params = [], [], []
    for field in _fields(model):
        columns.append(field.column)
        if field.column in given:
            values.append(given[field.column])
            continue
        value = field.get_db_prep_save(field.pre_save(instance, True), connection)
        values.append("%s")
        params.append(value)
    table = model._meta.db_table
    listed = ", ".join(values)
    source = f"SELECT {listed} FROM {select_from}" if select_from else f"VALUES ({listed})"  # noqa: S608 - names and placeholders only; values are bound
    sql = f"INSERT INTO {table} ({', '.join(columns)}) {source}"
    if returning:
        sql += f" RETURNING {model._meta.pk.column}"  # type: ignore[union-attr]
    return sql, params
