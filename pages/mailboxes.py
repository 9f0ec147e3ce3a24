"""`/mailboxes` — whose mailbox was searched: the most-searched mailboxes of the period;
`?addr=<mailbox>` who searched one, when and why; `&view=report` its privacy report."""

from __future__ import annotations

import streamlit as st

from dashboard import clickhouse_gaps, context, mailboxes_view, widgets
from dashboard.filters import P_ADDR, P_VIEW
from db.targets import normalise_mailbox

ctx = context.page_context()
clickhouse_gaps.stop_on_clickhouse(ctx, clickhouse_gaps.MAILBOXES)
filters = ctx.filters
mailbox = context.page_param(
    P_ADDR, lambda raw: normalise_mailbox(raw) or None, "expected a mailbox address."
)
if mailbox is None:
    widgets.record_view(ctx, filters=filters)
    st.caption(
        "Mailboxes named by a search (`[User : …]`), most searched first, in the sidebar's "
        "period and filters (the user filter selects the searchers)."
    )
    mailboxes_view.show_top(ctx, filters)
    st.stop()

assert mailbox is not None
if st.query_params.get(P_VIEW) == "report":
    mailboxes_view.show_report(ctx, filters, mailbox)
else:
    mailboxes_view.show_mailbox(ctx, filters, mailbox)
