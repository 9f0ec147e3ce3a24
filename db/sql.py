"""SQL helpers shared by the reads and the rollup maintenance: the one epoch expression
(as a compiler extension and as text), the one CASE over a zone's offset changes, and
reading a statement into a small DataFrame."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, ColumnElement, Engine, Select, case, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from db.timezones import offset_changes

if TYPE_CHECKING:  # pandas is imported where a frame is built: `detect` needs none
    import pandas as pd

EPOCH_SQL = {
    # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff' and rounds a fraction to milliseconds, so
    # 59.9996 s would land in the next second (and bucket); the first 19 characters floor it.
    "sqlite": "unixepoch(substr({}, 1, 19))",
    # An integer epoch: EXTRACT returns numeric since PostgreSQL 14.
    "postgresql": "CAST(floor(EXTRACT(EPOCH FROM {})) AS BIGINT)",
}
"""Whole unix seconds of a UTC timestamp column, per dialect (`{}` is the column)."""


def epoch_sql(column: str, dialect: str) -> str:
    """`EPOCH_SQL` for one column, as text (the rollups' hand-written upserts)."""
    return EPOCH_SQL[dialect].format(column)


class epoch_bucket(FunctionElement[int]):
    """floor((unix seconds of a UTC timestamp + shift) / N), for GROUP BY on SQLite and
    PostgreSQL; the optional shift (seconds) moves UTC to a local clock.

    N is rendered as a literal so the same expression text appears in SELECT and GROUP BY.
    """

    type = BigInteger()
    inherit_cache = True
    name = "epoch_bucket"


def _epoch_bucket_sql(element: epoch_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    column, seconds, *shift = (compiler.process(clause, **kw) for clause in element.clauses)
    shifted = "".join(f" + {value}" for value in shift)
    return f"(({epoch_sql(column, compiler.dialect.name)}{shifted}) / {seconds})"


compiles(epoch_bucket, "sqlite")(_epoch_bucket_sql)
compiles(epoch_bucket, "postgresql")(_epoch_bucket_sql)


def offset_shift(
    column: ColumnElement[Any] | InstrumentedAttribute[Any],
    tz: str,
    lower: datetime,
    upper: datetime,
    *,
    boundary: Callable[[datetime], Any] = lambda moment: moment,
    unit: int = 1,
) -> ColumnElement[Any]:
    """`tz`'s offset east of UTC (in seconds // `unit`) at each `column` value over
    [lower, upper): a literal, or a CASE on `column` < `boundary(change)` per offset change."""
    (_, offset), *changes = offset_changes(tz, lower, upper)

    def value(seconds: int) -> ColumnElement[Any]:
        return literal_column(str(seconds // unit))

    if not changes:
        return value(offset)
    whens = []
    for start, following in changes:
        whens.append((column < boundary(start), value(offset)))
        offset = following
    return case(*whens, else_=value(offset))


def read_frame(
    engine: Engine, statement: Select[*tuple[Any, ...]], columns: Sequence[str]
) -> pd.DataFrame:
    """The rows of `statement` as a DataFrame with `columns`."""
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    return rows_frame(rows, columns)


def rows_frame(rows: Sequence[Any], columns: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([tuple(row) for row in rows], columns=list(columns))
