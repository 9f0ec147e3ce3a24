"""Sensitive words by category, risk across days and named evidence, through the real
store: two tenants share an address whose habits differ, so each verdict must come from
that tenant's own history."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from db.engine import open_database
from db.models import Alert
from ingest.detect.config import DetectionConfigError, parse_config
from ingest.detect.runner import detect
from ingest.detect.vocabulary import Vocabulary, vocabulary_of
from tests.support.detections import load_records

FIRST = date(2026, 3, 2)  # a Monday
DAYS = 70
END = FIRST + timedelta(days=DAYS)
SHARED = "pat.shared@corp.example"  # in both tenants
Search = tuple[str, int, str]  # (email, day index, text)


def records(searches: list[Search]) -> list[dict[str, object]]:
    made = []
    for number, (email, index, text) in enumerate(sorted(searches, key=lambda s: s[1])):
        moment = datetime.combine(FIRST, datetime.min.time(), UTC) + timedelta(
            days=index, hours=9, seconds=number % 3600
        )
        made.append(
            {
                "createTime": moment.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                "emailAddr": email,
                "source": "archive",
                "searchText": text,
                "searchReason": "",
                "description": "Archive Search",
            }
        )
    return made


def weekdays(first: int = 0, last: int = DAYS - 1) -> list[int]:
    return [i for i in range(first, last + 1) if (FIRST + timedelta(days=i)).weekday() < 5]


def office(email: str) -> list[Search]:
    """An ordinary searcher: a few benign searches every weekday."""
    return [(email, i, text) for i in weekdays() for text in ("invoice", "meeting notes")]


def hr_routine(email: str) -> list[Search]:
    """A compliance officer: HR words every weekday (their routine)."""
    return [
        (email, i, text)
        for i in weekdays()
        for text in ("disciplinary hearing", "grievance 2291", "invoice")
    ]


def alerts_of(engine: Engine, tenant: str) -> list[tuple[str, str, date, dict]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Alert.rule, Alert.email_addr, Alert.day, Alert.figures).where(
                Alert.tenant == tenant
            )
        ).all()
    return [(rule, email, day, json.loads(figures)) for rule, email, day, figures in rows]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """acme: SHARED routinely searches HR words, then M&A words for the first time on day
    60; globex: SHARED is an ordinary searcher who searches HR words on day 60 and, from day
    30, one sensitive search every weekday; a slow breadth in acme (six new mailboxes a
    weekday from day 30)."""
    path: Path = tmp_path_factory.mktemp("vocabulary") / "searchlogs.db"
    engine = open_database(f"sqlite:///{path}")
    acme = hr_routine(SHARED) + office("lee.quiet@corp.example")
    acme += [(SHARED, 60, "grievance 2291"), (SHARED, 60, "due diligence Falcon")]
    acme += [(SHARED, 60, "M&A shortlist")]
    acme += [("lee.quiet@corp.example", 50, "password expiry notice")]  # a one-off
    acme += office("sam.slow@corp.example")
    acme += hr_routine("ria.heavy@corp.example")
    acme += [("ria.heavy@corp.example", 53, f"grievance {n}") for n in range(30)]
    acme += [
        ("sam.slow@corp.example", i, f"[User : mbx{i:03d}{n}@corp.example]")
        for i in weekdays(30, 58)
        for n in range(6)
    ]
    globex = [*office(SHARED), (SHARED, 60, "salaries 2026"), (SHARED, 60, "laid-off staff")]
    globex += office("kim.drip@corp.example")
    words = ("compensation bands", "pay rise letters", "headcount reduction", "term sheet")
    globex += [("kim.drip@corp.example", i, words[i % len(words)]) for i in weekdays(30, 58)]
    cursor = datetime.combine(END, datetime.min.time(), UTC)
    load_records(engine, records(acme), cursor, tenant="acme")
    load_records(engine, records(globex), cursor, tenant="globex")
    for tenant in ("acme", "globex"):
        detect(engine, tenant, "UTC", parse_config({}))
    yield engine
    engine.dispose()


def test_sensitive_words_match_by_stem_and_variant_and_report_the_literal_text():
    vocabulary = Vocabulary(vocabulary_of({}))
    assert vocabulary.find("Salaries 2026") == {"hr": {"salaries"}}
    assert vocabulary.find("list of people LAID-OFF") == {"hr": {"laid-off"}}
    assert vocabulary.find("redundancies by team") == {"hr": {"redundancies"}}
    assert vocabulary.find("M&A shortlist, due diligence") == {"mna": {"m&a", "due diligence"}}
    assert vocabulary.find("Mergers and Acquisitions") == {"mna": {"mergers and acquisitions"}}
    assert vocabulary.find("invoice inside the board pack") == {}


def test_the_rules_file_extends_a_category_and_may_add_one():
    config = parse_config(
        {
            "rules": {
                "sensitive_terms": {
                    "vocabulary": {"mna": ["Project Falcon"], "ip": ["source code"]}
                }
            }
        }
    )
    words = config.rules.sensitive_terms.vocabulary
    vocabulary = Vocabulary(vocabulary_of(words))
    assert vocabulary.find("project falcon status") == {"mna": {"project falcon"}}
    assert vocabulary.find("Source-Code escrow") == {"ip": {"source-code"}}
    assert vocabulary.find("merger") == {"mna": {"merger"}}  # the defaults stay
    with pytest.raises(DetectionConfigError, match=r"rules\.sensitive_terms\.vocabulary must be"):
        parse_config({"rules": {"sensitive_terms": {"vocabulary": {"hr": "salary"}}}})


def test_a_routine_category_does_not_fire_but_two_searches_in_a_first_category_do(engine):
    acme = [a for a in alerts_of(engine, "acme") if a[0] == "sensitive_terms" and a[1] == SHARED]
    assert [(a[1], a[2]) for a in acme] == [(SHARED, FIRST + timedelta(days=60))]
    figures = acme[0][3]
    assert [c["category"] for c in figures["categories"]] == ["mna"]  # not their HR routine
    assert figures["terms"] == ["due diligence", "m&a"]
    assert figures["observed"] == 2 and figures["threshold"] == 2 and figures["surprise"] > 1
    # one first search in a category only adds risk: a one-off raises nothing
    assert not [a for a in alerts_of(engine, "acme") if a[1] == "lee.quiet@corp.example"]


def test_a_routine_category_fires_far_above_the_users_own_usual_day(engine):
    heavy = [a for a in alerts_of(engine, "acme") if a[1] == "ria.heavy@corp.example"]
    heavy = [a for a in heavy if a[0] == "sensitive_terms"]  # volume_spike too
    assert [(a[0], a[2]) for a in heavy] == [("sensitive_terms", FIRST + timedelta(days=53))]
    figures = heavy[0][3]
    assert figures["categories"][0]["category"] == "hr"
    assert (figures["observed"], figures["baseline"], figures["threshold"]) == (32, 2, 8)


def test_the_same_address_is_judged_on_its_own_tenants_history(engine):
    globex = [a for a in alerts_of(engine, "globex") if a[0] == "sensitive_terms"]
    assert [(a[1], a[2]) for a in globex] == [(SHARED, FIRST + timedelta(days=60))]
    assert globex[0][3]["terms"] == ["laid-off", "salaries"]


@pytest.mark.parametrize(
    ("tenant", "email"), [("acme", "sam.slow@corp.example"), ("globex", "kim.drip@corp.example")]
)
def test_a_slow_incident_raises_one_accumulated_risk_alert_naming_its_days(engine, tenant, email):
    mine = [a for a in alerts_of(engine, tenant) if a[1] == email]
    assert [a[0] for a in mine] == ["accumulated_risk"]  # once per episode, no daily rule
    _, _, day, figures = mine[0]
    assert FIRST + timedelta(days=30) < day <= FIRST + timedelta(days=58)
    days = [entry["day"] for entry in figures["contributing_days"]]
    assert len(days) >= 3 and days[-1] == day.isoformat()
    assert all(date.fromisoformat(d) >= FIRST + timedelta(days=30) for d in days)
    assert figures["observed"] >= figures["threshold"] == 3.0
