"""The status page's all-tenants table: one row per tenant of the installation, each read
inside that tenant's own scope (a platform administrator's view only); and the line on
tamper evidence."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from config.signing import KeyProblem, key_id, load_private_key, public_pem
from config.tenants import Tenant
from dashboard import cached
from dashboard.formatting import TABLE_TIME, format_time
from db.scope import TenantScope
from db.seals import chain_status

TENANT_COLUMNS: dict[str, Any] = {
    "tenant": st.column_config.TextColumn("Tenant"),
    "last_ok": st.column_config.DatetimeColumn("Last successful poll", format=TABLE_TIME),
    "last_failed": st.column_config.DatetimeColumn("Last failed poll", format=TABLE_TIME),
    "error": st.column_config.TextColumn("Error of the last failed poll", width="large"),
    "cursor": st.column_config.DatetimeColumn("Cursor", format=TABLE_TIME),
    "backfill_done": st.column_config.CheckboxColumn("Backfill done"),
    "searches": st.column_config.NumberColumn("Searches stored", format="%d"),
    "rejected": st.column_config.NumberColumn("Rejected records", format="%d"),
}


def tenant_table(
    url: str, ingest_version: str, tenants: tuple[Tenant, ...], tz: str
) -> pd.DataFrame:
    """Each tenant's ingest at a glance, in the tenants file's order, times in `tz`."""
    rows = []
    for tenant in tenants:
        status = cached.ingest_status(url, ingest_version, TenantScope.one(tenant.name))
        ok, failed = status.last_ok_run, status.last_failed_run
        rows.append(
            {
                "tenant": tenant.display_name,
                "last_ok": ok.finished_at if ok else None,
                "last_failed": failed.finished_at if failed else None,
                "error": (failed.error or "") if failed else "",
                "cursor": status.cursor,
                "backfill_done": status.backfill_done,
                "searches": status.totals.search_logs,
                "rejected": status.totals.rejected_records,
            }
        )
    frame = pd.DataFrame(rows, columns=list(TENANT_COLUMNS))
    for name in ("last_ok", "last_failed", "cursor"):
        frame[name] = pd.to_datetime(frame[name], utc=True).dt.tz_convert(tz)
    return frame


def evidence_line(engine: Engine, chain: str, tz: str) -> str:
    """The tamper evidence of `chain` in one line: its last sealed day and what the last
    `python -m ingest verify` found (docs/evidence.md)."""
    found = chain_status(engine, chain)
    sealed = found.last_sealed_day.isoformat() if found.last_sealed_day else "none yet"
    if found.checked_at is None:
        checked = "never verified (run `python -m ingest verify`)"
    else:
        when = format_time(found.checked_at, tz)
        first = (found.problems or "").splitlines()[:1]
        checked = f"last verified {when}: " + (
            "the chain holds" if found.ok else f"FAILED, {first[0] if first else 'see verify'}"
        )
    return f"Last sealed day: {sealed} · {checked}"


def signing_key_text(key_file: str) -> tuple[str, str | None]:
    """What the status page says of the export-signing key, and its public key (PEM) so a
    verifier can copy it; never the private key."""
    if not key_file:
        return "CSV downloads carry no signed manifest: SIGNING_KEY_FILE is not set.", None
    try:
        key = load_private_key(key_file)
    except KeyProblem as exc:
        return str(exc), None
    return f"Export manifests are signed with key {key_id(key)}; its public key:", public_pem(key)
