"""Every CSV the product writes quotes every field and holds no cell a spreadsheet would run,
read with `,` or `;` as separator; the dashboard does not start with Streamlit's own table
export on. (Whole-file goldens: tests/test_dashboard_logic.py; the browser's view and the
API's copy of the same file: tests/test_exports_browser.py.)"""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from dashboard import alerts_view, export
from dashboard import audit as dashboard_audit
from db import aggregates, queries
from db import audit as trail
from db.alerts import AlertFilters, insert_alerts
from db.engine import open_database
from db.filters import SearchFilters
from tests.support.browser import free_port
from tests.support.builders import record, store_records
from tests.support.detections import new_alert
from tests.support.exports import assert_no_formula_cells, formula_cells
from tests.support.runtime import PROJECT_ROOT, runtime_python, subprocess_env
from tests.support.tenancy import EVERY, SCOPE, TENANT

HOSTILE = (
    'budget;=HYPERLINK("http://evil","x")',
    "a; +1;@SUM(A1)",
    '"=1+1',
    " -2",
    "x;\t;\r;y",
    "line one\r\n=2",
    "plain, with comma",
)
DANGER = "=+-@;\t\r\n\" ,'x1"


def requoted(text: str) -> str:
    """`text` read as CSV and written again with every field quoted: equal to `text` only
    if `text` quoted every field."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerows(csv.reader(io.StringIO(text, newline="")))
    return out.getvalue()


@pytest.mark.parametrize(
    ("value", "neutralised"),
    [
        ("budget;=HYPERLINK(1)", "budget;'=HYPERLINK(1)"),
        ("a;b;-1;@x", "a;b;'-1;'@x"),
        ('x; "=1', "x;' \"=1"),
        (" =1", "' =1"),  # an import that trims spaces would run it
        ('"@x', "'\"@x"),  # a quote a reader takes off
        (";;+1", ";;'+1"),
        ("line one\r\n=2", "line one\r\n'=2"),  # a row of its own once `;` broke the quotes
    ],
)
def test_every_semicolon_piece_that_starts_a_formula_is_neutralised(
    value: str, neutralised: str
) -> None:
    assert export.neutralise(value) == neutralised


def test_the_summary_csv_has_the_apis_columns_and_iso_times() -> None:
    summary = pd.DataFrame(
        {
            "email": ["a@example.com", "=b@example.com"],
            "searches": [3, 1],
            "active_days": [2, 1],
            "first_search": pd.to_datetime(
                ["2026-03-28T10:00:00Z", "2026-03-29T18:29:00Z"], utc=True
            ).tz_convert("Asia/Kolkata"),
            "last_search": pd.to_datetime(
                ["2026-03-29T23:30:00Z", "2026-03-29T18:29:00Z"], utc=True
            ).tz_convert("Asia/Kolkata"),
            "top_description": ["Message Tracking Search", None],
            "reason_share": [1 / 3, 0.0],
            "open_alerts": [2, 0],  # on the page, not in the file
        }
    )
    assert export.summary_csv(summary) == (
        '"email","searches","active_days","first_search","last_search","top_description",'
        '"reason_share"\r\n'
        '"a@example.com","3","2","2026-03-28T15:30:00+05:30","2026-03-30T05:00:00+05:30",'
        '"Message Tracking Search","0.3333333333333333"\r\n'
        '"\'=b@example.com","1","1","2026-03-29T23:59:00+05:30","2026-03-29T23:59:00+05:30",'
        '"","0.0"\r\n'
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=DANGER, max_size=12), min_size=1, max_size=6))
def test_a_semicolon_split_of_any_written_field_never_starts_a_formula(
    texts: list[str],
) -> None:
    # Two text columns: a `;` in an earlier field breaks a later field's quotes.
    frame = pd.DataFrame({"first": texts, "second": texts[::-1], "count": range(len(texts))})
    for content in (export.to_csv(frame), export.csv_from_chunks([frame], frame.columns)):
        text = content if isinstance(content, str) else content.decode("utf-8")
        assert formula_cells(text) == []
        assert requoted(text) == text


@pytest.fixture
def hostile_db(tmp_path: Path) -> Engine:
    """Searches, an alert and audit entries whose text is hostile, in a SQLite file."""
    engine = open_database(f"sqlite:///{tmp_path / 'searchlogs.db'}")
    store_records(
        engine,
        [
            record(f"2026-03-02T{9 + n:02d}:00:00", email, searchText=text, searchReason=text)
            for n, (text, email) in enumerate(
                zip(HOSTILE, ["=cmd|' /C calc'!A0@x.com", "a;=b@x.com"] * 4, strict=False)
            )
        ],
    )
    with engine.begin() as conn:
        insert_alerts(conn, [new_alert("breadth", "a@x.com", date(2026, 3, 2), summary=HOSTILE[0])])
    for text in HOSTILE:
        entry = trail.AuditEntry(
            text, "admin", "export_csv", target=text, filters={"q": text}, tenant=TENANT
        )
        trail.record(engine, entry, datetime(2026, 3, 2, 12, tzinfo=UTC))
    return engine


MARCH = SearchFilters(SCOPE, start=date(2026, 3, 1), end=date(2026, 3, 3))
PRODUCERS: dict[str, Callable[[Engine], bytes | str]] = {
    "searches": lambda e: export.csv_from_chunks(
        queries.iter_searches(e, MARCH, "UTC"), queries.SEARCH_COLUMNS
    ),
    "summary": lambda e: export.summary_csv(aggregates.summary_by_user(e, MARCH, "UTC")),
    "per day": lambda e: export.per_day_csv(aggregates.searches_per_day(e, MARCH, "UTC")),
    "alerts": lambda e: alerts_view.alerts_csv(e, AlertFilters(SCOPE))[0],
    "audit trail": lambda e: dashboard_audit.trail_csv(e, EVERY, trail.TrailFilter(), "UTC")[0],
}


@pytest.mark.parametrize("name", PRODUCERS)
def test_every_csv_the_dashboard_writes_quotes_every_field_and_runs_no_formula(
    hostile_db: Engine, name: str
) -> None:
    content = PRODUCERS[name](hostile_db)
    text = content if isinstance(content, str) else content.decode("utf-8")
    assert text.count("\r\n") > 1, text  # a header and rows
    assert requoted(text) == text
    assert_no_formula_cells(text)


def test_the_dashboard_refuses_to_start_with_streamlits_own_table_export_on(
    tmp_path: Path,
) -> None:
    """Streamlit's "Download as CSV" builds the file in the browser: no audit row, no
    neutralisation. Started where `.streamlit/config.toml` does not turn it off (or with it
    turned on), the server stops with one line instead of serving."""
    env = subprocess_env({"DB_PATH": str(tmp_path / "searchlogs.db")})
    command = [
        runtime_python(),
        *("-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true"),
        *("--server.address", "127.0.0.1", "--server.port", str(free_port())),
        *("--client.disableDataExport", "false"),
    ]
    with subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as server:
        try:
            stdout, stderr = server.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            server.kill()
            pytest.fail("the dashboard started and served with Streamlit's table export on")
    done = subprocess.CompletedProcess(command, server.returncode, stdout.decode(), stderr.decode())
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        "dashboard not started: Streamlit's own table download is on "
        "(client.disableDataExport is false): start the dashboard from the project folder, "
        "whose .streamlit/config.toml turns it off, or pass --client.disableDataExport=true"
    ]
