"""Tamper evidence (issue 18 §3): every single-row change, removal or insertion of a
sealed day's searches or audit rows makes `verify` name that day; an untouched database
and one with a sweep's amendment verify clean. Two tenants with different rows (one
address in both) and the installation's chain, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, delete, insert, inspect, select, update

from db.engine import alembic_config, open_database
from db.models import INSTALLATION_CHAIN, AuditEvent, Seal, SearchLog
from db.scope import DEFAULT_TENANT
from db.seal_digest import AUDIT_COLUMNS, SEARCH_COLUMNS
from db.seal_verify import Problem, verify_chain, verify_on
from db.seals import amend_days, seal_days
from db.state import DELTA, RECONCILE
from ingest.records import EventKeyer, SearchEvent, parse_record
from ingest.store import PageBatch, Store
from tests.support.builders import record, store_records
from tests.support.seals import DAYS, TENANTS, build_sealed

CHAINS = (*TENANTS, INSTALLATION_CHAIN)


@pytest.fixture
def sealed(engine: Engine) -> Engine:
    build_sealed(engine)
    return engine


def problems(conn: Connection) -> dict[str, tuple[Problem, ...]]:
    found = {chain: verify_on(conn, chain).problems for chain in CHAINS}
    return {chain: p for chain, p in found.items() if p}


@pytest.fixture
def tamper(sealed: Engine) -> Iterator[Connection]:
    """A connection whose transaction is rolled back after the test: the change is seen
    by `verify_on` on it and never by the next case."""
    with sealed.connect() as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


def changed(name: str, value: Any, row: dict[str, Any]) -> Any:
    """Another value of the same type: the smallest change that is still a change."""
    if name == "id":
        return value + 1000
    if name == "run_id" and value is not None:
        return 1 if value != 1 else 2  # the other tenant's run: a foreign key holds
    if name == "tenant":
        return "acme" if value != "acme" else "globex"
    if isinstance(value, bool):
        return not value
    if isinstance(value, datetime):
        return value + timedelta(seconds=1)
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):  # one character changed: the length fits the column
        return value[:-1] + ("y" if value.endswith("x") else "x")
    assert value is None
    return {"run_id": 1, "is_admin": True, "rows": 1}.get(name, "x")


def chain_of(tenant: str | None) -> str:
    return INSTALLATION_CHAIN if tenant is None else tenant


def all_rows(conn: Connection, table: Any, names: tuple[str, ...]) -> list[dict[str, Any]]:
    columns = [getattr(table, name) for name in names]
    return [dict(zip(names, r, strict=True)) for r in conn.execute(select(*columns))]


def day_of(row: dict[str, Any]) -> date:
    moment = row.get("create_time") or row["at"]
    return moment.astimezone(UTC).date()


def assert_names_day(conn: Connection, chain: str, day: date) -> None:
    found = verify_on(conn, chain).problems
    assert found, f"verify missed a change of {chain} on {day}"
    assert found[0].day == day


def test_untouched_sealed_database_verifies_clean(sealed: Engine) -> None:
    with sealed.connect() as conn:
        assert problems(conn) == {}
        assert {chain: verify_on(conn, chain).links for chain in CHAINS} == dict.fromkeys(
            CHAINS, len(DAYS)
        )


def test_every_single_column_change_of_a_search_names_its_day(tamper: Connection) -> None:
    for row in all_rows(tamper, SearchLog, SEARCH_COLUMNS):
        for name in SEARCH_COLUMNS:
            nested = tamper.begin_nested()
            new = changed(name, row[name], row)
            tamper.execute(update(SearchLog).where(SearchLog.id == row["id"]).values({name: new}))
            assert_names_day(tamper, row["tenant"], day_of(row))
            nested.rollback()


def test_every_single_column_change_of_an_audit_row_names_its_day(tamper: Connection) -> None:
    for row in all_rows(tamper, AuditEvent, AUDIT_COLUMNS):
        for name in AUDIT_COLUMNS:
            nested = tamper.begin_nested()
            new = changed(name, row[name], row)
            tamper.execute(update(AuditEvent).where(AuditEvent.id == row["id"]).values({name: new}))
            assert_names_day(tamper, chain_of(row["tenant"]), day_of(row))
            nested.rollback()


def test_removing_any_one_row_names_its_day(tamper: Connection) -> None:
    for table, names in ((SearchLog, SEARCH_COLUMNS), (AuditEvent, AUDIT_COLUMNS)):
        for row in all_rows(tamper, table, names):
            nested = tamper.begin_nested()
            tamper.execute(delete(table).where(table.id == row["id"]))
            assert_names_day(tamper, chain_of(row["tenant"]), day_of(row))
            nested.rollback()


def test_inserting_a_copy_of_any_one_row_names_its_day(tamper: Connection) -> None:
    for table, names in ((SearchLog, SEARCH_COLUMNS), (AuditEvent, AUDIT_COLUMNS)):
        for row in all_rows(tamper, table, names):
            nested = tamper.begin_nested()
            copy = {k: v for k, v in row.items() if k != "id"}
            if table is SearchLog:
                copy["event_key"] = "f" * 64
            tamper.execute(insert(table).values(copy))
            assert_names_day(tamper, chain_of(row["tenant"]), day_of(row))
            nested.rollback()


def test_a_changed_or_removed_seal_breaks_the_chain_at_its_day(tamper: Connection) -> None:
    tamper.execute(update(Seal).where(Seal.tenant == "acme", Seal.position == 1).values(searches=9))
    assert_names_day(tamper, "acme", DAYS[1])
    tamper.execute(delete(Seal).where(Seal.tenant == "globex", Seal.position == 0))
    assert_names_day(tamper, "globex", DAYS[0])


def store_late(engine: Engine, tenant: str, kind: str, when: str) -> int:
    """One late search stored by a run of `kind` (a sweep: RECONCILE), as the store does."""
    store = Store(engine, tenant)
    window = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC))
    run_id = store.start_run(kind, *window)
    event = parse_record(record(when, "shared@example.com", searchText="late"))
    assert isinstance(event, SearchEvent)
    batch = PageBatch(events=[(EventKeyer().event_key(event), event)], fetched=1)
    counts = store.write_page(batch, run_id, window)
    store.finish_run(run_id, "ok", counts, api_requests=1)
    return run_id


AMENDED_AT = datetime(2026, 3, 5, 6, 0, tzinfo=UTC)


def test_a_sweep_amendment_of_a_sealed_day_verifies_clean(sealed: Engine) -> None:
    store_late(sealed, "acme", RECONCILE, "2026-03-02T08:00:00")
    with sealed.connect() as conn:  # stored, not yet amended: not a silent change
        assert problems(conn)["acme"][0].day == DAYS[1]
    assert amend_days(sealed, "acme", DAYS[0], AMENDED_AT) == [DAYS[1]]
    assert amend_days(sealed, "globex", DAYS[0], AMENDED_AT) == []
    with sealed.connect() as conn:
        assert problems(conn) == {}
        kinds = conn.execute(select(Seal.kind).where(Seal.tenant == "acme").order_by(Seal.position))
        assert list(kinds.scalars()) == ["seal", "seal", "seal", "amendment"]


def test_late_searches_not_stored_by_a_sweep_get_no_amendment(sealed: Engine) -> None:
    store_late(sealed, "globex", DELTA, "2026-03-03T08:00:00")
    assert amend_days(sealed, "globex", DAYS[0], AMENDED_AT) == []
    with sealed.connect() as conn:
        assert problems(conn)["globex"][0].day == DAYS[2]
        assert "acme" not in problems(conn)


MAIN_0010 = Path(__file__).parent / "data" / "main-0010.db"


def test_migration_0014_seals_an_existing_database_and_downgrades(tmp_path: Path) -> None:
    copy = tmp_path / "searchlogs.db"
    shutil.copy(MAIN_0010, copy)
    engine = open_database(f"sqlite:///{copy}")  # upgrades to the newest schema
    try:
        before = datetime(2100, 1, 1, tzinfo=UTC)
        assert seal_days(engine, DEFAULT_TENANT, before, AMENDED_AT), "its rows are sealed"
        assert verify_chain(engine, DEFAULT_TENANT).ok
        command.downgrade(alembic_config(engine), "0011")
        assert not {"seals", "seal_checks"} & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_long_history_is_sealed_a_month_per_call_in_order(engine: Engine) -> None:
    store_records(engine, [record("2026-01-01T10:00:00", "shared@example.com")], "acme")
    store_records(engine, [record("2026-03-15T10:00:00", "shared@example.com")], "globex")
    first = seal_days(engine, "acme", datetime(2026, 4, 1, tzinfo=UTC), AMENDED_AT)
    assert (first[0], first[-1], len(first)) == (date(2026, 1, 1), date(2026, 1, 31), 31)
    second = seal_days(engine, "acme", datetime(2026, 4, 1, tzinfo=UTC), AMENDED_AT)
    assert second[0] == date(2026, 2, 1)
    assert seal_days(engine, "globex", datetime(2026, 3, 16, tzinfo=UTC), AMENDED_AT) == [
        date(2026, 3, 15)
    ]
    assert verify_chain(engine, "acme").ok and verify_chain(engine, "globex").ok
