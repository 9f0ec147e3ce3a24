"""CSV and JSON downloads that are safe to open in a spreadsheet.

The formula neutralisation, quoting, ISO times and `\r\n` line ends are in
`db.csv_export`, which the machine API uses too: a table's CSV here and the API's CSV of
the same data are the same file (same columns, same time format).
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Callable, Iterable

import pandas as pd
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from config.signing import KeyProblem, load_private_key
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


# --- signed manifests beside the audited CSV downloads (docs/evidence.md)


def signing_key(key_file: str) -> Ed25519PrivateKey | None:
    """The installation's signing key, None when SIGNING_KEY_FILE is unset; KeyProblem
    (one line) when it is set but cannot be used: the CSV download is then refused."""
    return load_private_key(key_file) if key_file else None


def key_problem(key_file: str) -> str | None:
    try:
        signing_key(key_file)
    except KeyProblem as exc:
        return str(exc)
    return None


def manifest_name(file_name: str) -> str:
    return f"{file_name}.manifest.json"


class ExportPair:
    """One audited export served as two files, the CSV and its manifest, from one audit
    row: whichever button is asked first makes the export, the other serves the same one
    once; after both, the next ask makes a new export (and a new audit row).

    Both buttons' files are made on Streamlit's download threads, hence the lock."""

    def __init__(self, make: Callable[[], tuple[bytes, bytes]]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._held: dict[int, bytes] = {}

    def _serve(self, part: int) -> bytes:
        with self._lock:
            if part not in self._held:
                self._held = dict(enumerate(self._make()))
            return self._held.pop(part)

    def csv(self) -> bytes:
        return self._serve(0)

    def manifest(self) -> bytes:
        return self._serve(1)
