"""What the database holds against the simulator's ground truth: stored and expected
records, runs, row counts, the rollups against the rows."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from db.engine import make_engine, sqlite_path
from db.models import IngestRun, RejectedRecord, SearchLog
from ingest.records import SearchEvent, parse_record
from ingest.store import Store


def canonical(record: object) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


def stored_records(
    db_url: str, start: datetime | None = None, end: datetime | None = None
) -> Counter[str]:
    """Stored search logs (those in [start, end] if given), as canonical JSON, with multiplicity."""
    statement = select(SearchLog.raw_json)
    if start is not None:
        statement = statement.where(SearchLog.create_time >= start)
    if end is not None:
        statement = statement.where(SearchLog.create_time <= end)
    engine = make_engine(db_url, create_folder=False)
    try:
        with engine.connect() as conn:
            rows = conn.execute(statement).scalars().all()
    finally:
        engine.dispose()
    return Counter(canonical(json.loads(raw)) for raw in rows)


def stored_rejects(db_url: str) -> Counter[str]:
    engine = make_engine(db_url, create_folder=False)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(RejectedRecord.raw_json)).scalars().all()
    finally:
        engine.dispose()
    return Counter(canonical(json.loads(raw)) for raw in rows)


def expected_records(truth: list[object], start: datetime, end: datetime) -> Counter[str]:
    """Valid truth records whose createTime lies in [start, end]."""
    expected: Counter[str] = Counter()
    for record in truth:
        parsed = parse_record(record)
        if isinstance(parsed, SearchEvent) and start <= parsed.create_time <= end:
            expected[canonical(record)] += 1
    return expected


def difference(expected: Counter[str], actual: Counter[str]) -> str:
    missing = expected - actual
    extra = actual - expected
    return (
        f"missing {sum(missing.values())}: {list(missing)[:3]}; "
        f"extra {sum(extra.values())}: {list(extra)[:3]}"
    )


def _missing_file(db_url: str) -> bool:
    """A SQLite or libSQL file not made yet (the ingest has not started)."""
    path = sqlite_path(db_url)
    return path is not None and not path.exists()


def row_count(db_url: str, table: str = "search_logs") -> int:
    if _missing_file(db_url):
        return 0
    engine = make_engine(db_url, create_folder=False)
    try:
        with engine.connect() as conn:
            try:
                return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0
            except Exception:
                return 0
    finally:
        engine.dispose()


def runs(db_url: str) -> list[IngestRun]:
    if _missing_file(db_url):
        return []
    engine = make_engine(db_url, create_folder=False)
    try:
        with Session(engine, expire_on_commit=False) as session:
            try:
                return list(session.scalars(select(IngestRun).order_by(IngestRun.id)).all())
            except OperationalError:
                return []  # the schema is not there yet
    finally:
        engine.dispose()


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def assert_rollups_and_filter_values_match_the_rows(store: Store) -> None:
    with store.engine.connect() as conn:
        per_user = dict(
            conn.execute(text("SELECT email_addr, count(*) FROM search_logs GROUP BY 1")).all()
        )
        for table in ("rollup_user_all", "rollup_user_hour", "rollup_user_day_total"):
            rolled = conn.execute(
                text(f"SELECT email_addr, sum(searches) FROM {table} GROUP BY 1")
            ).all()
            assert {user: int(count) for user, count in rolled} == per_user, table
        values = set(conn.execute(text("SELECT kind, value FROM filter_values")).all())
        expected = {("user", user) for user in per_user}
        for kind in ("source", "description"):
            rows = conn.execute(text(f"SELECT DISTINCT {kind} FROM search_logs")).scalars()
            expected |= {(kind, value) for value in rows if value is not None}
    assert values == expected
