"""The status page's all-tenants table: one row per tenant of the installation, each read
inside that tenant's own scope (a platform administrator's view only)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from config.tenants import Tenant
from dashboard import cached
from db.scope import TenantScope

TENANT_COLUMNS: dict[str, Any] = {
    "tenant": st.column_config.TextColumn("Tenant"),
    "last_ok": st.column_config.DatetimeColumn("Last successful poll", format="YYYY-MM-DD HH:mm"),
    "last_failed": st.column_config.DatetimeColumn("Last failed poll", format="YYYY-MM-DD HH:mm"),
    "error": st.column_config.TextColumn("Error of the last failed poll", width="large"),
    "cursor": st.column_config.DatetimeColumn("Cursor", format="YYYY-MM-DD HH:mm"),
    "backfill_done": st.column_config.CheckboxColumn("Backfill done"),
    "searches": st.column_config.NumberColumn("Searches stored", format="%d"),
    "rejected": st.column_config.NumberColumn("Rejected records", format="%d"),
}


def tenant_table(url: str, version: str, tenants: tuple[Tenant, ...], tz: str) -> pd.DataFrame:
    """Each tenant's ingest at a glance, in the tenants file's order, times in `tz`."""
    rows = []
    for tenant in tenants:
        status = cached.ingest_status(url, version, TenantScope.one(tenant.name))
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
