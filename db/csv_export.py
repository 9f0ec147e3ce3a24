"""CSV that is safe to open in a spreadsheet: shared by the dashboard's downloads and the
machine API.

Search text is attacker-controlled: a cell such as `=HYPERLINK(...)` would run as a
formula in Excel. Every string cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return gets a leading `'` (OWASP's CSV-injection advice). Times are written as
ISO 8601 with their UTC offset, so a file read elsewhere keeps the exact instant. Lines end
in `\r\n` (RFC 4180): Python's CSV writer quotes only cells holding a character of the
line ending, so with a bare `\n` a search text holding `\r` would split its row.
"""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LINE_END = "\r\n"


def neutralise(value: object) -> object:
    """`value` with a leading `'` if it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy ready for CSV: aware times as ISO 8601, text cells neutralised."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            out[name] = column.map(lambda t: "" if pd.isna(t) else t.isoformat())
        elif _is_text(column):
            out[name] = column.map(neutralise).astype(object)
    return out


def to_csv(frame: pd.DataFrame) -> str:
    """The whole frame as CSV text, header included."""
    return prepare(frame).to_csv(index=False, lineterminator=LINE_END)
