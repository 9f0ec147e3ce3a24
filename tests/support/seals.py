"""A sealed two-tenant database the tamper-evidence tests change one row of: searches of
`acme` and `globex` over three UTC days (one address, shared@example.com, in both), audit
rows of each tenant and of the installation, every day sealed at a fixed time."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from db import audit
from db.audit import AuditAction, AuditEntry
from db.engine import sqlite_path
from db.models import INSTALLATION_CHAIN
from db.seals import seal_days
from tests.support.builders import record, store_records

TENANTS = ("acme", "globex")
DAYS = (date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3))
SEALED_AT = datetime(2026, 3, 4, 6, 0, tzinfo=UTC)
COMPLETE_BEFORE = datetime(2026, 3, 4, tzinfo=UTC)
"""Days ending at or before this are complete: 1–3 March."""


def searches(tenant: str) -> list[dict[str, object]]:
    """Different rows per tenant, the shared address in both, hostile text included."""
    rows = []
    for n, day in enumerate(DAYS):
        rows += [
            record(
                f"{day.isoformat()}T0{n + 1}:15:00",
                "shared@example.com",
                source="archive",
                searchText=f"{tenant} invoice {n}",
                searchReason="Legal hold" if n else None,
                description="Archive Search",
            ),
            record(
                f"{day.isoformat()}T2{n}:45:30",
                f"{tenant}-{n}@example.com",
                source="archive",
                searchText='=HYPERLINK("x") ;"quoted"',
                description="Message Tracking Search",
                isAdmin=bool(n % 2),
            ),
        ]
    if tenant == "globex":
        rows.append(record("2026-03-02T12:00:00", "only-globex@example.com", searchText="x"))
    return rows


def audit_rows(engine: Engine) -> None:
    """A view and an export of each tenant each day, a sign-in refusal of no tenant."""
    for day in DAYS:
        for tenant in TENANTS:
            for hour, action in ((9, AuditAction.VIEW_USER), (10, AuditAction.EXPORT_CSV)):
                item = AuditEntry(
                    tenant=tenant,
                    actor="shared@example.com",
                    role="admin",
                    action=action,
                    target="shared@example.com",
                    filters={"tenant": tenant, "day": day.isoformat()},
                    rows=2 if action == AuditAction.EXPORT_CSV else None,
                )
                audit.record(engine, item, at=datetime(day.year, 3, day.day, hour, tzinfo=UTC))
        refusal = AuditEntry(tenant=None, actor="stranger@example.org", role=None, action="denied")
        audit.record(engine, refusal, at=datetime(day.year, 3, day.day, 11, tzinfo=UTC))


def build_sealed(engine: Engine) -> None:
    """Two tenants' searches and audit rows, then every chain sealed to 3 March."""
    for tenant in TENANTS:
        store_records(engine, searches(tenant), tenant)
    audit_rows(engine)
    for chain in (*TENANTS, INSTALLATION_CHAIN):
        assert seal_days(engine, chain, COMPLETE_BEFORE, SEALED_AT) == list(DAYS)


def copy_database(url: str, name: str, folder: Path) -> str:
    """A copy of the database at `url` (closed): another SQLite file, or a PostgreSQL
    database made from it as a template. The copy is what a test tampers with."""
    path = sqlite_path(url)
    if path is not None:
        target = folder / f"{name}.db"
        shutil.copyfile(path, target)
        for suffix in ("-wal", "-shm"):  # SQLite's log, if a connection left one
            if Path(f"{path}{suffix}").exists():
                shutil.copyfile(f"{path}{suffix}", f"{target}{suffix}")
        return f"sqlite:///{target}"
    server = make_url(url)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{server.database}"'))
    finally:
        admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def tampered(url: str, statement: str) -> None:
    """Run one SQL statement on the database at `url`, as someone with write access."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()
