"""The exact searches behind one alert, for the Alerts page's detail panel.

Minimal version (analyst-ui) with the contract's signature: every search of the alert's
user in [window_start, window_end) of the alert's tenant. det-life's version narrows it
further with the alert's stored `evidence` (hours, terms, targets, days) and replaces this.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, desc, select

from db.models import Alert, SearchLog
from db.raw_reads import SEARCH_COLUMNS
from db.scope import TenantScope
from db.sql import rows_frame

MAX_EVIDENCE = 500
"""Searches listed at most (newest first): a panel, not an export."""


def evidence_searches(engine: Engine, scope: TenantScope, alert_id: int) -> pd.DataFrame:
    """The searches that fired alert `alert_id` of `scope` (SEARCH_COLUMNS, times in UTC,
    newest first); empty for an unknown alert or another tenant's."""
    alert = (
        select(Alert.tenant, Alert.email_addr, Alert.window_start, Alert.window_end)
        .where(scope.where(Alert.tenant), Alert.id == alert_id)
        .subquery()
    )
    statement = (
        select(
            SearchLog.create_time,
            SearchLog.email_addr,
            SearchLog.source,
            SearchLog.search_text,
            SearchLog.search_reason,
            SearchLog.description,
        )
        .join(
            alert,
            (SearchLog.tenant == alert.c.tenant)
            & (SearchLog.email_addr == alert.c.email_addr)
            & (SearchLog.create_time >= alert.c.window_start)
            & (SearchLog.create_time < alert.c.window_end),
        )
        .order_by(desc(SearchLog.create_time), desc(SearchLog.id))
        .limit(MAX_EVIDENCE)
    )
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    return rows_frame(rows, SEARCH_COLUMNS)
