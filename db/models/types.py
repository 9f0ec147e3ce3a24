"""Column types shared by every table: aware UTC times, and free-text index keys.

Times are stored in UTC. SQLite has no time-zone type, so `UtcDateTime` stores naive UTC
there and hands back aware UTC datetimes everywhere, which keeps comparisons exact.

Free text (addresses, sources, search types) has no length limit, but a PostgreSQL btree
entry must fit in about 2.7 kB. So on PostgreSQL every index over free text indexes
`text_key(column)`, the value itself up to TEXT_KEY_CHARS characters and a bounded form of
longer ones; the primary keys of tables keyed by free text become unique indexes over
those keys. SQLite has no such limit and keeps its plain keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Text,
    and_,
    literal,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType, TypeDecorator

TEXT_KEY_CHARS = 100
"""Free text up to this many characters is its own index key on PostgreSQL."""


def text_key_sql(operand: str, dialect: str) -> str:
    """The SQL of `text_key(operand)`. On PostgreSQL: the value if it has at most
    TEXT_KEY_CHARS characters, else its first TEXT_KEY_CHARS characters and its md5 (longer
    than any short value, so never equal to one); elsewhere the value itself."""
    if dialect != "postgresql":
        return operand
    return (
        f"(CASE WHEN length({operand}) <= {TEXT_KEY_CHARS} THEN {operand} "
        f"ELSE left({operand}, {TEXT_KEY_CHARS}) || md5({operand}) END)"
    )


class text_key(FunctionElement[str]):
    """The bounded index key of a free-text value (`text_key_sql`)."""

    type = Text()
    name = "text_key"
    inherit_cache = True


@compiles(text_key)
def _compile_text_key(element: text_key, compiler: SQLCompiler, **kw: Any) -> str:
    (operand,) = element.clauses
    return text_key_sql(compiler.process(operand, **kw), compiler.dialect.name)


class text_in(FunctionElement[Any]):
    """`column IN (values)`, written on PostgreSQL so that an index over `text_key(column)`
    serves it: `text_key(column) IN (text_key(value), …) AND column IN (values)`."""

    # Not Boolean: SQLite has no boolean type, so SQLAlchemy would write a Boolean element
    # in a WHERE clause as `email_addr IN (?) = 1`, an expression no index serves (a
    # user's searches then scanned every row of the range by time).
    type = NullType()
    name = "text_in"
    inherit_cache = True

    def __init__(
        self,
        column: ColumnElement[str] | InstrumentedAttribute[str],
        values: tuple[str, ...] | list[str],
    ) -> None:
        super().__init__(column, *(literal(value, Text()) for value in values))


@compiles(text_in)
def _compile_text_in(element: text_in, compiler: SQLCompiler, **kw: Any) -> str:
    column, *values = element.clauses
    exact = column.in_(values)
    if compiler.dialect.name != "postgresql":
        return compiler.process(exact, **kw)
    keyed = text_key(column).in_([text_key(value) for value in values])
    return compiler.process(and_(keyed, exact), **kw)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in Python; naive UTC in SQLite, timestamptz in PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UtcDateTime needs an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)
