"""The Alerts and API tokens pages, the alert marks on the summary, user history and
calendar, and the forwarding block of `/status`, driven through `AppTest` over a real
SQLite file: filters in the URL, exports audited, triage and token actions for
administrators only (role checked again when they run), recorded in the audit trail."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select, text
from streamlit.testing.v1 import AppTest

from dashboard.alerts_view import AlertChoice, parse_choice
from db.alerts import NewAlert, insert_alerts
from db.api_tokens import Caller, authenticate, create_token, list_tokens
from db.engine import open_database
from db.models import Alert, ForwardCursor, ForwardDeadLetter
from db.state.forwarding import forwarding_status, recent_dead_letters
from tests.support.apptest import (  # noqa: F401 (page_*: the page fixtures)
    APP,
    MARCH,
    assert_clean,
    deferred_files,
    metrics,
    page_db_file,
    page_engine,
    page_known,
    plain,
    texts,
)
from tests.support.builders import KNOWN, store_records
from tests.support.detections import new_alert
from tests.support.roles import app_as, events, open_as
from tests.support.tenancy import EVERY, SCOPE, TENANT

HOSTILE = '**bold** [click](http://evil.example) <b>x</b> =HYPERLINK("http://evil")'
ADMIN = {"email": "boss@example.com"}
VIEWER = {"email": "ann@example.com"}


def alert(rule: str, email: str, day: date, severity: str = "high", summary: str = "") -> NewAlert:
    summary = summary or f"{rule} for {email} on {day}"
    return new_alert(
        rule, email, day, severity, summary=summary, figures=json.dumps({"searches": 64})
    )


SEEDED = [
    alert("volume_spike", "a@example.com", date(2026, 3, 29)),
    alert("unusual_time", "a@example.com", date(2026, 3, 30), "medium"),
    alert("sensitive_terms", "b@example.com", date(2026, 3, 29), "low", HOSTILE),
    alert("breadth", "b@example.com", date(2026, 2, 10)),  # outside the days shown
]


def seed(engine: Engine) -> None:
    with engine.begin() as conn:
        assert insert_alerts(conn, SEEDED) == len(SEEDED)


def ids_of(engine: Engine, rule: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(Alert.id).where(Alert.rule == rule)).scalar_one())


def statuses(engine: Engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(select(Alert.rule, Alert.status, Alert.note, Alert.triaged_by))
        return {row[0]: tuple(row[1:]) for row in rows}


def open_alerts(**params: str | list[str]) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    at.switch_page("pages/alerts.py")
    at.query_params.clear()
    at.query_params.update(params)
    return at.run()


def table(at: AppTest, index: int = 0):
    return at.dataframe[index].value


# --- the list, its filters and its export --------------------------------------------------


def test_unknown_rule_severity_or_status_in_a_link_is_dropped_with_one_line() -> None:
    choice, problems = parse_choice({"rule": ["breadth", "nope"], "status": "new"})
    assert choice == AlertChoice(rules=("breadth",), statuses=("new",))
    assert problems == [
        "Ignored rule='nope': expected one of volume_spike, peer_outlier, unusual_time, "
        "dormant_searcher, breadth, sensitive_terms, missing_reason, system_volume, "
        "accumulated_risk."
    ]


def test_the_alerts_page_lists_the_days_alerts_with_reason_and_evidence(known: Engine) -> None:
    seed(known)
    at = open_alerts(**MARCH)
    assert_clean(at)
    assert metrics(at) == {"Alerts": "3", "New": "3", "Acknowledged": "0", "Dismissed": "0"}
    shown = table(at)
    assert list(shown["rule"]) == ["unusual_time", "volume_spike", "sensitive_terms"]
    first = shown.iloc[1]
    assert first["summary"] == "volume_spike for a@example.com on 2026-03-29"
    # the evidence opens the alert's panel with the analyst's filters, not narrowed days
    alert_id = ids_of(known, "volume_spike")
    assert first["evidence_url"] == f"alerts?from=2026-03-28&to=2026-03-31&alert={alert_id}"


def test_alert_filters_come_from_the_url_and_go_back_into_it(known: Engine) -> None:
    seed(known)
    at = open_alerts(**MARCH, severity="high", user="a@example.com")
    assert_clean(at)
    assert list(table(at)["rule"]) == ["volume_spike"]
    assert at.multiselect(key="alerts_severities").value == ["high"]
    at.multiselect(key="alerts_rules").select("unusual_time").run()
    assert at.query_params["rule"] in ("unusual_time", ["unusual_time"])
    assert metrics(at)["Alerts"] == "0"
    at = open_alerts(**MARCH, status="urgent")
    assert_clean(at)
    warnings = [plain(w.value) for w in at.warning]
    assert any(w.startswith("Ignored status='urgent'") for w in warnings), warnings
    assert "status" not in at.query_params
    assert metrics(at)["Alerts"] == "3"


def test_an_alert_summary_is_never_rendered_as_markup(known: Engine) -> None:
    seed(known)
    at = open_alerts(**MARCH)
    assert HOSTILE in list(table(at)["summary"])
    assert not [line for line in texts(at) if "evil" in line or "bold" in line]


def test_the_alerts_csv_is_audited_and_its_formula_cells_neutralised(
    known: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(known)
    made = deferred_files(monkeypatch)
    at = open_alerts(**MARCH)
    (button,) = at.download_button
    assert button.label == "Download 3 alerts (CSV)"
    content = made[button.proto.deferred_file_id]().decode("utf-8")
    lines = content.split("\r\n")
    assert lines[0].startswith('"id","day","rule","severity","email","summary","status",')
    assert len([line for line in lines[1:] if line]) == 3
    assert "'**bold**" not in content and '=HYPERLINK(""http' in content  # inside the cell
    with known.connect() as conn:
        row = conn.execute(
            text("SELECT action, target, rows FROM audit_events WHERE action = 'export_csv'")
        ).one()
    assert tuple(row) == ("export_csv", "alerts", 3)


def test_a_summary_starting_like_a_formula_is_neutralised_in_the_csv(
    known: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with known.begin() as conn:
        insert_alerts(conn, [alert("breadth", "a@example.com", date(2026, 3, 30), summary="=1+1")])
    made = deferred_files(monkeypatch)
    at = open_alerts(**MARCH)
    content = made[at.download_button[0].proto.deferred_file_id]().decode("utf-8")
    assert ',"\'=1+1",' in content


# --- triage --------------------------------------------------------------------------------


def seeded_db(dashboard_db: Engine) -> Engine:
    seed(dashboard_db)
    return dashboard_db


def test_an_admin_acknowledges_with_a_note_and_it_is_recorded(dashboard_db: Engine) -> None:
    seeded_db(dashboard_db)
    at = open_as(ADMIN, "pages/alerts.py")
    spike = ids_of(dashboard_db, "volume_spike")
    at.multiselect(key="triage_ids").select(spike).run()
    at.text_input(key="triage_note").input("asked her manager: month-end audit").run()
    next(b for b in at.button if b.label == "Acknowledge").click().run()
    assert_clean(at)
    assert [plain(s.value) for s in at.success] == ["1 alert acknowledged."]
    assert statuses(dashboard_db)["volume_spike"] == (
        "acknowledged",
        "asked her manager: month-end audit",
        "boss@example.com",
    )
    assert metrics(at)["Acknowledged"] == "1"
    assert ("boss@example.com", "admin", "triage_alert", f"#{spike}", 1) in events(dashboard_db)
    with dashboard_db.connect() as conn:
        detail = conn.execute(
            text("SELECT detail FROM audit_events WHERE action = 'triage_alert'")
        ).scalar()
    assert detail == "acknowledged: asked her manager: month-end audit"


def test_an_admin_dismisses_several_alerts_and_they_are_no_longer_open(
    dashboard_db: Engine,
) -> None:
    seeded_db(dashboard_db)
    at = open_as(ADMIN, "pages/alerts.py")
    for rule in ("volume_spike", "unusual_time"):
        at.multiselect(key="triage_ids").select(ids_of(dashboard_db, rule)).run()
    next(b for b in at.button if b.label == "Dismiss").click().run()
    assert [plain(s.value) for s in at.success] == ["2 alerts dismissed."]
    assert metrics(at)["Dismissed"] == "2"
    summary = open_as(ADMIN)
    assert metrics(summary)["Open alerts"] == "1"  # b's sensitive_terms, in March


def test_a_viewer_sees_alerts_but_no_triage_controls(dashboard_db: Engine) -> None:
    seeded_db(dashboard_db)
    at = open_as(VIEWER, "pages/alerts.py")
    assert metrics(at)["Alerts"] == "3"
    assert not [b for b in at.button if b.label in ("Acknowledge", "Dismiss")]
    assert not [m for m in at.multiselect if m.key == "triage_ids"]
    assert "triage_note" not in [t.key for t in at.text_input]
    assert "Only administrators can acknowledge or dismiss alerts." in [c.value for c in at.caption]
    assert ("ann@example.com", "viewer", "view_alerts", None, None) in events(dashboard_db)


def test_a_triage_replayed_by_someone_no_longer_admin_is_refused_and_recorded(
    dashboard_db: Engine,
) -> None:
    seeded_db(dashboard_db)
    at = open_as(ADMIN, "pages/alerts.py")
    spike = ids_of(dashboard_db, "volume_spike")
    at.multiselect(key="triage_ids").select(spike).run()
    at.user = {"is_logged_in": True, **VIEWER}  # the same widgets, now a viewer's
    next(b for b in at.button if b.label == "Dismiss").click().run()
    assert_clean(at)
    assert statuses(dashboard_db)["volume_spike"] == ("new", None, None)
    assert ("ann@example.com", "viewer", "denied", f"#{spike}", None) in events(dashboard_db)
    assert not [e for e in events(dashboard_db) if e[2] == "triage_alert"]


# --- marks on the other pages ----------------------------------------------------------------


def test_the_summary_counts_open_alerts_in_total_and_per_user(known: Engine) -> None:
    seed(known)
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params.update(MARCH)
    at.run()
    assert_clean(at)
    assert metrics(at)["Open alerts"] == "3"
    shown = table(at)
    assert dict(zip(shown["email"], shown["open_alerts"], strict=True)) == {
        "a@example.com": 2,
        "b@example.com": 1,
        "<>": 0,
    }


def test_the_user_history_lists_the_users_alerts_with_their_days(known: Engine) -> None:
    seed(known)
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    at.switch_page("pages/user.py")
    at.query_params.update({**MARCH, "email": "a@example.com"})
    at.run()
    assert_clean(at)
    assert any("Alerts on these days** · 2 (2 open)" in line for line in texts(at))
    marks = at.dataframe[0].value
    assert [str(day) for day in marks["day"]] == ["2026-03-30", "2026-03-29"]
    assert list(marks["rule"]) == ["unusual_time", "volume_spike"]


def test_the_calendar_marks_days_with_open_alerts(known: Engine) -> None:
    seed(known)
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    at.switch_page("pages/calendar.py")
    at.query_params.update({"month": "2026-03"})
    at.run()
    assert_clean(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    (marks,) = [trace for trace in spec["data"] if trace.get("name") == "open alerts"]
    assert [day for day, _ in marks["customdata"]] == ["2026-03-29", "2026-03-30"]
    assert [count for _, count in marks["customdata"]] == [2, 1]
    assert any("Red triangles mark days with open alerts (3)" in c.value for c in at.caption)


# --- API tokens ------------------------------------------------------------------------------


def test_an_admin_creates_a_token_that_is_shown_once(dashboard_db: Engine) -> None:
    at = open_as(ADMIN, "pages/tokens.py")
    assert_clean(at)
    at.text_input(key="token_name").input("siem-reader").run()
    at.selectbox(key="token_role").select("viewer").run()
    next(b for b in at.button if b.label == "Create token").click().run()
    assert_clean(at)
    (shown,) = at.code
    token = shown.value
    assert token.startswith("msl_")
    assert any("Copy the new token siem-reader now" in plain(w.value) for w in at.warning)
    assert authenticate(dashboard_db, token) == Caller("siem-reader", "viewer", "default")
    listed = table(at)
    assert list(listed["name"]) == ["siem-reader"] and list(listed["state"]) == ["active"]
    assert token not in repr(listed.to_dict())
    at.run()  # any rerun: never shown again
    assert not at.code
    assert not [w for w in at.warning if "Copy the new token" in w.value]
    trail = [e for e in events(dashboard_db) if e[2] == "token_create"]
    assert trail == [("boss@example.com", "admin", "token_create", "siem-reader", None)]
    with dashboard_db.connect() as conn:
        stored = " ".join(
            str(v) for row in conn.execute(text("SELECT * FROM audit_events")) for v in row
        )
    assert token not in stored


def test_a_bad_token_name_is_one_error_and_nothing_is_made(dashboard_db: Engine) -> None:
    at = open_as(ADMIN, "pages/tokens.py")
    at.text_input(key="token_name").input("boss@example.com").run()
    next(b for b in at.button if b.label == "Create token").click().run()
    assert_clean(at)
    (error,) = at.error
    assert "is not allowed" in plain(error.value)
    assert not at.code and list_tokens(dashboard_db, EVERY) == []


def test_revoking_a_token_needs_a_confirmation_and_is_recorded(dashboard_db: Engine) -> None:
    token = create_token(dashboard_db, "old-script", "admin", expires_days=30, tenant=None)
    at = open_as(ADMIN, "pages/tokens.py")
    revoke = next(b for b in at.button if b.label == "Revoke token")
    assert revoke.disabled
    at.checkbox(key="confirm_revoke_token").check().run()
    next(b for b in at.button if b.label == "Revoke token").click().run()
    assert_clean(at)
    assert [plain(s.value) for s in at.success] == [
        "Token old-script revoked: calls with it now get 401."
    ]
    assert authenticate(dashboard_db, token).reason == "the token was revoked"
    assert list(table(at)["state"]) == ["revoked"]
    assert ("boss@example.com", "admin", "token_revoke", "old-script", None) in events(dashboard_db)


def open_hidden_page_as(user: dict, route: str) -> AppTest:
    """A viewer's session at an address whose page is a callable (the refusal), which
    `AppTest.switch_page` cannot name by file: pick it by its registered url_path."""
    at = app_as(user)
    at.run()
    at._page_hash = next(  # AppTest has no public switch to a callable page
        key for key, info in at._registered_pages.items() if info.get("url_pathname") == route
    )
    at.run()
    assert_clean(at)
    return at


def test_a_viewer_is_refused_the_tokens_page_and_it_is_recorded(dashboard_db: Engine) -> None:
    create_token(dashboard_db, "secret-name", "admin", tenant=None)
    at = open_hidden_page_as(VIEWER, "tokens")
    assert [plain(w.value) for w in at.warning] == ["This page is for administrators only."]
    assert not at.main.get("arrow_data_frame") and not at.main.button
    assert ("ann@example.com", "viewer", "denied", "tokens", None) in events(dashboard_db)
    assert "API tokens" not in [p.label for p in at.sidebar.get("page_link")]


def test_a_token_created_by_someone_no_longer_admin_is_refused(dashboard_db: Engine) -> None:
    at = open_as(ADMIN, "pages/tokens.py")
    at.text_input(key="token_name").input("sneaky").run()
    at.user = {"is_logged_in": True, **VIEWER}
    next(b for b in at.button if b.label == "Create token").click().run()
    assert list_tokens(dashboard_db, EVERY) == []
    assert not at.code
    assert ("ann@example.com", "viewer", "denied", "sneaky", None) in events(dashboard_db)


# --- /status: forwarding -----------------------------------------------------------------------


def forwarding_rows(engine: Engine) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(ForwardCursor).values(
                destination="siem",
                tenant=TENANT,
                source="searches",
                position=5,
                since=None,
                delivered=5,
                last_delivery_at=now - timedelta(minutes=3),
                last_error="HTTP 400 from receiver: **bad** [x](http://evil.example)",
                last_error_at=now - timedelta(minutes=2),
                created_at=now - timedelta(days=1),
            )
        )
        conn.execute(
            insert(ForwardDeadLetter).values(
                destination="siem",
                tenant=TENANT,
                source="searches",
                position=3,
                message_id="key-3",
                parked_at=now - timedelta(minutes=2),
                reason="HTTP 400: malformed",
                body='{"secret-body": 1}',
            )
        )


def test_forwarding_status_counts_what_waits_and_what_is_parked(db_url: str) -> None:
    """`db.state.forwarding` (what `/status`, `ingest status` and `/metrics` read): the lag
    after the cursor, the parked count and the deliveries, on SQLite and PostgreSQL."""
    stored = open_database(db_url)
    try:
        store_records(stored, KNOWN)
        forwarding_rows(stored)
        (row,) = forwarding_status(stored, SCOPE, datetime.now(UTC))
        (dead,) = recent_dead_letters(stored, SCOPE)
    finally:
        stored.dispose()
    assert (row["lag_messages"], row["parked"], row["delivered"]) == (4, 1, 5)
    assert dead["reason"] == "HTTP 400: malformed" and "body" not in dead


def test_status_shows_each_destination_and_parked_messages_to_admins(
    dashboard_db: Engine,
) -> None:
    forwarding_rows(dashboard_db)
    at = open_as(ADMIN, "pages/status.py")
    assert "Forwarding" in [s.value for s in at.subheader]
    destinations = next(
        d.value for d in at.dataframe if "destination" in d.value and "lag" in d.value
    )
    row = destinations.iloc[0]
    assert (row["destination"], row["lag_messages"], row["parked"]) == ("siem", 4, 1)
    assert row["last_error"].startswith("HTTP 400 from receiver: **bad**")
    dead = next(d.value for d in at.dataframe if "message_id" in d.value)
    assert list(dead["reason"]) == ["HTTP 400: malformed"]
    assert "secret-body" not in repr(dead.to_dict())
    viewer = open_as(VIEWER, "pages/status.py")
    assert "Forwarding" in [s.value for s in viewer.subheader]
    assert not [d for d in viewer.dataframe if "message_id" in d.value]
    assert not [line for line in texts(at) if "evil" in line]
