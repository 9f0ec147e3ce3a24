"""CSV that is safe to open in a spreadsheet: shared by the dashboard's downloads, the audit
trail's CSV and the machine API, so the same data is the same file everywhere.

Search text is attacker-controlled: a cell such as `=HYPERLINK(...)` would run as a
formula in Excel. A text cell gets a `'` (OWASP's CSV-injection advice) at its start and
after every `;` and line break when what follows (past spaces and double quotes) starts
with `=`, `+`, `-`, `@`, a tab or a carriage return: a spreadsheet in a semicolon-separated
locale splits `budget;=HYPERLINK(…)` into two cells, the second a live formula, and once a
`;` has broken a field's quotes, a line break in it starts a new row. Every field is quoted,
so a comma or semicolon never ends a field for a reader that honours quotes. Times are
ISO 8601 with their UTC offset, so a file read elsewhere keeps the exact instant. Lines
end in `\r\n` (RFC 4180).
"""

from __future__ import annotations

import csv
import re
from datetime import date, datetime
from typing import IO, Final

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LINE_END = "\r\n"
QUOTING: Final = csv.QUOTE_ALL
"""Every field in quotes, the header too (`csv.QUOTE_ALL`)."""

_FORMULA_SEGMENT = re.compile(r'(^|[;\r\n])(?=[ "]*[=+\-@\t\r])')
"""The start of the cell, a `;` or a line break, then what a spreadsheet would run."""


def neutralise(value: object) -> object:
    """`value` with a `'` wherever a cell, or a piece of it after a `;` or a line break,
    would start a formula."""
    if isinstance(value, str):
        return _FORMULA_SEGMENT.sub(r"\1'", value)
    return value


def _cell(value: object) -> object:
    """A cell of a text (object) column: a time or date as ISO 8601, text neutralised."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return neutralise(value)


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy ready for CSV: times and dates as ISO 8601 (also in a column that mixes them
    with blanks, such as `triaged_at`), text cells neutralised."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            out[name] = column.map(lambda t: "" if pd.isna(t) else t.isoformat())
        elif _is_text(column):
            out[name] = column.map(_cell).astype(object)
    return out


def write_csv(
    frame: pd.DataFrame, buffer: IO[str] | None = None, *, header: bool = True
) -> str | None:
    """`frame` (already `prepare`d) as this module's CSV dialect: every field quoted,
    `\r\n` line ends; into `buffer`, or returned as text without one."""
    return frame.to_csv(
        buffer, index=False, header=header, lineterminator=LINE_END, quoting=QUOTING
    )


def header_csv(columns: list[str]) -> str:
    """The header line alone, as `write_csv` writes it."""
    return str(write_csv(pd.DataFrame(columns=columns)))


def to_csv(frame: pd.DataFrame) -> str:
    """The whole frame as CSV text, header included."""
    return str(write_csv(prepare(frame)))
