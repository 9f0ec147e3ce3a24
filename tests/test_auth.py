"""Sign-in, roles and the audit trail: the rules as plain functions, the trail on a real
SQLite file, and the gate driven through `AppTest` (an `[auth]` secrets section and a
seeded `st.user`, as Streamlit's sign-in leaves them)."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text
from streamlit import config as st_config
from streamlit.runtime.secrets import Secrets
from streamlit.testing.v1 import AppTest

from config.settings import ConfigError, load_settings
from dashboard.audit import entry, for_display, readable_filters, trail_filter, view_key
from dashboard.auth import ANONYMOUS, email_of, matches, role_for, visitor_for
from dashboard.context import today_in
from dashboard.export import csv_from_chunks
from dashboard.notices import SignInSetup, sign_in_setup
from db import audit as trail
from db.engine import open_database
from ingest.store import Store
from tests.support.apptest import deferred_files, metrics, plain, texts
from tests.support.roles import AUTH_SECRETS, ROLES, app_as, events, open_as
from tests.support.runtime import runtime_python
from tests.support.tenancy import EVERY, TENANT

PROJECT = Path(__file__).resolve().parent.parent


def roles(**overrides: str):
    return load_settings({**ROLES, **overrides})


# --- roles --------------------------------------------------------------------------------


def test_role_comes_from_addresses_and_domains_in_any_case() -> None:
    settings = roles()
    assert role_for("Boss@Example.COM", settings) == "admin"
    assert role_for("ann@example.com", settings) == "viewer"
    assert role_for("GUEST@partner.example", settings) == "viewer"
    assert role_for("other@partner.example", settings) is None
    assert role_for(None, settings) is None


def test_an_address_on_both_lists_is_an_admin() -> None:
    settings = roles(ADMIN_EMAILS="@example.com", VIEWER_EMAILS="ann@example.com")
    assert role_for("ann@example.com", settings) == "admin"


@pytest.mark.parametrize(
    "email",
    ["ann@sub.example.com", "ann@badexample.com", "ann@example.com.evil.test", "example.com"],
)
def test_a_domain_entry_covers_exactly_that_domain(email: str) -> None:
    assert not matches(email, ("@example.com",))


def test_nobody_has_a_role_when_both_lists_are_empty() -> None:
    settings = load_settings({})
    assert (settings.admin_emails, settings.viewer_emails) == ((), ())
    assert role_for("boss@example.com", settings) is None


def test_access_lists_are_read_trimmed_lower_case_and_once() -> None:
    settings = load_settings({"ADMIN_EMAILS": " Boss@Example.com ,@Corp.Example,boss@example.com,"})
    assert settings.admin_emails == ("boss@example.com", "@corp.example")


@pytest.mark.parametrize("name", ["ADMIN_EMAILS", "VIEWER_EMAILS"])
@pytest.mark.parametrize("bad", ["boss", "@", "boss@localhost", "a b@example.com", "*", "x@@y.com"])
def test_an_invalid_access_entry_is_one_line_naming_the_variable(name: str, bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: f"ok@example.com, {bad}"})
    message = str(caught.value)
    assert message.startswith(
        f"{name} must be e-mail addresses or @domain entries separated by commas, in ASCII"
    )
    assert message.endswith(f"got {bad!r}") and "\n" not in message


def test_only_a_verified_email_claim_identifies_someone() -> None:
    assert email_of({"email": " Ann@Example.com "}) == "ann@example.com"
    assert email_of({"email": "ann@example.com", "email_verified": True}) == "ann@example.com"
    assert email_of({"email": "ann@example.com", "email_verified": False}) is None


@pytest.mark.parametrize("claim", ["false", "true", "False", "", 0, 1, None, [], {}])
def test_an_email_verified_claim_other_than_true_means_unverified(claim: object) -> None:
    """Only a JSON `true` verifies: the string "false" is truthy, so a truthiness test let
    it through. An absent claim stays accepted (Entra ID sends none)."""
    assert email_of({"email": "ann@example.com", "email_verified": claim}) is None
    assert email_of({"email": "ann@example.com"}) == "ann@example.com"
    assert email_of({"name": "ann@example.com", "preferred_username": "ann@example.com"}) is None
    assert email_of({"email": "not an address"}) is None


def test_without_sign_in_everyone_is_an_anonymous_admin() -> None:
    visitor = visitor_for(False, {"email": "eve@elsewhere.test", "is_logged_in": True}, roles())
    assert visitor.is_admin and visitor.actor == ANONYMOUS


def test_with_sign_in_a_visitor_who_has_not_signed_in_has_no_role() -> None:
    visitor = visitor_for(True, {"email": "boss@example.com"}, roles())
    assert (visitor.signed_in, visitor.role) == (False, None)
    visitor = visitor_for(True, {"is_logged_in": False, "email": "boss@example.com"}, roles())
    assert visitor.role is None


def test_a_signed_in_visitor_gets_the_role_of_their_address() -> None:
    claims = {"is_logged_in": True, "email": "Ann@Example.com"}
    visitor = visitor_for(True, claims, roles())
    assert (visitor.role, visitor.actor) == ("viewer", "ann@example.com")
    stranger = visitor_for(True, {"is_logged_in": True, "email": "eve@evil.test"}, roles())
    assert (stranger.signed_in, stranger.role) == (True, None)


def test_the_runtime_install_has_everything_streamlits_sign_in_imports() -> None:
    """`/auth/login` imports Authlib's Starlette client, which imports httpx: installed
    from requirements.txt alone (Streamlit's [auth] extra), both must be there."""
    check = (
        "import authlib.integrations.starlette_client, httpx\n"
        "from streamlit.auth_util import is_authlib_installed\n"
        "assert is_authlib_installed()\n"
    )
    done = subprocess.run(
        [runtime_python(required=True), "-c", check], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]


# --- sign-in configuration: open, sign-in, or closed ---------------------------------------

GOOD_AUTH = (
    "[auth]\n"
    'redirect_uri = "http://localhost:8501/oauth2callback"\n'
    'cookie_secret = "a-cookie-secret"\n'
    'client_id = "dashboard"\n'
    'client_secret = "a-client-secret"\n'
    'server_metadata_url = "http://localhost:9/.well-known/openid-configuration"\n'
)


def setup_from(files: list[Path], *access_lists: str) -> SignInSetup:
    """What the dashboard decides for these secrets files, read by Streamlit's own reader."""
    previous = st_config.get_option("secrets.files")
    st_config.set_option("secrets.files", [str(path) for path in files])
    try:
        return sign_in_setup(Secrets(), [str(path) for path in files], list(access_lists))
    finally:
        st_config.set_option("secrets.files", previous)


def secrets_file(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "secrets.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_only_nothing_configured_at_all_leaves_the_dashboard_open(tmp_path: Path) -> None:
    assert setup_from([tmp_path / "absent.toml"]).mode == "open"
    other = secrets_file(tmp_path, '[connections.x]\nurl = "sqlite://"\n')
    assert setup_from([other]).mode == "open"


@pytest.mark.parametrize(
    "text",
    [
        GOOD_AUTH.replace('client_secret = "a-client-secret"', 'client_secret = "a-client-secret'),
        "[auth\n",
        b'[auth]\nclient_id = "\xff\xfe"\n',
    ],
    ids=["missing closing quote", "unclosed table", "not utf-8"],
)
def test_a_secrets_file_that_cannot_be_parsed_closes_the_dashboard(
    tmp_path: Path, text: str | bytes
) -> None:
    path = secrets_file(tmp_path, text)
    for lists in ((), ("ADMIN_EMAILS",)):
        setup = setup_from([path], *lists)
        assert setup.mode == "broken", lists
        assert setup.problem and str(path) in setup.problem and "Fix it" in setup.problem
        assert "a-client-secret" not in setup.problem  # a value is never repeated


def test_a_secrets_path_that_cannot_be_read_closes_the_dashboard(tmp_path: Path) -> None:
    folder = tmp_path / "secrets.toml"
    folder.mkdir()  # a folder where the file should be: open() fails
    setup = setup_from([folder])
    assert setup.mode == "broken" and str(folder) in (setup.problem or "")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (GOOD_AUTH.replace('cookie_secret = "a-cookie-secret"\n', ""), "lacks cookie_secret"),
        (
            GOOD_AUTH.replace('redirect_uri = "http://localhost:8501/oauth2callback"\n', ""),
            "lacks redirect_uri",
        ),
        (GOOD_AUTH.replace('client_id = "dashboard"\n', ""), "[auth] lacks client_id"),
        (
            GOOD_AUTH.replace('client_secret = "a-client-secret"', 'client_secret = ""'),
            "lacks client_secret",
        ),
        (GOOD_AUTH.replace("/oauth2callback", "/callback"), "must end with /oauth2callback"),
        (
            '[auth]\nredirect_uri = "http://h/oauth2callback"\ncookie_secret = "c"\n',
            "names no provider",
        ),
        ('auth = "on"\n', "must be a table"),
        (
            '[auth]\nredirect_uri = "http://h/oauth2callback"\ncookie_secret = "c"\n'
            '[auth.entra]\nclient_id = "x"\nclient_secret = "y"\n',
            "[auth.entra] lacks server_metadata_url",
        ),
        (
            GOOD_AUTH + '[auth.my_idp]\nclient_id = "x"\nclient_secret = "y"\n'
            'server_metadata_url = "http://h/.well-known/openid-configuration"\n',
            "[auth.my_idp]: a provider name must not contain an underscore",
        ),
    ],
    ids=[
        "no cookie_secret",
        "no redirect_uri",
        "no client_id",
        "empty client_secret",
        "wrong callback",
        "no provider",
        "not a table",
        "named provider incomplete",
        "underscore in name",
    ],
)
def test_an_incomplete_auth_section_closes_the_dashboard(
    tmp_path: Path, text: str, named: str
) -> None:
    path = secrets_file(tmp_path, text)
    setup = setup_from([path], "ADMIN_EMAILS")
    assert setup.mode == "broken"
    assert named in (setup.problem or "") and str(path) in (setup.problem or "")
    assert "a-client-secret" not in (setup.problem or "")


def test_access_lists_without_sign_in_close_the_dashboard(tmp_path: Path) -> None:
    absent = tmp_path / "secrets.toml"
    setup = setup_from([absent], "ADMIN_EMAILS")
    assert setup.mode == "broken"
    assert (setup.problem or "").startswith("ADMIN_EMAILS is set, but sign-in is not configured")
    assert str(absent) in (setup.problem or "")
    other = secrets_file(tmp_path, '[connections.x]\nurl = "sqlite://"\n')
    setup = setup_from([other], "ADMIN_EMAILS", "VIEWER_EMAILS")
    assert "ADMIN_EMAILS and VIEWER_EMAILS are set" in (setup.problem or "")
    assert f"no [auth] section in {other}" in (setup.problem or "")


def test_a_complete_auth_section_signs_in_with_its_providers(tmp_path: Path) -> None:
    assert setup_from([secrets_file(tmp_path, GOOD_AUTH)]) == SignInSetup(
        "sign_in", providers=(None,)
    )
    named = (
        '[auth]\nredirect_uri = "http://h/oauth2callback"\ncookie_secret = "c"\n'
        '[auth.entra]\nclient_id = "x"\nclient_secret = "y"\n'
        'server_metadata_url = "http://h/.well-known/openid-configuration"\n'
    )
    assert setup_from([secrets_file(tmp_path, named)]).providers == ("entra",)
    both = GOOD_AUTH + named.split("\n", 3)[3]
    assert setup_from([secrets_file(tmp_path, both)]).providers == (None, "entra")


# --- the trail in the database --------------------------------------------------------------


@pytest.fixture
def trail_db(db_url: str):
    """A migrated database: a SQLite file, and PostgreSQL when a server is at hand."""
    engine = open_database(db_url)
    yield engine
    engine.dispose()


def at(hour: int, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def fill(engine: Engine) -> None:
    trail.record(
        engine, trail.AuditEntry("ann@example.com", "viewer", "view_summary", tenant=TENANT), at(9)
    )
    trail.record(
        engine,
        trail.AuditEntry(
            "ann@example.com",
            "viewer",
            "view_user",
            target="bob@example.com",
            filters={"to": "2026-03-02", "from": "2026-03-01", "q": "=SUM(A1)"},
            tenant=TENANT,
        ),
        at(10),
    )
    trail.record(
        engine,
        trail.AuditEntry(
            "boss@example.com",
            "admin",
            "export_csv",
            "@HYPERLINK",
            rows=12,
            detail="a.csv",
            tenant=TENANT,
        ),
        at(11),
    )
    trail.record(
        engine,
        trail.AuditEntry("boss@example.com", "admin", "reset_cursor", tenant=TENANT),
        at(8, 3),
    )


def test_the_trail_reads_back_newest_first_with_filters_as_json(trail_db: Engine) -> None:
    fill(trail_db)
    events = trail.read_trail(trail_db, EVERY, trail.TrailFilter(), limit=10)
    assert list(events["action"]) == ["reset_cursor", "export_csv", "view_user", "view_summary"]
    assert events["at"].iloc[0] == at(8, 3)
    view = events.iloc[2]
    assert view["filters"] == '{"from":"2026-03-01","q":"=SUM(A1)","to":"2026-03-02"}'
    assert events.iloc[1]["rows"] == 12 and pd.isna(events.iloc[2]["rows"])
    assert trail.count_trail(trail_db, EVERY, trail.TrailFilter()) == 4
    assert trail.trail_actors(trail_db, EVERY) == ("ann@example.com", "boss@example.com")


def test_the_trail_filters_by_actor_action_and_time(trail_db: Engine) -> None:
    fill(trail_db)
    by_actor = trail.TrailFilter(actors=("ann@example.com",))
    assert list(trail.read_trail(trail_db, EVERY, by_actor, limit=10)["action"]) == [
        "view_user",
        "view_summary",
    ]
    by_action = trail.TrailFilter(actions=("export_csv", "reset_cursor"))
    assert trail.count_trail(trail_db, EVERY, by_action) == 2
    on_the_2nd = trail.TrailFilter(start=at(0), end=at(0, 3))
    assert trail.count_trail(trail_db, EVERY, on_the_2nd) == 3
    assert list(trail.read_trail(trail_db, EVERY, on_the_2nd, limit=1, offset=1)["action"]) == [
        "view_user"
    ]


def test_days_of_the_trail_filter_are_whole_days_in_the_display_time_zone() -> None:
    wanted = trail_filter([], ["denied"], date(2026, 3, 29), date(2026, 3, 29), "Europe/Berlin")
    assert wanted.start == datetime(2026, 3, 28, 23, tzinfo=UTC)  # CET
    assert wanted.end == datetime(2026, 3, 29, 22, tzinfo=UTC)  # CEST from 01:00 UTC
    assert wanted.actions == ("denied",)


def test_the_audit_page_shows_local_times_readable_filters_and_blanks(trail_db: Engine) -> None:
    fill(trail_db)
    shown = for_display(
        trail.read_trail(trail_db, EVERY, trail.TrailFilter(), limit=10), "Asia/Kolkata"
    )
    assert str(shown["at"].iloc[0]) == "2026-03-03 13:30:00+05:30"
    view = shown.iloc[2]
    assert view["filters"] == 'from="2026-03-01" · q="=SUM(A1)" · to="2026-03-02"'
    assert (view["rows"], view["detail"], view["role"]) == ("", "", "viewer")
    assert shown.iloc[1]["rows"] == "12"
    assert readable_filters('{"user":["a@x.com","b@x.com"]}') == 'user=["a@x.com","b@x.com"]'
    assert readable_filters(None) == ""


def test_an_unknown_action_is_refused(trail_db: Engine) -> None:
    with pytest.raises(ValueError, match="unknown audit action 'delete_everything'"):
        trail.record(
            trail_db, trail.AuditEntry("x@example.com", None, "delete_everything", tenant=TENANT)
        )


def test_the_trail_as_csv_neutralises_formula_cells(trail_db: Engine) -> None:
    fill(trail_db)
    wanted = trail.TrailFilter(start=at(10), end=at(12))
    body = csv_from_chunks(trail.iter_trail(trail_db, EVERY, wanted, chunk=1), trail.TRAIL_COLUMNS)
    assert body.decode("utf-8") == (
        '"at","actor","role","action","target","filters","rows","detail","count"\r\n'
        '"2026-03-02T11:00:00+00:00","boss@example.com","admin","export_csv","\'@HYPERLINK",'
        '"","12","a.csv","1"\r\n'
        '"2026-03-02T10:00:00+00:00","ann@example.com","viewer","view_user","bob@example.com",'
        '"{""from"":""2026-03-01"",""q"":""=SUM(A1)"",""to"":""2026-03-02""}","","","1"\r\n'
    )


def test_the_same_view_has_the_same_key_whatever_the_order_of_its_filters() -> None:
    visitor = visitor_for(False, {}, roles())
    one = entry(visitor, "view_day", target="2026-03-02", filters={"from": "a", "to": "b"})
    two = entry(visitor, "view_day", target="2026-03-02", filters={"to": "b", "from": "a"})
    other = entry(visitor, "view_day", target="2026-03-03", filters={"to": "b", "from": "a"})
    assert view_key(one) == view_key(two) != view_key(other)


def test_nothing_in_the_dashboard_updates_or_deletes_the_trail() -> None:
    sources = [PROJECT / "db" / "audit.py", *(PROJECT / "dashboard").glob("*.py")]
    sources += (PROJECT / "pages").glob("*.py")
    changing = re.compile(r"\b(update|delete)\s*\(\s*(AuditEvent|audit_events)|DELETE FROM audit")
    assert [str(path) for path in sources if changing.search(path.read_text())] == []


# --- the gate, through AppTest ---------------------------------------------------------------


def shows_no_data(at: AppTest) -> None:
    assert not at.metric and not at.dataframe and not at.download_button
    assert not at.sidebar.children, "no filters, no account box"


def test_the_sign_in_gate_covers_every_page_route() -> None:
    """A page added to `pages/` needs its route in ROUTES, or a deep link to it before
    sign-in would show Streamlit's "page not found" instead of the sign-in page."""
    from dashboard.routes import ROUTES

    page_files = {f"pages/{path.name}" for path in (PROJECT / "pages").glob("*.py")}
    assert page_files == {route.file for route in ROUTES}


def test_before_sign_in_there_is_only_a_sign_in_button(dashboard_db: Engine) -> None:
    at = open_as(None)
    assert [b.label for b in at.button] == ["Sign in"]
    assert [t.value for t in at.title] == ["Archive search logs"]
    shows_no_data(at)
    assert not any(re.search(r"\d", line) for line in texts(at)), texts(at)
    assert events(dashboard_db) == []


def test_each_named_provider_gets_its_own_sign_in_button(dashboard_db: Engine) -> None:
    at = app_as(None)
    auth = {k: v for k, v in AUTH_SECRETS["auth"].items() if k in ("redirect_uri", "cookie_secret")}
    provider = {k: AUTH_SECRETS["auth"][k] for k in ("client_id", "client_secret")}
    provider["server_metadata_url"] = AUTH_SECRETS["auth"]["server_metadata_url"]
    at.secrets = {"auth": {**auth, "entra": provider}}
    at.run()
    assert [b.label for b in at.button] == ["Sign in with entra"]
    shows_no_data(at)


@pytest.mark.parametrize("user", [None, {"email": "boss@example.com"}])
def test_an_incomplete_auth_section_shows_only_the_problem_even_to_an_admin(
    dashboard_db: Engine, user: dict | None
) -> None:
    """Signed in as an administrator or not, a broken configuration shows no data."""
    at = app_as(user)
    at.secrets = {"auth": {k: v for k, v in AUTH_SECRETS["auth"].items() if k != "cookie_secret"}}
    at.query_params.update({"from": "2026-03-28", "to": "2026-03-31"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Sign-in is misconfigured"]
    (error,) = at.error
    assert "[auth] lacks cookie_secret" in plain(error.value)
    assert not at.button
    shows_no_data(at)
    assert events(dashboard_db) == []


def test_a_stranger_sees_their_address_and_a_sign_out_button_only(dashboard_db: Engine) -> None:
    at = open_as({"email": "eve@evil.test"})
    assert [t.value for t in at.title] == ["No access"]
    assert [b.label for b in at.button] == ["Sign out"]
    (line,) = [plain(m.value) for m in at.markdown]
    assert line.startswith("You are signed in as `eve@evil.test`, which has no access")
    shows_no_data(at)
    at.run()  # a rerun is not a second refusal
    assert events(dashboard_db) == [("eve@evil.test", None, "denied", "dashboard", None)]


def test_a_viewer_sees_the_dashboard_but_not_rejects_or_the_reset(dashboard_db: Engine) -> None:
    at = open_as({"email": "ann@example.com"})
    assert metrics(at)["Searches"] == "6"
    assert any("ann@example.com" in c.value and "viewer" in c.value for c in at.sidebar.caption)
    at.switch_page("pages/status.py").run()
    assert metrics(at)["Searches stored"] == "9"
    assert "Rejected records" not in [s.value for s in at.subheader]
    assert "Reset cursor" not in [b.label for b in at.button]
    assert not at.checkbox
    assert not any("No sign-in is configured" in line for line in texts(at))


def test_an_admin_sees_rejects_and_the_reset(dashboard_db: Engine) -> None:
    at = open_as({"email": "BOSS@example.com"}, "pages/status.py")
    assert "Rejected records" in [s.value for s in at.subheader]
    assert "Reset cursor" in [b.label for b in at.button]


def test_a_reset_replayed_by_someone_no_longer_admin_is_refused_and_recorded(
    dashboard_db: Engine,
) -> None:
    at = open_as({"email": "boss@example.com"}, "pages/status.py")
    at.checkbox(key="confirm_reset_cursor").check().run()
    at.user = {"is_logged_in": True, "email": "ann@example.com"}  # same widgets, a viewer
    next(b for b in at.button if b.label == "Reset cursor").click().run()
    assert Store(dashboard_db, TENANT).cursor() is not None
    assert [plain(e.value) for e in at.error] == ["Only administrators can reset the cursor."]
    assert events(dashboard_db)[-2:] == [
        ("ann@example.com", "viewer", "denied", "cursor", None),
        ("ann@example.com", "viewer", "view_status", None, None),
    ]


def test_an_admin_reset_is_recorded(dashboard_db: Engine) -> None:
    at = open_as({"email": "boss@example.com"}, "pages/status.py")
    at.checkbox(key="confirm_reset_cursor").check().run()
    next(b for b in at.button if b.label == "Reset cursor").click().run()
    assert Store(dashboard_db, TENANT).cursor() is None
    assert events(dashboard_db)[-1] == ("boss@example.com", "admin", "reset_cursor", None, None)


def test_a_view_is_recorded_once_not_on_every_rerun(dashboard_db: Engine) -> None:
    at = open_as({"email": "ann@example.com"}, "pages/user.py", email="b@example.com")
    at.run()
    at.run()
    views = [e for e in events(dashboard_db) if e[2] == "view_user"]
    assert views == [("ann@example.com", "viewer", "view_user", "b@example.com", None)]
    at.text_input(key="filter_text").input("invoice").run()
    assert len([e for e in events(dashboard_db) if e[2] == "view_user"]) == 2
    with dashboard_db.connect() as conn:
        last = conn.execute(text("SELECT filters FROM audit_events ORDER BY id DESC")).scalar()
    assert last == (
        '{"from":"2026-03-28","q":"invoice","to":"2026-03-31","user":["b@example.com"]}'
    )


def test_an_export_records_who_what_and_how_many_rows(
    dashboard_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = deferred_files(monkeypatch)  # the file is made as a browser asks for it
    at = open_as({"email": "ann@example.com"}, "pages/day.py", date="2026-03-29")
    made[at.download_button[0].proto.deferred_file_id]()
    assert events(dashboard_db)[-1] == ("ann@example.com", "viewer", "export_csv", "2026-03-29", 3)
    at = open_as({"email": "ann@example.com"})
    made[at.download_button[0].proto.deferred_file_id]()
    assert events(dashboard_db)[-1][2:] == ("export_csv", "summary by user", 3)


def test_the_audit_page_lists_the_trail_for_an_admin(
    dashboard_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = deferred_files(monkeypatch)
    open_as({"email": "ann@example.com"}, "pages/day.py", date="2026-03-29")
    today = today_in("Europe/Berlin")  # the page's DISPLAY_TZ: not the machine's date
    at = open_as({"email": "boss@example.com"}, "pages/audit.py")
    table = at.dataframe[0].value
    # The summary opens first, then the audit page: newest first.
    assert list(table["action"]) == ["view_audit", "view_summary", "view_day", "view_summary"]
    assert list(table["actor"]) == ["boss@example.com"] * 2 + ["ann@example.com"] * 2
    assert at.date_input(key="audit_dates").value == (today - timedelta(days=29), today)
    at.multiselect(key="audit_actions").select("view_day").run()
    assert list(at.dataframe[0].value["target"]) == ["2026-03-29"]
    assert [b.label for b in at.download_button] == ["Download 1 event (CSV)"]
    made[at.download_button[0].proto.deferred_file_id]()
    assert events(dashboard_db)[-1] == ("boss@example.com", "admin", "export_csv", "audit trail", 1)
    assert not [b for b in at.button if re.search("delete|edit|clear", b.label, re.I)]


def test_without_sign_in_the_audit_trail_names_the_anonymous_admin(
    dashboard_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ROLES:  # access lists without sign-in close the dashboard
        monkeypatch.delenv(name)
    at = open_as(None, "pages/audit.py", sign_in=False)
    assert any("No sign-in is configured" in c.value for c in at.caption)
    assert list(at.dataframe[0].value["actor"]) == [ANONYMOUS, ANONYMOUS]
    assert list(at.dataframe[0].value["action"]) == ["view_audit", "view_summary"]


def test_a_failed_audit_write_is_one_warning_and_the_page_still_shows(
    dashboard_db: Engine,
) -> None:
    with dashboard_db.begin() as conn:
        conn.execute(text("DROP TABLE audit_events"))
    at = open_as({"email": "ann@example.com"})
    assert metrics(at)["Searches"] == "6"
    assert [w.value for w in at.warning] == [
        "This was not recorded in the audit trail: the database refused the write "
        "(the dashboard's log says why)."
    ]


def test_every_audit_action_is_in_the_sign_in_guides_audit_table() -> None:
    """The audit table of docs/sign-in.md names every action the code records, and no
    other: `AuditAction` is the one list."""
    from db.audit import AuditAction

    guide = (PROJECT / "docs" / "sign-in.md").read_text("utf-8")
    section = guide.split("\n## The audit trail", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert documented == {action.value for action in AuditAction}


def test_a_secrets_file_that_cannot_be_read_is_named_in_one_line(tmp_path: Path) -> None:
    """Checked before Streamlit builds its server (`streamlit_app.py`): not UTF-8, or not
    readable (a folder named secrets.toml here), stops the start; a missing file, or one
    that reads but is not valid TOML (the dashboard shows that one), does not."""
    from dashboard.secrets_check import unreadable_secrets

    good, bad, folder = tmp_path / "good.toml", tmp_path / "bad.toml", tmp_path / "dir.toml"
    good.write_text('[auth]\nclient_id = "x"\n', "utf-8")
    bad.write_bytes(b'client_secret = "\xff"\n')
    folder.mkdir()
    assert unreadable_secrets([good, tmp_path / "missing.toml"]) is None
    (tmp_path / "syntax.toml").write_text('client_secret = "unclosed\n', "utf-8")
    assert unreadable_secrets([tmp_path / "syntax.toml"]) is None
    problem = unreadable_secrets([good, bad])
    assert problem is not None and "\n" not in problem
    assert problem.startswith(f"Cannot read the secrets file {bad}: it is not UTF-8 text")
    assert "\\xff" not in problem and "client_secret" not in problem
    assert unreadable_secrets([folder]) == (
        f"Cannot read the secrets file {folder}: Is a directory. Make it a UTF-8 TOML file "
        "readable by the dashboard's user (see docs/sign-in.md), or "
        "remove it to run without sign-in, then start the dashboard again."
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.toml").write_bytes(b"\xfe")
    assert "sub/x.toml" in (unreadable_secrets([tmp_path / "sub"]) or "")
