"""Raw INSERT statements built from model instances, for the few hot paths that send a whole
transaction as one statement (booking: docs/locking.md). The values are what the ORM would
write (each field's pre_save and database preparation); only the composition is by hand.

The statement text and, per column, how its value is read are worked out once per model and
shape; a request then only reads its values."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from operator import attrgetter
from typing import Any, TypeVar

from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    CharField,
    Field,
    ForeignKey,
    IntegerField,
    Model,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    SmallIntegerField,
    TextField,
)

#: Fields whose database value is the attribute itself when it already has the field's type:
#: no pre_save hook, no conversion for the driver (a foreign key: the id in its attname).
_PLAIN_FIELDS = (BooleanField, CharField, ForeignKey, TextField)
#: Integer fields: the value as the backend adapts it (on psycopg 3, typed Int2/Int4/Int8).
_INTEGER_FIELDS = (
    BigIntegerField,
    IntegerField,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    SmallIntegerField,
)

_Reader = Callable[[Model], Any]


def _reader(field: Field[Any, Any]) -> _Reader:
    if type(field) in _PLAIN_FIELDS:
        return attrgetter(field.attname)
    if type(field) in _INTEGER_FIELDS:
        read, internal = attrgetter(field.attname), field.get_internal_type()
        adapt = connection.ops.adapt_integerfield_value

        def integer(instance: Model) -> Any:
            return adapt(read(instance), internal)

        return integer

    def prepared(instance: Model) -> Any:
        return field.get_db_prep_save(field.pre_save(instance, True), connection)

    return prepared


@cache
def _shape(
    model: type[Model],
    select_from: str | None,
    given: frozenset[str],
    returning: bool,
) -> tuple[str, tuple[_Reader, ...]]:
    """The statement text with `{name}` holes for the given expressions, and the readers of
    the bound values in order."""
    columns, values, readers = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in given:
            values.append("{" + field.column + "}")
            continue
        values.append("%s")
        readers.append(_reader(field))
    table = model._meta.db_table
    listed = ", ".join(values)
    source = f"SELECT {listed} FROM {select_from}" if select_from else f"VALUES ({listed})"  # noqa: S608 - names and placeholders only; values are bound # nosec B608
    sql = f"INSERT INTO {table} ({', '.join(columns)}) {source}"
    if returning:
        sql += f" RETURNING {model._meta.pk.column}"  # type: ignore[union-attr]
    return sql, tuple(readers)


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
    given = expressions or {}
    sql, readers = _shape(type(instance), select_from, frozenset(given), returning)
    if given:
        sql = sql.format_map(given)
    return sql, [read(instance) for read in readers]


# --- many rows at once -------------------------------------------------------------------------


def copy_rows(table: str, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> int:
    """Write many rows in one pass: COPY on PostgreSQL, executemany on SQLite. The values
    must already be what the database stores (for outbox and draw rows of a million, where
    building model instances would cost more than the writing). `rows` must not read the
    database: the COPY holds the connection until it ends. Returns the rows written."""
    names = ", ".join(columns)
    written = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # psycopg's own cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # nosec B608 - names only
                for row in rows:
                    copy.write_row(row)
                    written += 1
            return written
        holes = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({names}) VALUES ({holes})"  # noqa: S608 - names and placeholders only # nosec B608
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 5000:
                cursor.executemany(sql, batch)
                written += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            written += len(batch)
    return written


def set_integers_by_id(
    table: str, column: str, values: Iterable[tuple[int, int]], *, also: str = ""
) -> int:
    """`UPDATE table SET column = value [, also] WHERE id = …` for many (id, integer) pairs
    in one pass: one statement on PostgreSQL (a join with unnest), executemany on SQLite.
    `also` is more of the SET list, written with `{value}` for the row's value (e.g.
    `"won = {value} <= 10"`); it must hold names and numbers only, never input."""
    pairs = list(values)
    if not pairs:
        return 0
    extra_pg = f", {also.format(value='v.value')}" if also else ""
    extra_sqlite = f", {also.format(value='%s')}" if also else ""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS t SET {column} = v.value{extra_pg}"  # noqa: S608 - names only; values are bound # nosec B608
                " FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, value) WHERE t.id = v.id",
                [[p[0] for p in pairs], [p[1] for p in pairs]],
            )
            return int(cursor.rowcount)
        holes = 2 if also else 1
        cursor.executemany(
            f"UPDATE {table} SET {column} = %s{extra_sqlite} WHERE id = %s",  # noqa: S608 - names only # nosec B608
            [(value, *([value] * (holes - 1)), pk) for pk, value in pairs],
        )
    return len(pairs)


# --- one row by a unique column ----------------------------------------------------------------

_Converter = Callable[[Any, Any, Any], Any]
_M = TypeVar("_M", bound=Model)


@cache
def _select_shape(
    model: type[Model], column: str
) -> tuple[str, tuple[str, ...], tuple[tuple[int, tuple[Any, tuple[_Converter, ...]]], ...]]:
    """`SELECT <every column> FROM <table> WHERE <column> = %s`, the attribute names in
    order, and for the columns that need it the converters the ORM would apply to the
    database's value (the backend's first, then the field's: a datetime stored as text on
    SQLite, say)."""
    fields = model._meta.concrete_fields
    quote = connection.ops.quote_name
    listed = ", ".join(quote(f.column) for f in fields)
    sql = f"SELECT {listed} FROM {quote(model._meta.db_table)} WHERE {quote(column)} = %s"  # noqa: S608 - names only; the value is bound # nosec B608
    converters = []
    for index, field in enumerate(fields):
        column_expression = field.get_col(model._meta.db_table)
        found = tuple(connection.ops.get_db_converters(column_expression)) + tuple(
            column_expression.get_db_converters(connection)
        )
        if found:
            converters.append((index, (column_expression, found)))
    return sql, tuple(f.attname for f in fields), tuple(converters)


def fetch_one(model: type[_M], column: str, value: Any) -> _M | None:
    """The row of `model` whose `column` (unique) holds `value`, as the ORM would build it,
    read in one plain statement on the default connection: for hot paths where compiling the
    query cost more than the read (the real-name identity of each booking)."""
    sql, attnames, converters = _select_shape(model, column)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, (expression, functions) in converters:
        for convert in functions:
            values[index] = convert(values[index], expression, connection)
    return model.from_db(connection.alias, list(attnames), values)
