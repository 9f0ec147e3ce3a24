"""CSV and JSON downloads that are safe to open in a spreadsheet.

The formula neutralisation, quoting, ISO times and `\r\n` line ends are in
`db.csv_export`, which the machine API uses too: a table's CSV here and the API's CSV of
the same data are the same file (same columns, same time format).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable

import pandas as pd

from db.aggregates import SUMMARY_COLUMNS

# Re-exported: pages and tests import them from here.
from db.csv_export import (  # noqa: F401
    FORMULA_STARTS,
    LINE_END,
    header_csv,
    neutralise,
    prepare,
    to_csv,
    write_csv,
)


def csv_from_chunks(chunks: Iterable[pd.DataFrame], columns: Iterable[str]) -> bytes:
    """One CSV file from frames streamed out of the database, one header, UTF-8."""
    return csv_with_rows(chunks, columns)[0]


def csv_with_rows(chunks: Iterable[pd.DataFrame], columns: Iterable[str]) -> tuple[bytes, int]:
    """`csv_from_chunks` and the number of rows written (what the audit trail records)."""
    buffer = io.StringIO()
    buffer.write(header_csv(list(columns)))
    rows = 0
    for chunk in chunks:
        write_csv(prepare(chunk), buffer, header=False)
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
    """`date,searches`: the columns and values of the API's `searches-per-day` CSV."""
    frame = pd.DataFrame(
        {
            "date": [day.isoformat() for day in per_day["date"]],
            "searches": per_day["searches"].astype("int64"),
        }
    )
    return to_csv(frame)


def summary_csv(summary: pd.DataFrame) -> str:
    """The summary's CSV: `SUMMARY_COLUMNS` as `db.aggregates` names them, times in ISO
    8601 with their offset, as the API's `users` CSV (one file for the same data)."""
    return to_csv(summary[list(SUMMARY_COLUMNS)])


def file_name(*parts: object, suffix: str = "csv") -> str:
    """A download name safe on every OS: `searches_a_example.com_2026-03-01.csv`."""
    stem = "_".join(str(part) for part in parts)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem.replace("@", "_at_")).strip("_") + f".{suffix}"


def builtin_export_problem(disabled: bool) -> str | None:
    """Why the dashboard must not start with Streamlit's own table export on, or None.

    Its "Download as CSV" and copy build the file in the browser: no audit row, no formula
    neutralisation. `.streamlit/config.toml` turns it off; a server started from another
    folder (or with `--client.disableDataExport=false`) would not read that, so it refuses.
    """
    if disabled:
        return None
    return (
        "Streamlit's own table download is on (client.disableDataExport is false): start "
        "the dashboard from the project folder, whose .streamlit/config.toml turns it off, "
        "or pass --client.disableDataExport=true"
    )
