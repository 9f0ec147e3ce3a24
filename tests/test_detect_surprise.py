"""Unusualness, seasonality and peers (issue 17), on small hand-built histories stored
through the ingest's own store in a real SQLite file: a handful of night searches, a
Saturday, a rare searcher, a weekly report, a move to nights, a surge in one peer group."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import open_database
from db.models import Alert
from ingest.detect.config import DetectionConfig, DetectionConfigError, General, load_config
from ingest.detect.runner import detect
from tests.support.detections import load_records

START = date(2026, 3, 2)  # a Monday
DAYS = 70  # ten weeks
LAST = START + timedelta(days=DAYS - 1)  # a Sunday
Record = dict[str, object]


def searches(email: str, day: date, hour: int, count: int) -> list[Record]:
    """`count` searches by `email` in local (UTC) hour `hour` of `day`."""
    start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=hour)
    return [
        {
            "createTime": (start + timedelta(seconds=37 * n % 3600)).strftime(
                "%Y-%m-%dT%H:%M:%S+0000"
            ),
            "emailAddr": email,
            "source": "archive",
            "searchText": "invoice",
            "searchReason": "",
            "description": "Archive Search",
        }
        for n in range(count)
    ]


def office(
    emails: list[str], rate: int = 8, weekends: bool = False, days: int = DAYS
) -> list[Record]:
    """Weekday searches between 09:00 and 17:00, about `rate` a day, for `days` days."""
    rng = random.Random(",".join(emails))
    records: list[Record] = []
    for index in range(days):
        day = START + timedelta(days=index)
        if day.weekday() >= 5 and not weekends:
            continue
        for email in emails:
            for hour in rng.sample(range(9, 17), 3):
                records += searches(email, day, hour, max(1, rate // 3 + rng.randrange(-1, 2)))
    return records


def nights(emails: list[str], rate: int = 9, days: int = DAYS) -> list[Record]:
    """Every day, searches between 00:00 and 05:00."""
    records: list[Record] = []
    for index in range(days):
        for email in emails:
            records += searches(email, START + timedelta(days=index), 1 + index % 4, rate)
    return records


def staff(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{n}@corp.example" for n in range(count)]


def scored(
    folder: Path, tenants: dict[str, list[Record]], config: DetectionConfig | None = None
) -> list[tuple[str, str, str, date, str, dict]]:
    """(tenant, rule, email, day, summary, figures) of every alert after detect."""
    engine = open_database(f"sqlite:///{folder / 'surprise.db'}")
    cursor = datetime.combine(LAST + timedelta(days=2), datetime.min.time(), UTC)
    try:
        for tenant, records in tenants.items():
            load_records(
                engine, sorted(records, key=lambda r: str(r["createTime"])), cursor, tenant
            )
            detect(engine, tenant, "UTC", config or DetectionConfig())
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    Alert.tenant,
                    Alert.rule,
                    Alert.email_addr,
                    Alert.day,
                    Alert.summary,
                    Alert.figures,
                )
            ).all()
    finally:
        engine.dispose()
    return [(t, r, e, d, s, json.loads(f)) for t, r, e, d, s, f in rows]


def test_a_handful_of_night_searches_by_someone_who_never_searches_at_night_fires(tmp_path):
    """The same address in two tenants: a day person in acme, a night worker in globex; the
    same four searches at 02:00 are an incident only where they break the habit."""
    who = "sam.x@corp.example"
    day = LAST - timedelta(days=4)  # a Wednesday
    acme = office([who, *staff("a", 8)]) + searches(who, day, 2, 4)
    globex = nights([who, *staff("g", 8)]) + searches(who, day, 2, 4)
    alerts = scored(tmp_path, {"acme": acme, "globex": globex})
    fired = [a for a in alerts if a[1] == "unusual_time" and a[2] == who]
    assert [(t, d) for t, _, _, d, _, _ in fired] == [("acme", day)]
    summary, figures = fired[0][4], fired[0][5]
    assert "4 of" in summary and "02:00–03:00" in summary and "0 of 0" not in summary
    assert figures["observed"] == 4 and figures["local_hours"] == [2]
    assert figures["surprise"] >= figures["threshold"] == 2.0
    assert not [a for a in alerts if a[0] == "globex" and a[1] == "unusual_time"]


def test_a_weekday_only_person_searching_on_a_saturday_fires(tmp_path):
    who = "wendy@corp.example"
    saturday = LAST - timedelta(days=1)
    records = office([who, *staff("p", 8)]) + searches(who, saturday, 11, 9)
    alerts = scored(tmp_path, {"acme": records})
    fired = [(e, d) for _, r, e, d, _, _ in alerts if r == "unusual_time"]
    assert fired == [(who, saturday)]
    summary = next(a[4] for a in alerts if a[1] == "unusual_time")
    assert "on a Saturday" in summary and "active on 0 of the last 8 Saturdays" in summary


def test_a_rare_searcher_far_above_their_peers_fires_despite_heavy_searchers(tmp_path):
    """Three active days in four weeks: judged against people like them (few searches a
    day), not against a tenant whose 95th percentile the heavy admins set."""
    who = "rare.admin@corp.example"
    heavy = office(staff("heavy", 4), rate=150)
    records = office(staff("p", 8)) + heavy
    for back in (3, 10, 17):
        records += searches(who, LAST - timedelta(days=back + 2), 10, 5)
    day = LAST - timedelta(days=2)  # a Friday
    records += searches(who, day, 10, 60) + searches(who, day, 14, 60)
    alerts = scored(tmp_path, {"acme": records})
    fired = [(r, d, s) for _, r, e, d, s, _ in alerts if e == who]
    assert [(r, d) for r, d, _ in fired] == [("peer_outlier", day)]
    assert "learned: office hours, under 10 searches a day" in fired[0][2]


def test_a_weekly_monday_report_does_not_alert_on_mondays(tmp_path):
    who = "reporter@corp.example"
    records = office([who, *staff("p", 8)])
    for week in range(DAYS // 7):
        records += searches(who, START + timedelta(weeks=week), 8, 150)
    config = DetectionConfig(general=replace(General(), warmup_days=35))
    alerts = scored(tmp_path, {"acme": records}, config)
    assert not [a for a in alerts if a[2] == who]


def test_a_permanent_move_to_nights_stops_alerting_within_three_days(tmp_path):
    """Five searches a night, at hours that drift, seven nights a week: the first night
    alerts, and so may the first Saturday and Sunday ever worked; once in their own history
    the move stops alerting (documented: at most three days)."""
    who = "mover@corp.example"
    moved = 60
    records = office([who], days=moved) + office(staff("p", 8))
    for index in range(moved, DAYS):
        records += searches(who, START + timedelta(days=index), 1 + index % 4, 5)
    alerts = scored(tmp_path, {"acme": records})
    days = sorted(d for _, r, e, d, _, _ in alerts if e == who and r == "unusual_time")
    assert days and days[0] == START + timedelta(days=moved)
    assert len(days) <= 3 and days[-1] <= START + timedelta(days=moved + 6)


def test_a_surge_in_one_peer_group_does_not_hide_an_insider_in_another(tmp_path):
    """An incident-response team (from the peers file) searches five times its usual on one
    day, enough to move the whole tenant's median; an insider in finance at six times
    theirs still fires, and the team raises nothing."""
    responders, finance = staff("ir", 10), staff("fin", 6)
    insider = finance[0]
    day = LAST - timedelta(days=3)  # a Thursday
    records = office(responders + finance, rate=9)
    for email in responders:
        records += searches(email, day, 13, 36)
    records += searches(insider, day, 15, 45)
    peers = tmp_path / "peers.csv"
    peers.write_text(
        "address,group\n"
        + "".join(f"{e},ir\n" for e in responders)
        + "".join(f"{e.upper()},finance\n" for e in finance)
    )
    rules = tmp_path / "rules.toml"
    rules.write_text('[general]\npeers_file = "peers.csv"\n')
    alerts = scored(tmp_path, {"acme": records}, load_config(rules, required=True))
    fired = {(r, e, d) for _, r, e, d, _, _ in alerts if d == day}
    assert fired == {("volume_spike", insider, day)}
    summary = next(a[4] for a in alerts if a[2] == insider)
    assert "their peers searched 0.8× their usual" in summary  # finance's mood, not 5×


def test_a_team_up_together_is_quiet_and_one_person_far_above_it_still_fires(tmp_path):
    """No peers file: 24 responders search four times their usual together, which moves the
    tenant's median; they explain each other, and a person at twelve times theirs fires."""
    responders, others = staff("ir", 24), staff("p", 10)
    insider = others[0]
    day = LAST - timedelta(days=3)  # a Thursday
    records = office(responders + others, rate=9)
    for email in responders:
        records += searches(email, day, 13, 27)
    records += searches(insider, day, 15, 99)
    alerts = scored(tmp_path, {"acme": records})
    assert {(r, e) for _, r, e, d, _, _ in alerts if d == day} == {("volume_spike", insider)}


def test_a_never_seen_address_searching_at_night_says_no_history_yet(tmp_path):
    who = "ghost@corp.example"
    records = office(staff("p", 8)) + searches(who, LAST - timedelta(days=4), 3, 5)
    alerts = scored(tmp_path, {"acme": records})
    fired = [a for a in alerts if a[2] == who]
    assert [a[1] for a in fired] == ["unusual_time"]
    assert "no history yet" in fired[0][4] and " 0 of " not in fired[0][4]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("address,group\nann@x.example\n", "line 2 must be 'address,group', got 'ann@x.example'"),
        ("ann@x.example,hr,extra\n", "line 1 must be 'address,group'"),
        ("not-an-address,hr\n", "line 1 must be 'address,group'"),
        ("address,group\n", "names nobody"),
        (None, "cannot be read"),
    ],
)
def test_a_bad_peers_file_is_one_line_naming_the_file(tmp_path, content, expected):
    peers = tmp_path / "peers.csv"
    if content is not None:
        peers.write_text(content)
    rules = tmp_path / "rules.toml"
    rules.write_text('[general]\npeers_file = "peers.csv"\n')
    with pytest.raises(DetectionConfigError) as caught:
        load_config(rules, required=True)
    message = str(caught.value)
    assert expected in message and f"general.peers_file {peers}" in message
    assert "\n" not in message


def test_a_rules_file_with_the_retired_unusual_time_ratios_still_loads(tmp_path, caplog):
    rules = tmp_path / "rules.toml"
    rules.write_text("[rules.unusual_time]\nmin_ratio = 8\nday_ratio = 3\nmin_surprise = 2.5\n")
    config = load_config(rules, required=True)
    assert config.rules.unusual_time.min_surprise == 2.5
    assert "rules.unusual_time.min_ratio is no longer used" in caplog.text
