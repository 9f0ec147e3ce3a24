"""A sensitive category someone searched on a few of their recent days is not new to them:
new words in it raise nothing, while the same words from someone who never searched that
category do. Through the real store and `detect`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from db.engine import open_database
from db.models import Alert
from ingest.detect.config import DetectionConfig, parse_config
from ingest.detect.runner import detect
from tests.support.detections import load_records
from tests.test_detect_vocabulary import END, FIRST, Search, office, records

DAY = 60
NOW_AND_THEN = "helpdesk.lee@corp.example"  # credentials words on three earlier days
NEVER = "office.kim@corp.example"


def searches() -> list[Search]:
    earlier = [(NOW_AND_THEN, day, "password reset request") for day in (10, 24, 38)]
    today = [
        (email, DAY, text)
        for email in (NOW_AND_THEN, NEVER)
        for text in ("mfa codes", "login details")
    ]
    return office(NOW_AND_THEN) + office(NEVER) + earlier + today


def sensitive_alerts(tmp_path: Path, config: DetectionConfig) -> set[str]:
    engine = open_database(f"sqlite:///{tmp_path / 'sensitive.db'}")
    try:
        cursor = datetime.combine(END, datetime.min.time(), UTC)
        load_records(engine, records(searches()), cursor, tenant="acme")
        detect(engine, "acme", "UTC", config)
        with engine.connect() as conn:
            return set(
                conn.execute(
                    select(Alert.email_addr).where(
                        Alert.rule == "sensitive_terms",
                        Alert.day == FIRST + timedelta(days=DAY),
                    )
                ).scalars()
            )
    finally:
        engine.dispose()


def test_new_words_in_a_category_searched_on_recent_days_are_not_new(tmp_path: Path):
    assert sensitive_alerts(tmp_path, DetectionConfig()) == {NEVER}


def test_min_surprise_zero_judges_by_new_words_alone(tmp_path: Path):
    config = parse_config({"rules": {"sensitive_terms": {"min_surprise": 0.0}}})
    assert sensitive_alerts(tmp_path, config) == {NEVER, NOW_AND_THEN}
