"""What the dashboard cannot show on ClickHouse yet, said in one line on the page instead
of a page that reads the control database's empty SQL tables (docs/clickhouse.md)."""

from __future__ import annotations

import streamlit as st

from dashboard.context import Context
from db.clickhouse.url import is_clickhouse_url

MAILBOXES = (
    "On ClickHouse this page is not available yet: the mailboxes a search names are read "
    "from the SQL tables only (see docs/clickhouse.md)."
)
EVIDENCE = (
    "On ClickHouse the searches that fired an alert are not listed here yet: they are read "
    "from the SQL tables only (see docs/clickhouse.md)."
)
STATUS = (
    "On ClickHouse this page is not available yet: `python -m ingest status` shows the "
    "ingest's state, and its actions are refused there (see docs/clickhouse.md)."
)


def on_clickhouse(ctx: Context) -> bool:
    return is_clickhouse_url(ctx.db_url)


def stop_on_clickhouse(ctx: Context, message: str) -> None:
    """On ClickHouse: `message` in one line, and the page stops (nothing else is read)."""
    if on_clickhouse(ctx):
        st.info(message, icon=":material/database:")
        st.stop()
