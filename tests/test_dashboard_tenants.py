"""The dashboard with three tenants whose data differ (`tests/support/tenant_dashboard.py`),
through AppTest as people on different lists: the picker, `tenant=` in the URL, a refused
tenant answered like a missing one, admin actions, tokens and the audit trail kept inside
the tenant, and the rule that several tenants need sign-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from streamlit.testing.v1 import AppTest

from config.tenant_access import TenantAccess
from dashboard.tenancy import choose, picker_entries
from db.api_tokens import create_token
from db.audit import AuditEntry, record
from db.scope import TenantScope
from db.state import read_cursor
from tests.support.apptest import metrics, plain, texts
from tests.support.roles import app_as, open_as
from tests.support.tenant_dashboard import (
    CURSORS,
    PLATFORM_ADMIN,
    SHARED_USER,
    tenants_dashboard,
)

TOTALS = {"acme": "3", "globex": "5", "initech": "1"}
VIEWER_PAGES = ("pages/summary.py", "pages/user.py", "pages/calendar.py", "pages/day.py")
VIEWER_PAGES += ("pages/alerts.py", "pages/status.py")


@pytest.fixture
def tenants_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The app's settings name a tenants file of three tenants and a database holding each
    tenant's searches; ADMIN_EMAILS names the platform administrator."""
    yield from tenants_dashboard(tmp_path, monkeypatch)


def audit_rows(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        statement = "SELECT tenant, actor, role, action, target, detail FROM audit_events"
        return [tuple(row) for row in conn.execute(text(statement + " ORDER BY id"))]


def picker_labels(at: AppTest) -> list[str] | None:
    pickers = [box for box in at.sidebar.selectbox if box.key == "tenant_picker"]
    return list(pickers[0].options) if pickers else None


def searches(at: AppTest) -> str:
    return metrics(at)["Searches"]


SAM = TenantAccess(viewable=("acme", "globex"), administered=())
BOSS = TenantAccess(("acme", "globex", "initech"), ("acme", "globex", "initech"), True)


def test_without_tenant_named_a_session_keeps_its_last_tenant_while_still_allowed() -> None:
    assert choose(SAM, None, "globex").scope == TenantScope.one("globex")
    assert choose(SAM, None, "initech").scope == TenantScope.one("acme")  # no longer theirs
    assert choose(SAM, None, "*").scope == TenantScope.one("acme")
    assert choose(BOSS, None, "*").scope == TenantScope.every_tenant()
    assert choose(SAM, None, None).requested == "acme"  # written into the URL


def test_a_named_tenant_is_taken_or_refused_never_replaced() -> None:
    assert choose(SAM, "globex", "acme").scope == TenantScope.one("globex")
    for named in ("initech", "nosuch", "*", "ACME", "../acme", ""):
        assert choose(SAM, named, "acme").scope is None, named


def test_the_picker_is_for_several_tenants_and_all_tenants_for_platform_admins() -> None:
    assert picker_entries(SAM) == ("acme", "globex")
    assert picker_entries(BOSS) == ("*", "acme", "globex", "initech")
    assert picker_entries(TenantAccess(("initech",), ())) == ()
    assert picker_entries(TenantAccess(("default",), ("default",), True)) == ()


def test_the_picker_offers_only_the_tenants_one_may_see(tenants_db: Engine) -> None:
    assert picker_labels(open_as({"email": "sam@both.example"})) == ["ACME Corp", "Globex"]
    boss = open_as({"email": PLATFORM_ADMIN})
    assert picker_labels(boss) == ["All tenants", "ACME Corp", "Globex", "Initech"]
    assert picker_labels(open_as({"email": "ivy@initech.example"})) is None


def test_a_viewer_of_one_tenant_sees_only_it_on_every_page(tenants_db: Engine) -> None:
    for page in VIEWER_PAGES:
        at = open_as({"email": "ivy@initech.example"}, page, email="ian@initech.example")
        shown = " ".join(texts(at))
        assert "acme" not in shown.lower() and "globex" not in shown.lower(), (page, shown)
    at = open_as({"email": "ivy@initech.example"})
    assert searches(at) == "1"
    assert "tenant" not in at.query_params  # one tenant to see: the URLs stay as before


def test_each_tenant_shows_its_own_figures_for_the_same_address(tenants_db: Engine) -> None:
    for tenant in ("acme", "globex"):
        at = open_as({"email": "sam@both.example"}, tenant=tenant)
        assert searches(at) == TOTALS[tenant]
        table = at.dataframe[0].value
        shared = table.loc[table["email"] == SHARED_USER, "searches"]
        assert list(shared) == [2 if tenant == "acme" else 1]


def test_picking_a_tenant_puts_it_in_the_url_and_shows_its_data(tenants_db: Engine) -> None:
    at = open_as({"email": "sam@both.example"})
    assert at.query_params["tenant"] == "acme" and searches(at) == "3"
    at.sidebar.selectbox(key="tenant_picker").select("globex").run()
    assert at.query_params["tenant"] == "globex" and searches(at) == "5"
    at.switch_page("pages/day.py").run()  # the menu's links drop the query string
    assert at.query_params["tenant"] == "globex"


@pytest.mark.parametrize("who", ["ivy@initech.example", "sam@both.example", "ada@acme.example"])
def test_a_hidden_tenant_is_answered_exactly_like_one_that_does_not_exist(
    tenants_db: Engine, who: str
) -> None:
    """`globex` exists and `nosuch` does not: the page, the words and the audit row are the
    same but for the name typed, and no figure is shown."""
    hidden = "initech" if who != "ivy@initech.example" else "globex"
    answers, rows = [], []
    for requested in (hidden, "nosuch", "*"):
        before = len(audit_rows(tenants_db))
        at = open_as({"email": who}, tenant=requested)
        assert not at.metric and not at.dataframe and not at.download_button
        answers.append([line.replace(requested, "NAME") for line in texts(at)])
        rows.append(audit_rows(tenants_db)[before:])
    assert answers[0] == answers[1] == answers[2]
    assert "No tenant of that name is open to you" in " ".join(answers[0])
    assert rows[0] == rows[1] == rows[2]
    assert [row[0] for row in rows[0]] == [None] and rows[0][0][3:5] == ("denied", "tenant")


def test_only_a_platform_admin_reads_all_tenants_at_once(tenants_db: Engine) -> None:
    at = open_as({"email": PLATFORM_ADMIN}, tenant="*")
    assert searches(at) == "9"
    at.switch_page("pages/status.py").run()
    tenants = at.dataframe[0].value
    assert list(tenants["tenant"]) == ["ACME Corp", "Globex", "Initech"]
    assert list(tenants["searches"]) == [3, 5, 1]
    assert "Reset cursor" not in [b.label for b in at.button]


def test_the_databases_size_and_place_are_for_platform_admins_only(tenants_db: Engine) -> None:
    at = open_as({"email": "ada@acme.example"}, "pages/status.py")
    assert metrics(at)["Database size"] == "—"
    assert not [t for t in at.text if t.value.startswith("Database:")]
    boss = open_as({"email": PLATFORM_ADMIN}, "pages/status.py", tenant="acme")
    assert metrics(boss)["Database size"] != "—"
    assert [t for t in boss.text if t.value.startswith("Database:")]


def test_a_tenant_admin_resets_only_their_tenants_cursor(tenants_db: Engine) -> None:
    at = open_as({"email": "ada@acme.example"}, "pages/status.py")
    at.checkbox(key="confirm_reset_cursor").check().run()
    next(b for b in at.button if b.label == "Reset cursor").click().run()
    assert read_cursor(tenants_db, "acme") is None
    assert read_cursor(tenants_db, "globex") == CURSORS["globex"]
    assert audit_rows(tenants_db)[-1][:4] == ("acme", "ada@acme.example", "admin", "reset_cursor")


def test_a_viewer_of_a_tenant_another_administers_cannot_reset_it(tenants_db: Engine) -> None:
    at = open_as({"email": "ada@acme.example"}, "pages/status.py", tenant="globex")
    assert not at.button or "Reset cursor" not in [b.label for b in at.button]
    at = open_as({"email": "sam@both.example"}, "pages/status.py", tenant="globex")
    assert "Reset cursor" not in [b.label for b in at.button]
    at = open_as({"email": "gil@globex.example"}, "pages/status.py")
    at.checkbox(key="confirm_reset_cursor").check().run()
    at.user = {"is_logged_in": True, "email": "vic@globex.example"}  # replayed by a viewer
    next(b for b in at.button if b.label == "Reset cursor").click().run()
    assert read_cursor(tenants_db, "globex") == CURSORS["globex"]
    assert [plain(e.value) for e in at.error] == ["Only administrators can reset the cursor."]


def test_views_and_exports_record_their_tenant(tenants_db: Engine) -> None:
    open_as({"email": "sam@both.example"}, tenant="globex")
    open_as({"email": "sam@both.example"}, "pages/user.py", tenant="acme", email=SHARED_USER)
    assert [row[:4] for row in audit_rows(tenants_db)] == [
        ("globex", "sam@both.example", "viewer", "view_summary"),
        ("acme", "sam@both.example", "viewer", "view_summary"),
        ("acme", "sam@both.example", "viewer", "view_user"),
    ]


def test_a_tenant_admin_sees_their_tenants_trail_only(tenants_db: Engine) -> None:
    for tenant in ("acme", "globex", None):
        record(tenants_db, AuditEntry(f"x@{tenant}", "viewer", "view_day", tenant=tenant))
    at = open_as({"email": "ada@acme.example"}, "pages/audit.py")
    trail = at.dataframe[0].value
    assert set(trail["actor"]) == {"x@acme", "ada@acme.example"}
    assert "tenant" not in trail
    boss = open_as({"email": PLATFORM_ADMIN}, "pages/audit.py", tenant="*")
    trail = boss.dataframe[0].value
    assert {"x@acme", "x@globex", "x@None"} <= set(trail["actor"])
    by_actor = dict(zip(trail["actor"], trail["tenant"], strict=True))
    assert (by_actor["x@globex"], by_actor["x@None"]) == ("globex", "(installation)")


def test_a_tenant_viewer_gets_the_refusal_at_the_audit_page(tenants_db: Engine) -> None:
    at = app_as({"email": "sam@both.example"})
    at.query_params.update({"tenant": "acme"})
    at.run()
    at._page_hash = next(  # AppTest has no public switch to a callable page
        key for key, info in at._registered_pages.items() if info.get("url_pathname") == "audit"
    )
    at.run()
    assert [plain(w.value) for w in at.warning] == ["This page is for administrators only."]
    assert not at.dataframe
    assert audit_rows(tenants_db)[-1][:5] == (
        "acme",
        "sam@both.example",
        "viewer",
        "denied",
        "audit",
    )


def test_a_tenant_admin_makes_and_revokes_their_tenants_tokens_only(tenants_db: Engine) -> None:
    create_token(tenants_db, "globex-feed", "viewer", tenant="globex")
    at = open_as({"email": "ada@acme.example"}, "pages/tokens.py")
    assert at.info and not at.dataframe  # globex's token is not listed
    at.text_input(key="token_name").input("acme-feed").run()
    next(b for b in at.button if b.label == "Create token").click().run()
    with tenants_db.connect() as conn:
        made = conn.execute(text("SELECT tenant FROM api_tokens WHERE name = 'acme-feed'"))
        assert made.scalar_one() == "acme"
    assert list(at.dataframe[0].value["name"]) == ["acme-feed"]
    assert at.selectbox(key="token_revoke_name").options == ["acme-feed"]
    with tenants_db.connect() as conn:
        revoked = conn.execute(text("SELECT revoked_at FROM api_tokens WHERE name = 'globex-feed'"))
        assert revoked.scalar_one() is None


def test_several_tenants_without_any_access_list_stay_open_as_one_tenant_does(
    tenants_db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing about sign-in configured: open, as with one tenant (loopback, the notice,
    everyone an administrator), with every tenant and "All tenants" in the picker."""
    monkeypatch.delenv("ADMIN_EMAILS")
    plain_file = tmp_path / "plain.toml"
    source = (tmp_path / "tenants.toml").read_text()
    kept = [line for line in source.splitlines() if not line.startswith(("admins", "viewers"))]
    plain_file.write_text("\n".join(kept))
    monkeypatch.setenv("TENANTS_FILE", str(plain_file))
    at = app_as(None, sign_in=False)
    at.query_params.update({"tenant": "acme"})
    at.run()
    assert "Sign-in is misconfigured" not in [t.value for t in at.title]
    assert picker_labels(at) == ["All tenants", "ACME Corp", "Globex", "Initech"]
    assert any("anyone who can reach this dashboard" in plain(c.value) for c in at.caption)


def test_a_tenants_access_list_without_sign_in_closes_the_dashboard(
    tenants_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tenant's `admins`/`viewers` is sign-in configuration: without `[auth]` it closes
    the dashboard, as ADMIN_EMAILS does."""
    monkeypatch.delenv("ADMIN_EMAILS")
    at = app_as(None, sign_in=False)
    at.query_params.update({"tenant": "acme"})
    at.run()
    assert [t.value for t in at.title] == ["Sign-in is misconfigured"]
    assert not at.metric and not at.dataframe
