"""One time format across the pages, the CSVs and the API (docs/evidence.md, "Times"):
pages show `YYYY-MM-DD HH:mm:ss` in DISPLAY_TZ, whose name the frame states once per page;
CSVs and the API give ISO 8601 / RFC 3339 with the offset, in the same zone."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from dashboard.formatting import TABLE_TIME
from tests.support.apptest import (  # noqa: F401 (page_*: the page fixtures)
    APP,
    MARCH,
    assert_clean,
    deferred_files,
    page_db_file,
    page_engine,
    page_known,
    texts,
)
from tests.support.builders import record, store_records

TARGETED = record(  # Berlin 10:15:42 CEST on the 30th
    "2026-03-30T08:15:42",
    "b@example.com",
    source="archive",
    searchText="[User : a@example.com]",
    searchReason="",
    description="Message Tracking Search",
)
PAGES = [
    (None, {}),
    ("pages/user.py", {"email": "a@example.com"}),
    ("pages/day.py", {"date": "2026-03-30"}),
    ("pages/mailboxes.py", {}),
    ("pages/mailboxes.py", {"addr": "a@example.com"}),
    ("pages/mailboxes.py", {"addr": "a@example.com", "view": "report"}),
    ("pages/calendar.py", {"month": "2026-03"}),
    ("pages/alerts.py", {}),
    ("pages/status.py", {}),
    ("pages/audit.py", {}),
    ("pages/tokens.py", {}),
]
ANY_TIME = re.compile(
    r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d)?(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d| ?[A-Z]{3,5}\b)?"
)
"""A time as any page might write it, with whatever zone or offset follows it."""
PAGE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
CSV_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+0[12]:00")  # Berlin
"""RFC 3339 with the offset of Europe/Berlin (CET +01:00, CEST +02:00)."""


@pytest.fixture(name="targeted")
def targeted_known(known: Engine) -> Engine:
    store_records(known, [TARGETED])
    return known


def _open(page: str | None, params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    if page is not None:
        at.run()
        at.switch_page(page)
    at.query_params.clear()
    at.query_params.update({**MARCH, **params})
    at.run()
    assert_clean(at)
    return at


def _time_column_formats(at: AppTest) -> Iterator[tuple[str, str]]:
    """(column, format) of every time column of every table on the page."""
    for table in at.dataframe:
        for name, config in json.loads(table.proto.columns or "{}").items():
            kind = config.get("type_config", {})
            if kind.get("type") in ("datetime", "time"):
                yield name, kind.get("format", "")


def _shown_times(at: AppTest) -> list[str]:
    """Every time written in the page's text, metrics and static tables."""
    shown = texts(at)
    shown += [m.value + " " + str(m.delta or "") for m in at.metric]
    for table in at.table:
        frame = table.value
        shown += [str(v) for v in frame.index] + [str(v) for v in frame.to_numpy().ravel()]
    return [match for line in shown for match in ANY_TIME.findall(line)]


def test_every_page_shows_times_as_one_format_with_the_zone_named_once(
    targeted: Engine,
) -> None:
    seen_columns, seen_text = set(), 0
    for page, params in PAGES:
        at = _open(page, params)
        where = f"{page} {params}"
        zone_lines = [line for line in texts(at) if "Times and days in **Europe/Berlin**" in line]
        assert len(zone_lines) == 1, where
        for name, shown in _time_column_formats(at):
            assert shown == TABLE_TIME, (where, name, shown)
            seen_columns.add((page, name))
        for moment in _shown_times(at):
            assert PAGE_TIME.fullmatch(moment), (where, moment)
            seen_text += 1
        for metric in at.metric:
            if re.fullmatch(r"\d\d:\d\d(:\d\d)?( ?[A-Z]{3,5})?", metric.value):  # an instant
                assert re.fullmatch(r"\d\d:\d\d:\d\d", metric.value), (where, metric.value)
    assert ("pages/mailboxes.py", "last_search") in seen_columns
    assert ("pages/mailboxes.py", "time") in seen_columns
    assert ("pages/audit.py", "at") in seen_columns
    assert seen_text >= 3  # the frame's last ingest, the report's rows, status


def test_the_privacy_report_lists_its_times_in_the_page_format(targeted: Engine) -> None:
    at = _open("pages/mailboxes.py", {"addr": "a@example.com", "view": "report"})
    (report,) = at.table
    assert list(report.value.index) == ["2026-03-30 10:15:42"]


def _csv_times(content: bytes) -> list[str]:
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    assert rows
    return [v for row in rows for k, v in row.items() if k in {"time", "at"} or k.endswith("_at")]


@pytest.mark.parametrize(
    ("page", "params", "label"),
    [
        ("pages/user.py", {"email": "a@example.com"}, "Download"),
        ("pages/mailboxes.py", {"addr": "a@example.com"}, "Download all"),
        ("pages/mailboxes.py", {"addr": "a@example.com", "view": "report"}, "Download the"),
        ("pages/audit.py", {}, "Download"),
    ],
)
def test_csv_downloads_give_times_as_iso_8601_with_the_offset_of_the_page_zone(
    targeted: Engine, monkeypatch: pytest.MonkeyPatch, page: str, params: dict, label: str
) -> None:
    made = deferred_files(monkeypatch)
    at = _open(page, params)
    button = next(b for b in at.download_button if b.label.startswith(label))
    times = _csv_times(made[button.proto.deferred_file_id]())
    assert times
    for moment in times:
        assert moment == "" or CSV_TIME.fullmatch(moment), (page, moment)
    if "addr" in params:
        assert times == ["2026-03-30T10:15:42+02:00"]
