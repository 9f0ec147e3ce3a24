"""`/audit` — who viewed, exported or reset what in this dashboard, newest first.

For administrators of the session's tenant only (the navigation gives viewers a refusal at
this address; the role is checked here again). A tenant administrator sees their tenant's
trail; a platform administrator's "All tenants" view shows every event with its tenant.
The trail is read-only: nothing on this page edits or deletes it.
"""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta

import streamlit as st

from dashboard import audit, context, export, widgets
from dashboard.formatting import TABLE_TIME, plural
from db import audit as trail
from db.audit import AuditAction

PAGE_ROWS = 200
SHOWN = ("at", "actor", "role", "action", "target", "rows", "count", "detail", "filters")

ctx = context.page_context()
if audit.require_admin(ctx.db_url, AuditAction.VIEW_AUDIT, target="audit") is None:
    st.warning("This page is for administrators only.", icon=":material/lock:")
    st.stop()
scope = ctx.scope
names = audit.trail_columns(scope)

st.caption(
    "Every distinct page view, every download and every cursor reset in this dashboard, "
    "with who did it and with which filters, newest first. Entries cannot be edited or "
    "deleted here."
)

pick = st.columns([2, 2, 2])
actors = pick[0].multiselect(
    "Who", trail.trail_actors(ctx.engine, scope), key="audit_actors", placeholder="Everyone"
)
actions = pick[1].multiselect(
    "Action", trail.ACTIONS, key="audit_actions", placeholder="All actions"
)
picked = pick[2].date_input(
    "Dates",
    value=(ctx.today - timedelta(days=29), ctx.today),
    format="YYYY-MM-DD",
    key="audit_dates",
    help=f"Whole days in {ctx.tz} (DISPLAY_TZ), both ends included.",
)
if not (isinstance(picked, tuple) and len(picked) == 2):
    st.caption("Pick the last day of the range.")
    st.stop()
start, end = picked
wanted = audit.trail_filter(actors, actions, start, end, ctx.tz)
shown_filters = {
    "actor": actors,
    "action": actions,
    "from": start.isoformat(),
    "to": end.isoformat(),
}
widgets.record_view(ctx)

total = trail.count_trail(ctx.engine, scope, wanted)
pages = max(1, math.ceil(total / PAGE_ROWS))
st.markdown(f"**{plural(total, 'event')}** from {start} to {end}")
# A new key per filter set sends the list back to its first page when filters change.
list_key = hashlib.sha256(repr(wanted).encode()).hexdigest()[:12]
page_number = st.pagination(pages, key=f"audit_list_{list_key}") if pages > 1 else 1
offset = (page_number - 1) * PAGE_ROWS
events = audit.for_display(
    trail.read_trail(ctx.engine, scope, wanted, limit=PAGE_ROWS, offset=offset, names=names),
    ctx.tz,
)
if total:
    st.caption(f"Events {offset + 1:,}–{offset + len(events):,} of {total:,}.")
st.dataframe(
    events,
    hide_index=True,
    width="stretch",
    height=min(widgets.table_height(len(events)), 720),
    column_order=(*names[:1], *SHOWN) if names[0] == "tenant" else SHOWN,
    column_config={
        "tenant": st.column_config.TextColumn("Tenant", width=100),
        "at": st.column_config.DatetimeColumn("When", format=TABLE_TIME),
        "actor": st.column_config.TextColumn("Who"),
        "role": st.column_config.TextColumn("Role", width=80),
        "action": st.column_config.TextColumn("Action", width=120),
        "target": st.column_config.TextColumn("User, day or page", width="medium"),
        "rows": st.column_config.TextColumn("Rows", width=60, alignment="right"),
        "count": st.column_config.TextColumn(
            "Calls",
            width=60,
            alignment="right",
            help="How many identical calls the entry stands for: repeated API refusals "
            "are collapsed into one entry a minute",
        ),
        "detail": st.column_config.TextColumn("Detail", width="medium"),
        "filters": st.column_config.TextColumn("Filters", width="large"),
    },
)


widgets.audited_download(
    ctx,
    f"Download {plural(total, 'event')} (CSV)",
    lambda: audit.trail_csv(ctx.engine, scope, wanted, ctx.tz),
    action=AuditAction.EXPORT_CSV,
    target="audit trail",
    filters=shown_filters,
    file_name=export.file_name("audit-trail", start, end),
    mime="text/csv",
    disabled=total == 0,
)
