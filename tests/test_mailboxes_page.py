"""The Mailboxes page through AppTest, with two tenants whose data differ (one mailbox and
one searcher in both): the most-searched mailboxes of the tenant picked; one mailbox's
searchers, a search without a reason marked in words; the lookup, the privacy report and
the CSV audited (and nothing shown when the lookup cannot be recorded); the user page's
links to the mailboxes a user searched."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, text

from config.settings import SETTINGS
from dashboard.mailboxes_view import NO_REASON, NOT_SHOWN
from db.engine import open_database
from tests.support.apptest import deferred_files, texts
from tests.support.roles import open_as
from tests.support.targets import SEARCHER, SHARED_BOX, store_two_tenants

TENANTS_TOML = """
[[tenant]]
name = "acme"
client_id = "acme-id"
client_secret_env = "ACME_SECRET"
viewers = ["sam@both.example"]

[[tenant]]
name = "globex"
client_id = "globex-id"
client_secret_env = "GLOBEX_SECRET"
viewers = ["sam@both.example"]
"""
SAM = {"email": "sam@both.example"}
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-05"}
PAGE = "pages/mailboxes.py"


@pytest.fixture
def two_tenants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    for spec in SETTINGS:
        monkeypatch.delenv(spec.name, raising=False)
    (tmp_path / "tenants.toml").write_text(TENANTS_TOML)
    monkeypatch.setenv("TENANTS_FILE", str(tmp_path / "tenants.toml"))
    monkeypatch.setenv("DB_PATH", str(tmp_path / "dashboard.db"))
    monkeypatch.setenv("DISPLAY_TZ", "UTC")
    monkeypatch.setenv("ADMIN_EMAILS", "boss@example.com")
    st.cache_data.clear()
    st.cache_resource.clear()
    engine = open_database(f"sqlite:///{tmp_path / 'dashboard.db'}")
    store_two_tenants(engine)
    yield engine
    engine.dispose()


def audit(engine: Engine, action: str) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT tenant, actor, target, rows FROM audit_events WHERE action = :a "
                    "ORDER BY id"
                ),
                {"a": action},
            )
        ]


def test_most_searched_mailboxes_are_the_picked_tenants(two_tenants: Engine) -> None:
    acme = open_as(SAM, PAGE, tenant="acme", **NOVEMBER)
    table = acme.dataframe[0].value
    assert list(zip(table["mailbox"], table["searches"], strict=True)) == [
        (SHARED_BOX, 2),
        ("pat@example.com", 1),
    ]
    assert table["open"].iloc[0].startswith("mailboxes?") and "addr=" in table["open"].iloc[0]
    globex = open_as(SAM, PAGE, tenant="globex", **NOVEMBER).dataframe[0].value
    assert sorted(globex["mailbox"]) == [SHARED_BOX, "kim@globex.example"]
    assert list(globex.loc[globex["mailbox"] == SHARED_BOX, "searches"]) == [1]
    assert ("acme", "sam@both.example", None, None) in audit(two_tenants, "view_mailboxes")


def test_one_mailbox_shows_who_searched_it_and_marks_a_missing_reason_in_words(
    two_tenants: Engine,
) -> None:
    at = open_as(SAM, PAGE, tenant="acme", addr=SHARED_BOX.upper(), **NOVEMBER)
    table = at.dataframe[0].value
    assert list(table["searcher"]) == ["eve@example.com", SEARCHER]
    assert list(table["reason"]) == [f"✕ {NO_REASON}", "Legal hold LH-1"]
    assert list(table["reason_on_record"]) == ["✕ no", "yes"]
    assert table["history"].iloc[0].endswith("tenant=acme&email=eve%40example.com")
    assert len(at.get("plotly_chart")) == 1
    assert audit(two_tenants, "lookup_mailbox") == [("acme", "sam@both.example", SHARED_BOX, None)]
    globex = open_as(SAM, PAGE, tenant="globex", addr=SHARED_BOX, **NOVEMBER)
    assert list(globex.dataframe[0].value["searcher"]) == [SEARCHER]


def test_a_lookup_that_cannot_be_recorded_shows_nothing(two_tenants: Engine) -> None:
    with two_tenants.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER no_lookups BEFORE INSERT ON audit_events "
                "WHEN NEW.action = 'lookup_mailbox' BEGIN SELECT RAISE(ABORT, 'full'); END"
            )
        )
    at = open_as(SAM, PAGE, tenant="acme", addr=SHARED_BOX, **NOVEMBER)
    assert NOT_SHOWN in texts(at)
    assert not at.dataframe and SEARCHER not in " ".join(texts(at))


def test_the_mailbox_csv_is_an_audited_download(
    two_tenants: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = deferred_files(monkeypatch)
    open_as(SAM, PAGE, tenant="acme", addr=SHARED_BOX, **NOVEMBER)
    make = list(files.values())[-1]  # the mailbox page's (the first run drew the summary)
    body = make().decode("utf-8")
    header = "tenant,time,searcher,reason,reason_on_record,search_type,source"
    assert body.splitlines()[0] == ",".join(f'"{name}"' for name in header.split(","))
    assert len(body.splitlines()) == 3 and "eve@example.com" in body
    assert audit(two_tenants, "export_csv") == [("acme", "sam@both.example", SHARED_BOX, 2)]


def test_the_privacy_report_lists_every_search_plainly_and_is_audited(
    two_tenants: Engine,
) -> None:
    at = open_as(SAM, PAGE, tenant="globex", addr=SHARED_BOX, view="report", **NOVEMBER)
    shown = " ".join(texts(at))
    assert "Privacy report" in shown and "1 search targeted this mailbox" in shown
    (table,) = at.table
    # st.table renders Markdown: the data is in code spans, shown exactly
    assert list(table.value["Searcher"]) == [f"`{SEARCHER}`"]
    assert list(table.value["Reason"]) == [f"`✕ {NO_REASON}`"]
    assert audit(two_tenants, "privacy_report") == [
        ("globex", "sam@both.example", SHARED_BOX, None)
    ]
    assert audit(two_tenants, "lookup_mailbox") == []


def test_the_user_page_links_to_the_mailboxes_the_user_searched(two_tenants: Engine) -> None:
    at = open_as(SAM, "pages/user.py", tenant="acme", email=SEARCHER, **NOVEMBER)
    (searched,) = [frame.value for frame in at.dataframe if "mailbox" in frame.value.columns]
    assert list(searched["mailbox"]) == [SHARED_BOX, "pat@example.com"]
    assert (
        searched["open"].iloc[0].startswith("mailboxes?")
        and "tenant=acme" in searched["open"].iloc[0]
    )
    globex = open_as(SAM, "pages/user.py", tenant="globex", email=SEARCHER, **NOVEMBER)
    (other,) = [frame.value for frame in globex.dataframe if "mailbox" in frame.value.columns]
    assert list(other["mailbox"]) == [SHARED_BOX]


def test_all_tenants_name_each_mailboxs_tenant(two_tenants: Engine) -> None:
    boss = {"email": "boss@example.com"}
    table = open_as(boss, PAGE, tenant="*", **NOVEMBER).dataframe[0].value
    shared = table[table["mailbox"] == SHARED_BOX]
    assert sorted(zip(shared["tenant"], shared["searches"], strict=True)) == [
        ("acme", 2),
        ("globex", 1),
    ]
    one = open_as(boss, PAGE, tenant="*", addr=SHARED_BOX, **NOVEMBER).dataframe[0].value
    assert sorted(one["tenant"]) == ["acme", "acme", "globex"]
    assert audit(two_tenants, "lookup_mailbox") == [(None, "boss@example.com", SHARED_BOX, None)]
