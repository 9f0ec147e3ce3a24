"""Sign-in end to end: a real OpenID Connect provider on loopback (`oidc-provider-mock`),
`streamlit run` with an `[auth]` secrets file pointing at it, and headless Chromium signing
in as an administrator, a viewer and a stranger — what each one sees, what each one cannot
reach by URL, and what the audit trail records of it. Then dashboards whose sign-in
configuration is broken: each one shows the problem at every address, and nothing else.

The dashboards run from the runtime virtualenv (`requirements.txt` alone, see
`tests.support.runtime`): a package sign-in needs that only the dev set installs fails here.

The provider's authorization page lets the test choose who signs in: the subject typed
there becomes the `email` claim of the identity token.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.simulator import SimConfig, Simulator
from tests.support.browser import (
    ADMIN_ONLY_TITLES,
    ANY_MENU,
    CHROMIUM,
    MAIN,
    NAV_TITLES,
    free_port,
    grid_header,
    grid_rows,
    metrics,
    nav_titles,
    settle,
    start_dashboard,
    stop_dashboard,
    subheadings,
    wait_healthy,
)
from tests.support.harness import fixed_clock, make_settings, run_ingest_once, settled_now
from tests.support.signin import (
    ADMIN,
    STRANGER,
    VIEWER,
    SignedDashboard,
    buttons,
    heading,
    main_text,
    open_path,
    shot,
    sign_in,
    signed_in_dashboard,
)

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests",
        allow_module_level=True,
    )

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignedDashboard]:
    """Six days of simulated searches (a few malformed, so there are rejects) ingested
    into SQLite; an OIDC provider; the dashboard signing in through it."""
    folder = tmp_path_factory.mktemp("signin")
    db_path = folder / "searchlogs.db"
    config = SimConfig(seed=5, days=6, events_per_day=40, late_fraction=0.0, malformed_rate=0.05)
    with Simulator(config) as sim:
        now = settled_now()
        settings = make_settings(sim.base_url, db_path, INITIAL_BACKFILL_DAYS="6")
        result = run_ingest_once(settings, clock=fixed_clock(now))
        assert result.status == "ok", result
    with signed_in_dashboard(folder, db_path) as dashboard:
        yield dashboard


def test_before_signing_in_every_address_shows_only_the_sign_in_button(
    dashboard: SignedDashboard, new_tab
) -> None:
    page = new_tab()
    for path in ("/", "/status", "/audit", "/user?email=ann@viewers.example"):
        page.goto(dashboard.base_url + path)
        heading(page, "Archive search logs")
        assert buttons(page) == ["Sign in"], path
        assert page.locator(ANY_MENU).count() == 0
        assert not re.search(r"\d", main_text(page)), path
    shot(page, "signin-page.png")


def test_a_stranger_sees_their_address_a_sign_out_button_and_nothing_else(
    dashboard: SignedDashboard, new_tab
) -> None:
    page = new_tab()
    sign_in(page, dashboard, STRANGER)
    for path in ("/", "/status", "/audit", "/calendar"):
        page.goto(dashboard.base_url + path)
        heading(page, "No access")
        text = main_text(page)
        assert STRANGER in text and "has no access to this dashboard" in text
        assert not re.search(r"\d", text), (path, text)
        assert buttons(page) == ["Sign out"]
        assert page.locator(ANY_MENU).count() == 0
        assert page.locator('[data-testid="stMetric"]').count() == 0
        assert page.locator('[data-testid="stDataFrame"]').count() == 0
    shot(page, "signin-stranger.png")
    assert (STRANGER, None, "denied", "dashboard", None) in dashboard.audit()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click()  # the provider's own sign-out
    heading(page, "Archive search logs")
    assert buttons(page) == ["Sign in"]


def test_an_address_that_folds_into_the_admins_gets_no_access(
    dashboard: SignedDashboard, new_tab
) -> None:
    """The provider's `email` claim is the admin's address plus an ideographic space,
    which Python's `str.strip` would remove: compared canonically, it is nobody's."""
    page = new_tab()
    sign_in(page, dashboard, ADMIN + "\u3000")
    heading(page, "No access")
    assert "could not be verified" in main_text(page)
    assert buttons(page) == ["Sign out"] and page.locator(ANY_MENU).count() == 0


def test_a_viewer_sees_the_pages_but_no_rejects_no_reset_and_no_audit_trail(
    dashboard: SignedDashboard, new_tab
) -> None:
    page = new_tab()
    sign_in(page, dashboard, VIEWER)
    heading(page, "Searches by user")
    assert int(metrics(page)["Searches"].replace(",", "")) > 0
    assert nav_titles(page) == [t for t in NAV_TITLES if t not in ADMIN_ONLY_TITLES]
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert VIEWER in sidebar and "viewer" in sidebar
    assert "No sign-in is configured" not in main_text(page)
    shot(page, "signin-viewer.png")

    open_path(page, dashboard, "/status", "Ingest status")
    assert "Recent runs" in subheadings(page)
    assert "Rejected records" not in subheadings(page)
    assert page.get_by_role("button", name="Reset cursor").count() == 0
    assert page.get_by_role("checkbox").count() == 0

    open_path(page, dashboard, "/audit", "Audit trail")
    assert "This page is for administrators only." in main_text(page)
    assert page.locator(f"{MAIN} [data-testid='stDataFrame']").count() == 0
    assert page.get_by_role("button", name=re.compile("Download")).count() == 0
    assert (VIEWER, "viewer", "denied", "audit", None) in dashboard.audit()


def test_an_admin_sees_rejects_the_reset_and_the_views_and_exports_of_others(
    dashboard: SignedDashboard, new_tab, tmp_path: Path
) -> None:
    user, searches = dashboard.busiest_user()
    viewer = new_tab()
    sign_in(viewer, dashboard, VIEWER)
    open_path(viewer, dashboard, f"/user?email={user}", "User history")
    label = f"Download all {searches} searches (CSV)"
    with viewer.expect_download() as started:
        viewer.get_by_role("button", name=label).click()
    started.value.save_as(tmp_path / "export.csv")
    settle(viewer)
    assert len((tmp_path / "export.csv").read_bytes().splitlines()) == searches + 1

    page = new_tab()
    sign_in(page, dashboard, ADMIN)
    heading(page, "Searches by user")
    assert nav_titles(page) == NAV_TITLES
    shot(page, "signin-admin.png")
    open_path(page, dashboard, "/status", "Ingest status")
    assert "Rejected records" in subheadings(page)
    assert page.get_by_role("button", name="Reset cursor").count() == 1

    open_path(page, dashboard, "/audit", "Audit trail")
    table = page.locator(f"{MAIN} [data-testid='stDataFrame']").first
    header = grid_header(table)
    rows = [dict(zip(header, row, strict=True)) for row in grid_rows(table)]
    seen = {(row["Who"], row["Action"], row["User, day or page"], row["Rows"]) for row in rows}
    assert (VIEWER, "view_user", user, "") in seen
    assert (VIEWER, "export_csv", user, str(searches)) in seen
    assert (ADMIN, "view_status", "", "") in seen
    assert rows[0]["Action"] == "view_audit" and rows[0]["Who"] == ADMIN
    shot(page, "audit.png")


def test_no_secret_reaches_the_log_or_the_audit_trail(dashboard: SignedDashboard) -> None:
    stored = repr(dashboard.audit())
    logged = dashboard.log.read_text()
    for secret in (dashboard.cookie_secret, dashboard.client_secret):
        assert secret not in stored and secret not in logged


# --- a broken sign-in configuration closes the dashboard ------------------------------------

BROKEN_SECRET = "do-not-show-this-client-secret"
AUTH_WITHOUT_CLIENT_SECRET = (
    "[auth]\n"
    'redirect_uri = "http://127.0.0.1:8501/oauth2callback"\n'
    'cookie_secret = "a-long-cookie-secret"\n'
    'client_id = "searchlog-dashboard"\n'
    'server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"\n'
)
CLOSED_CASES = {
    # name: (secrets file content, None for no file; access settings; what the page says)
    "unparseable": (
        AUTH_WITHOUT_CLIENT_SECRET + f'client_secret = "{BROKEN_SECRET}\n',  # no closing quote
        {"ADMIN_EMAILS": ADMIN},
        "The secrets file is broken: Error parsing secrets file at {path}",
    ),
    "incomplete": (
        AUTH_WITHOUT_CLIENT_SECRET,
        {"VIEWER_EMAILS": "@viewers.example"},
        "Sign-in is configured incompletely in {path}: [auth] lacks client_secret",
    ),
    "lists without sign-in": (
        None,
        {"ADMIN_EMAILS": ADMIN},
        "ADMIN_EMAILS is set, but sign-in is not configured: there is no secrets file "
        "(looked for {path})",
    ),
}
CLOSED_ROUTES = ("/audit", "/", "/status", f"/user?email={VIEWER}", "/calendar", "/day")


@dataclass(frozen=True)
class ClosedDashboard:
    base_url: str
    secrets: Path
    expected: str
    log: Path


@pytest.fixture(scope="module")
def closed_dashboards(
    dashboard: SignedDashboard, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ClosedDashboard]]:
    """One dashboard per broken configuration, over the signed-in dashboard's database
    (searches, rejects and an audit trail to leak), started together."""
    started: dict[str, tuple[ClosedDashboard, object]] = {}
    try:
        for name, (content, lists, expected) in CLOSED_CASES.items():
            folder = tmp_path_factory.mktemp("closed")
            secrets_path = folder / "secrets.toml"
            if isinstance(content, bytes):
                secrets_path.write_bytes(content)
            elif content is not None:
                secrets_path.write_text(content)
            env = {
                "DB_PATH": str(dashboard.db_path),
                "DATABASE_URL": f"sqlite:///{dashboard.db_path}",
                "DISPLAY_TZ": "UTC",
                "STREAMLIT_SECRETS_FILES": str(secrets_path),
                **lists,
            }
            port = free_port()
            log = folder / "streamlit.log"
            process = start_dashboard(env, port, log, runtime_required=True)
            closed = ClosedDashboard(
                f"http://127.0.0.1:{port}",
                secrets_path,
                expected.format(path=secrets_path),
                log,
            )
            started[name] = (closed, process)
        for closed, process in started.values():
            wait_healthy(closed.base_url, process, closed.log)  # type: ignore[arg-type]
        yield {name: closed for name, (closed, _) in started.items()}
    finally:
        for _, process in started.values():
            stop_dashboard(process)  # type: ignore[arg-type]


@pytest.mark.parametrize("case", list(CLOSED_CASES))
def test_a_broken_sign_in_configuration_shows_only_the_problem_at_every_address(
    closed_dashboards: dict[str, ClosedDashboard], new_tab, case: str
) -> None:
    """A typo in secrets.toml once opened the dashboard to everyone, as administrator.
    Now every route, the first request to the new server included (a deep link to
    /audit, run by Streamlit's legacy `pages/` mode), shows what is wrong and where, and
    no data, no menu, no sign-in button; the log says it once, in one line."""
    closed = closed_dashboards[case]
    page = new_tab()
    for path in CLOSED_ROUTES:
        page.goto(closed.base_url + path)
        heading(page, "Sign-in is misconfigured")
        text = main_text(page)
        assert closed.expected in text, (path, text)
        assert "restart the dashboard" in text
        assert BROKEN_SECRET not in text
        assert page.locator(ANY_MENU).count() == 0, path
        assert page.locator('[data-testid="stSidebar"]').count() == 0, path
        for element in ("stMetric", "stDataFrame", "stPlotlyChart", "stDownloadButton"):
            assert page.locator(f'[data-testid="{element}"]').count() == 0, (path, element)
        assert buttons(page) == [], path
    shot(page, f"closed-{case.replace(' ', '-')}.png")
    logged = closed.log.read_text()
    ours = [line for line in logged.splitlines() if "dashboard closed:" in line]
    assert len(ours) == 1, ours
    assert closed.expected in ours[0]
    assert BROKEN_SECRET not in logged
    assert "Traceback" not in logged, logged[-2000:]


def test_a_secrets_file_streamlit_cannot_read_stops_the_dashboard_before_it_serves(
    tmp_path: Path,
) -> None:
    """A secrets file that exists but cannot be read (not UTF-8 here; unreadable by the
    dashboard's user in a real deployment) would make Streamlit fail on every request
    with a traceback: the dashboard checks it before the server is built, says in one
    line which file and what to do, and exits with status 2, serving nothing."""
    secrets_path = tmp_path / "secrets.toml"
    secrets_path.write_bytes(b'[auth]\nclient_id = "\xff\xfe"\n')
    env = {
        "DB_PATH": str(tmp_path / "searchlogs.db"),
        "STREAMLIT_SECRETS_FILES": str(secrets_path),
        "ADMIN_EMAILS": ADMIN,
    }
    port, log = free_port(), tmp_path / "streamlit.log"
    process = start_dashboard(env, port, log, runtime_required=True)
    try:
        assert process.wait(timeout=60) == 2
    finally:
        stop_dashboard(process)
    logged = log.read_text()
    ours = [line for line in logged.splitlines() if "secrets file" in line]
    assert ours == [
        f"dashboard not started: Cannot read the secrets file {secrets_path}: it is not UTF-8 "
        "text (invalid start byte at byte 20). Make it a UTF-8 TOML file readable by the "
        "dashboard's user (see docs/sign-in.md), or remove it to run "
        "without sign-in, then start the dashboard again."
    ], logged
    assert "Traceback" not in logged, logged
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
