"""`python -m ingest verify` as a user runs it (a child process from the runtime Python):
clean on an untouched copy of a sealed two-tenant database, one line naming the tenant and
the day for a changed, removed or inserted row, its result stored for the status page;
and the ingest's own cycle seals complete days and amends a sweep's late searches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from db.engine import open_database
from db.models import INSTALLATION_CHAIN, Seal
from db.seals import chain_status
from ingest.windows import utc_now_seconds
from tests.support.backends import ALL_BACKENDS, database_name, fresh_database_url
from tests.support.harness import SIM_ID, SIM_SECRET, run_cli
from tests.support.seals import build_sealed, copy_database, tampered


@pytest.fixture(params=ALL_BACKENDS)
def sealed_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = fresh_database_url(request.param, tmp_path, database_name(request.node.nodeid))
    engine = open_database(url)
    build_sealed(engine)
    engine.dispose()
    yield url


def verify(url: str, folder: Path, *args: str):
    return run_cli(["verify", *args], {"DATABASE_URL": url}, folder)


def test_verify_passes_on_an_untouched_database(sealed_url: str, tmp_path: Path) -> None:
    result = verify(sealed_url, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "tenant 'acme'",
        "tenant 'globex'",
        "installation",
    ]
    assert all("ok, 3 links, last sealed day 2026-03-03" in line for line in lines)


TAMPERING = {
    "changed search": (
        "UPDATE search_logs SET search_reason = 'none' WHERE tenant = 'globex' "
        "AND create_time >= '2026-03-02' AND create_time < '2026-03-03'",
        "error: tenant 'globex': 2026-03-02: seal #1 no longer matches",
    ),
    "removed search": (
        "DELETE FROM search_logs WHERE email_addr = 'acme-2@example.com'",
        "error: tenant 'acme': 2026-03-03: seal #2 no longer matches",
    ),
    "inserted search": (
        "INSERT INTO search_logs (tenant, event_key, create_time, email_addr, raw_json, "
        "ingested_at) SELECT tenant, 'forged', create_time, email_addr, raw_json, ingested_at "
        "FROM search_logs WHERE email_addr = 'acme-0@example.com'",
        "error: tenant 'acme': 2026-03-01: 1 searches stored after sealing with no amendment",
    ),
    "removed refusal": (
        "DELETE FROM audit_events WHERE tenant IS NULL AND at >= '2026-03-02' "
        "AND at < '2026-03-03'",
        "error: installation: 2026-03-02: seal #1 no longer matches",
    ),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_verify_names_the_tenant_and_day_of_one_tampered_row(
    sealed_url: str, tmp_path: Path, request: pytest.FixtureRequest, case: str
) -> None:
    statement, expected = TAMPERING[case]
    copy = copy_database(sealed_url, database_name(request.node.nodeid) + "c", tmp_path)
    tampered(copy, statement)
    result = verify(copy, tmp_path)
    assert result.returncode == 1
    assert expected in result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr
    untouched = verify(sealed_url, tmp_path)
    assert untouched.returncode == 0, "the original is untouched: only the copy fails"


def test_verify_stores_its_result_for_the_status_page(sealed_url: str, tmp_path: Path) -> None:
    tampered(sealed_url, "UPDATE audit_events SET actor = 'x' WHERE tenant = 'acme'")
    assert verify(sealed_url, tmp_path).returncode == 1
    engine = open_database(sealed_url)
    try:
        acme, globex = chain_status(engine, "acme"), chain_status(engine, "globex")
    finally:
        engine.dispose()
    assert (acme.ok, globex.ok) == (False, True)
    assert acme.problems and acme.problems.startswith("seal #0 no longer matches")
    assert str(acme.last_sealed_day) == "2026-03-03"


def test_verify_reports_links_removed_from_the_end_since_the_last_verification(
    sealed_url: str, tmp_path: Path
) -> None:
    assert verify(sealed_url, tmp_path).returncode == 0
    tampered(sealed_url, "DELETE FROM seals WHERE tenant = 'acme' AND position = 2")
    result = verify(sealed_url, tmp_path)
    assert result.returncode == 1
    assert "error: tenant 'acme': the chain has 2 links, 3 at its last verification" in (
        result.stderr
    )


def sim_env(sim_url: str, db_path: Path) -> dict[str, str]:
    return {
        "MIMECAST_CLIENT_ID": SIM_ID,
        "MIMECAST_CLIENT_SECRET": SIM_SECRET,
        "MIMECAST_BASE_URL": sim_url,
        "DB_PATH": str(db_path),
        "INITIAL_BACKFILL_DAYS": "4",
    }


def count_links(engine: Engine, kind: str) -> int:
    with engine.connect() as conn:
        statement = select(func.count()).where(Seal.kind == kind, Seal.tenant != INSTALLATION_CHAIN)
        return int(conn.execute(statement).scalar_one())


@pytest.mark.slow  # a backfill, a sweep and a verify, each a child process
def test_the_ingest_seals_complete_days_and_amends_a_sweeps_late_search(
    sim, sim_url: str, db_path: Path, tmp_path: Path
) -> None:
    env = sim_env(sim_url, db_path)
    first = run_cli(["run", "--once"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    engine = open_database(f"sqlite:///{db_path}")
    sealed = count_links(engine, "seal")
    assert sealed >= 3, "the backfill's complete days are sealed"
    two_days_ago = (utc_now_seconds() - timedelta(days=2)).replace(hour=12, minute=0, second=0)
    late = {
        "createTime": two_days_ago.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "emailAddr": "late.arrival@example.com",
        "searchText": "reached the API days late",
        "description": "Archive Search",
    }
    sim.add_events([late])
    sweep = run_cli(["reconcile"], env, tmp_path)
    assert sweep.returncode == 0, sweep.stderr
    assert "amendment sealed for" in sweep.stderr
    assert count_links(engine, "amendment") == 1
    engine.dispose()
    result = run_cli(["verify"], env, tmp_path)
    assert result.returncode == 0, result.stderr
