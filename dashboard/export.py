"""CSV and JSON downloads that are safe to open in a spreadsheet.

Search text is attacker-controlled: a cell such as `=HYPERLINK(...)` would run as a
formula in Excel. Every string cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return gets a leading `'` (OWASP's CSV-injection advice). Times are written as
ISO 8601 with their UTC offset, so a file read elsewhere keeps the exact instant. Lines end
in `\r\n` (RFC 4180): Python's CSV writer quotes only cells holding a character of the
line ending, so with a bare `\n` a search text holding `\r` would split its row.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable

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


def csv_from_chunks(chunks: Iterable[pd.DataFrame], columns: Iterable[str]) -> bytes:
    """One CSV file from frames streamed out of the database, one header, UTF-8."""
    return csv_with_rows(chunks, columns)[0]


def csv_with_rows(chunks: Iterable[pd.DataFrame], columns: Iterable[str]) -> tuple[bytes, int]:
    """`csv_from_chunks` and the number of rows written (what the audit trail records)."""
    buffer = io.StringIO()
    pd.DataFrame(columns=list(columns)).to_csv(buffer, index=False, lineterminator=LINE_END)
    rows = 0
    for chunk in chunks:
        prepare(chunk).to_csv(buffer, index=False, header=False, lineterminator=LINE_END)
        rows += len(chunk)
    return buffer.getvalue().encode("utf-8"), rows


def per_day_json(per_day: pd.DataFrame) -> str:
    """`[{"date": "YYYY-MM-DD", "count": N}, …]`, as the original `/api/searches-per-day`."""
    return json.dumps(
        [
            {"date": day.isoformat(), "count": int(count)}
            for day, count in zip(per_day["date"], per_day["searches"], strict=True)
        ]
    )


def per_day_csv(per_day: pd.DataFrame) -> str:
    frame = pd.DataFrame(
        {
            "date": [day.isoformat() for day in per_day["date"]],
            "count": per_day["searches"].astype("int64"),
        }
    )
    return to_csv(frame)


def file_name(*parts: object, suffix: str = "csv") -> str:
    """A download name safe on every OS: `searches_a_example.com_2026-03-01.csv`."""
    stem = "_".join(str(part) for part in parts)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem.replace("@", "_at_")).strip("_") + f".{suffix}"
