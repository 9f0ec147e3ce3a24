"""Search targets in the database, on SQLite and PostgreSQL: the ingest writes a search's
targets in the search's own transaction; a database written before targets existed is
filled by its upgrade (migration 0013); the reads (`db.targets`) answer per tenant with the
sidebar's filters."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, func, inspect, select, text

from db import targets
from db.engine import alembic_config, open_database
from db.filters import SearchFilters
from db.models import SearchLog
from db.raw_reads import Keyset, newest_search_id
from db.scope import TenantScope
from tests.support.builders import record, store_records
from tests.support.harness import run_cli
from tests.support.targets import (
    SEARCHER,
    SHARED_BOX,
    parsed_targets,
    store_two_tenants,
    stored_targets,
)
from tests.support.tenancy import write_tenants_file

FIXTURE = Path(__file__).parent / "data" / "main-0010.db"
ACME, GLOBEX = TenantScope.one("acme"), TenantScope.one("globex")
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 5))


def _filters(scope: TenantScope, **more: object) -> SearchFilters:
    return SearchFilters(scope, *NOVEMBER, **more)  # type: ignore[arg-type]


def test_ingest_stores_each_searchs_targets_as_the_parser_reads_them(engine: Engine) -> None:
    store_two_tenants(engine)
    assert stored_targets(engine) == parsed_targets(engine)
    assert sum(stored_targets(engine).values()) == 8


def test_a_page_read_again_adds_no_targets(engine: Engine) -> None:
    page = [record("2026-11-02T09:00:00", SEARCHER, searchText=f"[User : {SHARED_BOX}]")]
    store_records(engine, page, tenant="acme")
    before = stored_targets(engine)
    assert len(before) == 1
    with pytest.raises(AssertionError):  # store_records insists on new rows: none were
        store_records(engine, page, tenant="acme")
    assert stored_targets(engine) == before


REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse_targets BEFORE INSERT ON search_targets "
        "BEGIN SELECT RAISE(ABORT, 'targets refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_targets() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'targets refused'; END $$",
        "CREATE TRIGGER refuse_targets BEFORE INSERT ON search_targets "
        "FOR EACH ROW EXECUTE FUNCTION refuse_targets()",
    ],
}


def test_searches_and_their_targets_commit_together_or_not_at_all(engine: Engine) -> None:
    with engine.begin() as conn:
        for statement in REFUSE[engine.dialect.name]:
            conn.execute(text(statement))
    page = [record("2026-11-02T09:00:00", SEARCHER, searchText=f"[User : {SHARED_BOX}]")]
    with pytest.raises(Exception, match="targets refused"):
        store_records(engine, page, tenant="acme")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(SearchLog)).scalar_one() == 0
    with engine.begin() as conn:
        on = " ON search_targets" if engine.dialect.name == "postgresql" else ""
        conn.execute(text(f"DROP TRIGGER refuse_targets{on}"))
    store_records(engine, page, tenant="acme")
    assert stored_targets(engine) == parsed_targets(engine) and len(stored_targets(engine)) == 1


def test_most_searched_mailboxes_are_counted_per_tenant(engine: Engine) -> None:
    store_two_tenants(engine)
    acme = targets.top_mailboxes(engine, _filters(ACME), "UTC")
    assert list(zip(acme["mailbox"], acme["searches"], acme["searchers"], strict=True)) == [
        (SHARED_BOX, 2, 2),
        ("pat@example.com", 1, 1),
    ]
    assert list(acme["without_reason"]) == [1, 1]
    globex = targets.top_mailboxes(engine, _filters(GLOBEX), "UTC")
    assert sorted(globex["mailbox"]) == ["dhamilton@example.com", "kim@globex.example"]
    assert set(globex["tenant"]) == {"globex"}
    every = targets.top_mailboxes(engine, _filters(TenantScope.every_tenant()), "UTC")
    assert sorted(zip(every["tenant"], every["mailbox"], every["searches"], strict=True))[:2] == [
        ("acme", SHARED_BOX, 2),
        ("acme", "pat@example.com", 1),
    ]
    assert len(every) == 4


def test_one_mailbox_lists_its_searches_in_its_tenant_only(engine: Engine) -> None:
    store_two_tenants(engine)
    acme = targets.mailbox_searches(engine, _filters(ACME), "UTC", "DHamilton@Example.com ")
    assert list(acme["searcher"]) == ["eve@example.com", SEARCHER]  # newest first
    assert list(acme["reason_on_record"]) == ["no", "yes"]
    assert list(acme["search_type"]) == ["Threat Remediation search", "Archive Search"]
    globex = targets.mailbox_searches(engine, _filters(GLOBEX), "UTC", SHARED_BOX)
    assert list(globex["searcher"]) == [SEARCHER] and set(globex["tenant"]) == {"globex"}
    assert targets.count_mailbox_searches(engine, _filters(ACME), "UTC", SHARED_BOX) == 2
    assert targets.known_mailbox(engine, GLOBEX, "kim@globex.example")
    assert not targets.known_mailbox(engine, ACME, "kim@globex.example")


def test_the_sidebar_filters_select_the_searches_of_a_mailbox(engine: Engine) -> None:
    store_two_tenants(engine)
    by_searcher = _filters(ACME, users=(SEARCHER,))
    assert list(targets.mailbox_searches(engine, by_searcher, "UTC", SHARED_BOX)["searcher"]) == [
        SEARCHER
    ]
    one_day = SearchFilters(ACME, date(2026, 11, 3), date(2026, 11, 3))
    top = targets.top_mailboxes(engine, one_day, "UTC")
    assert list(top["mailbox"]) == [SHARED_BOX, "pat@example.com"]
    assert list(top["searches"]) == [1, 1]


def test_mailboxes_a_user_searched_are_listed_per_tenant(engine: Engine) -> None:
    store_two_tenants(engine)
    acme = targets.mailboxes_searched_by(engine, _filters(ACME), "UTC", SEARCHER)
    assert list(acme["mailbox"]) == ["dhamilton@example.com", "pat@example.com"]
    globex = targets.mailboxes_searched_by(engine, _filters(GLOBEX), "UTC", SEARCHER)
    assert list(globex["mailbox"]) == [SHARED_BOX] and list(globex["searches"]) == [1]


def test_keyset_pages_of_a_mailbox_neither_repeat_nor_skip(engine: Engine) -> None:
    page = [
        record(f"2026-11-02T09:00:0{i}", f"u{i}@example.com", searchText=f"[User : {SHARED_BOX}]")
        for i in range(5)
    ]
    store_records(engine, page, tenant="acme")
    keyset: Keyset | None = Keyset(newest_search_id(engine, ACME))
    seen: list[str] = []
    while keyset is not None:
        frame, keyset = targets.mailbox_keyset_rows(
            engine, _filters(ACME), "UTC", SHARED_BOX, keyset, limit=2
        )
        seen += list(frame["searcher"])
    assert seen == [f"u{i}@example.com" for i in reversed(range(5))]


def test_an_old_database_gets_the_targets_of_its_stored_searches_on_upgrade(
    tmp_path: Path,
) -> None:
    path = tmp_path / "searchlogs.db"
    shutil.copy(FIXTURE, path)
    engine = open_database(f"sqlite:///{path}")
    try:
        found = stored_targets(engine)
        assert found == parsed_targets(engine)
        kinds = {kind for _tenant, _key, kind, _field, _value in found}
        assert {"mailbox", "filter", "message"} <= kinds
        command.downgrade(alembic_config(engine), "0011")
        assert "search_targets" not in inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(SearchLog)).scalar_one() == 111
        command.upgrade(alembic_config(engine), "head")
        assert stored_targets(engine) == found
    finally:
        engine.dispose()


def test_backfill_command_parses_one_tenants_searches_again(tmp_path: Path) -> None:
    """`python -m ingest targets --backfill --tenant acme` rebuilds acme's targets from
    its searches (here: lost), and leaves globex's as they were."""
    db_path = tmp_path / "searchlogs.db"
    env = {
        "DB_PATH": str(db_path),
        "TENANTS_FILE": str(write_tenants_file(tmp_path, {"acme": "Acme", "globex": "Globex"})),
    }
    engine = open_database(f"sqlite:///{db_path}")
    try:
        store_two_tenants(engine)
        before = stored_targets(engine)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM search_targets"))
            conn.execute(
                text(
                    "INSERT INTO search_targets VALUES ('acme', 'k', 'mailbox', '', 'x@y.z', "
                    "'2026-11-01 00:00:00.000000')"
                )
            )
        done = run_cli(["targets", "--backfill", "--tenant", "acme"], env, tmp_path)
        assert done.returncode == 0, done.stderr
        assert "tenant 'acme': 6 search targets stored" in done.stdout
        assert stored_targets(engine) == Counter(
            {key: n for key, n in before.items() if key[0] == "acme"}
        )
        refused = run_cli(["targets"], env, tmp_path)
        assert refused.returncode == 2 and refused.stderr.startswith("error: nothing to do")
    finally:
        engine.dispose()
