"""A team searching together (an incident response: credentials words and many mailboxes
new to each member, on one day) raises no content alert, and one person far above that team
on the same day still does; the same day without the team alerts everyone. Through the real
store and `detect`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from db.engine import open_database
from db.models import Alert
from ingest.detect.config import DetectionConfig
from ingest.detect.runner import detect
from tests.support.detections import load_records
from tests.test_detect_vocabulary import END, FIRST, Search, office, records

TENANT = "acme"
DAY = 60  # a Wednesday, well after every rule's warm-up
STAFF = [f"staff{n:02d}@corp.example" for n in range(30)]
TEAM = [f"responder{n:02d}@corp.example" for n in range(12)]
INSIDER = "quiet.one@corp.example"


def responding(email: str, member: int) -> list[Search]:
    """Two credentials searches and fifteen mailboxes this member never searched before."""
    mailboxes = [f"[User : victim{(member + k) % 40:02d}@corp.example]" for k in range(15)]
    return [(email, DAY, "password reset phishing"), (email, DAY, "mfa codes leaked")] + [
        (email, DAY, text) for text in mailboxes
    ]


def content_alerts(tmp_path: Path, searches: list[Search]) -> set[tuple[str, str]]:
    engine: Engine = open_database(f"sqlite:///{tmp_path / 'cohort.db'}")
    try:
        cursor = datetime.combine(END, datetime.min.time(), UTC)
        load_records(engine, records(searches), cursor, tenant=TENANT)
        detect(engine, TENANT, "UTC", DetectionConfig())
        with engine.connect() as conn:
            rows = conn.execute(
                select(Alert.rule, Alert.email_addr).where(
                    Alert.day == FIRST + timedelta(days=DAY),
                    Alert.rule.in_(("sensitive_terms", "breadth")),
                )
            ).all()
    finally:
        engine.dispose()
    return {(rule, email) for rule, email in rows}


def everyone() -> list[Search]:
    return [s for email in STAFF + TEAM + [INSIDER] for s in office(email)]


def test_a_team_searching_together_raises_no_content_alert_but_one_far_above_it_does(
    tmp_path: Path,
):
    insider = [(INSIDER, DAY, f"password vault export {n}") for n in range(20)]
    team = [s for member, email in enumerate(TEAM) for s in responding(email, member)]
    found = content_alerts(tmp_path, everyone() + team + insider)
    assert not {email for _, email in found} & set(TEAM)
    assert ("sensitive_terms", INSIDER) in found


def test_the_same_searches_by_a_few_people_alert_each_of_them(tmp_path: Path):
    few = [s for member, email in enumerate(TEAM[:3]) for s in responding(email, member)]
    found = content_alerts(tmp_path, everyone() + few)
    assert {email for _, email in found} == set(TEAM[:3])
