"""Detection timings for docs/detections.md: the first run over a large stored history
and one new day of a 1,000-person tenant (the project's labelled generator)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, select

from bench.checks import expect
from bench.synthetic import TENANT
from db.engine import open_database
from db.models import ROLLUP_USER_DAY_TOTAL, Alert, SearchLog
from db.state.detection import forget_scored_days, set_scored_through
from ingest.detect.config import DetectionConfig
from ingest.detect.runner import detect
from ingest.simulator.incidents import labelled_tenant
from tests.support.detections import load_records

END = date(2026, 11, 1)


def rescore_last_day(engine: Engine, config: DetectionConfig, last: date) -> tuple[float, int]:
    """Score `last` again three times (its alerts and mark undone each time): the median
    seconds, and how many users searched that day."""
    timings = []
    for _ in range(3):
        with engine.begin() as conn:
            conn.execute(delete(Alert).where(Alert.day == last))
            set_scored_through(conn, TENANT, last - timedelta(days=1))
        timings.append(detect(engine, TENANT, "UTC", config, through=last).seconds)
    with engine.connect() as conn:
        active = conn.execute(
            select(func.count()).where(
                ROLLUP_USER_DAY_TOTAL.c.bucket == (last - date(1970, 1, 1)).days
            )
        ).scalar()
    return sorted(timings)[1], int(active or 0)


def time_first_run(url: str, config: DetectionConfig) -> dict[str, Any]:
    """Detection from scratch over a large stored history (e.g. bench/generate.py's 1M)."""
    engine = open_database(url)
    try:
        with engine.begin() as conn:
            conn.execute(delete(Alert))
            forget_scored_days(conn, TENANT)
        with engine.connect() as conn:
            searches = conn.execute(select(func.count(SearchLog.id))).scalar()
        result = detect(engine, TENANT, "UTC", config)
        last = date.fromisoformat(result.last_day or END.isoformat())
        new_day_seconds, users = rescore_last_day(engine, config, last)  # one new day
    finally:
        engine.dispose()
    expect(searches and result.days_scored, url, f"{searches} searches, {result.days_scored} days")
    expect(users > 0, url, f"nobody searched on {last}, the day timed")
    return {
        "new_day_seconds": new_day_seconds,
        "new_day_users": users,
        "searches": searches,
        "days": result.days_scored,
        "alerts": result.alerts_found,
        "seconds": result.seconds,
    }


def time_new_day(people: int, workdir: Path, config: DetectionConfig) -> dict[str, Any]:
    """Scoring one new day of a tenant of `people` searchers, after the history is scored."""
    tenant = labelled_tenant(99, people=people, days=40, end=END, repeats=0)
    engine = open_database(f"sqlite:///{workdir / 'new-day.db'}")
    try:
        load_records(engine, tenant.records, datetime.combine(END, dtime(), UTC))
        detect(engine, TENANT, "UTC", config)
        last = tenant.key.last_day
        while last.weekday() >= 5:  # a working day: most people search
            last -= timedelta(days=1)
        seconds, active = rescore_last_day(engine, config, last)
        expect(active > 0, "the new day", f"nobody searched on {last}, the day timed")
    finally:
        engine.dispose()
    return {
        "people": people,
        "searches": len(tenant.records),
        "active_that_day": active,
        "seconds": seconds,  # the median of three
    }
