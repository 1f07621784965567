"""Lean row reads and inserts for the submit hot path: model instances without query compilation.

A signed submit is the API's busiest write. Compiling its queries through the ORM cost more CPU
than everything else the request does (bench/api_bench.py; figures in docs/performance.md), so
the submit path reads with hand-written SQL and inserts with SQL built once per model from its
`_meta`. Values go through the same field and backend converters the ORM uses, so the
instances are the ones the ORM would build. Only models without save() overrides or signals
may be written here (the submit path's are).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, Any], Any]


@cache
def _conversions(
    model: type[Model], names: tuple[str, ...], vendor: str
) -> tuple[tuple[int, tuple[Converter, ...], Any], ...]:
    """(position, converters, column) for the columns among `names` that need converting."""
    plans = []
    for position, name in enumerate(names):
        field: Field[Any, Any] = model._meta.get_field(name)  # type: ignore[assignment]
        column = field.get_col(model._meta.db_table)
        convert = tuple(connection.ops.get_db_converters(column)) + tuple(
            field.get_db_converters(connection)
        )
        if convert:
            plans.append((position, convert, column))
    return tuple(plans)


def columns(model: type[Model], names: Sequence[str], alias: str) -> str:
    """`alias.col, …` for the attnames `names`, in order: the SELECT list for instance()."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(_column(model, name))}" for name in names)


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    if field.many_to_many or field.one_to_many or not field.concrete:
        raise ValueError(f"{model.__name__}.{name} is not a column of its table")
    return str(field.column)  # type: ignore[union-attr]


def instance(model: type[M], names: tuple[str, ...], values: Sequence[Any]) -> M:
    """A model instance from raw column values, converted as the ORM would; other fields deferred."""
    # One lookup of the thread's connection: each access through django.db.connection costs
    # one, and this runs several times on every submit.
    db = connections[DEFAULT_DB_ALIAS]
    row = list(values)
    for position, convert, column in _conversions(model, names, db.vendor):
        value = row[position]
        for converter in convert:
            value = converter(value, column, db)
        row[position] = value
    return model.from_db(DEFAULT_DB_ALIAS, names, row)


@cache
def _insert_plan(model: type[Model], vendor: str) -> tuple[str, tuple[Field[Any, Any], ...], bool]:
    """(INSERT statement, its fields in order, whether it RETURNs the new primary key)."""
    opts = model._meta
    fields = tuple(f for f in opts.concrete_fields if not f.primary_key)
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(str(f.column)) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    returning = bool(connection.features.can_return_columns_from_insert)
    if returning:
        sql += f" RETURNING {quote(str(opts.pk.column))}"
    return sql, fields, returning


def insert(obj: Model) -> None:
    """INSERT obj as save() would on a new row (auto_now fields, defaults), and set its pk."""
    sql, fields, returning = _insert_plan(type(obj), connection.vendor)
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias
