"""CSV and JSON downloads that are safe to open in a spreadsheet.

The formula neutralisation, ISO times and `\r\n` line ends are in `db.csv_export`, which
the machine API uses too.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable

import pandas as pd

# Re-exported: pages and tests import them from here.
from db.csv_export import FORMULA_STARTS, LINE_END, neutralise, prepare, to_csv  # noqa: F401


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
