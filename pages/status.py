"""`/status` — is the ingest healthy? Runs, cursor, rejects, size; reset the cursor.

All of it is the session's tenant's; the "All tenants" view adds one row per tenant and
has no cursor to reset (a reset is one tenant's: pick it)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import audit, cached, clickhouse_gaps, context, forwarding_view, status_view, widgets
from dashboard.auth import current_visitor
from dashboard.formatting import (
    TABLE_TIME,
    escape_markdown,
    format_age,
    format_bytes,
    format_time,
    time_metric,
)
from dashboard.notices import INGEST_COMMAND
from db.audit import AuditAction
from db.engine import DatabaseSetupError
from db.locks import AlreadyRunning
from db.models import INSTALLATION_CHAIN
from db.state import RUN_FIELDS, Run, reset_cursor, run_kind_name

CONFIRM_KEY = "confirm_reset_cursor"

ctx = context.page_context()
clickhouse_gaps.stop_on_clickhouse(ctx, clickhouse_gaps.STATUS)
widgets.record_view(ctx)
status = cached.ingest_status(ctx.db_url, ctx.ingest_version, ctx.scope)
now = datetime.now(UTC)


def _finished(run: Run | None) -> datetime | None:
    return run.finished_at if run else None


def _time_metric(column: Any, label: str, moment: datetime | None, help: str | None) -> None:
    value, delta = time_metric(moment, ctx.tz, now)
    column.metric(label, value, delta, delta_color="off", delta_arrow="off", help=help)


if ctx.scope.is_every_tenant:
    st.subheader("Tenants")
    st.dataframe(
        status_view.tenant_table(ctx.db_url, ctx.ingest_version, ctx.tenants, ctx.tz),
        hide_index=True,
        width="stretch",
        column_config=status_view.TENANT_COLUMNS,
    )

totals = status.totals
cols = st.columns(4)
_time_metric(cols[0], "Last successful poll", _finished(status.last_ok_run), None)
_time_metric(cols[1], "Last failed poll", _finished(status.last_failed_run), None)
_time_metric(
    cols[2],
    "Cursor",
    status.cursor,
    "Everything up to this instant is stored; the next delta run starts here, "
    "less the LOOKBACK\\_SECONDS overlap.",
)
cols[3].metric("Backfill done", "yes" if status.backfill_done else "no")
cols = st.columns(4)
cols[0].metric("Searches stored", f"{totals.search_logs:,}")
cols[1].metric("Rejected records", f"{totals.rejected_records:,}")
wal_bytes = status.wal_bytes
# The database holds every tenant's data: its size and place are the installation's.
installation = current_visitor(ctx.settings).access.platform_admin
cols[2].metric(
    "Database size",
    format_bytes(status.database_bytes) if installation else "—",
    None if wal_bytes is None or not installation else f"WAL {format_bytes(wal_bytes)}",
    delta_color="off",
    delta_arrow="off",
    help="Shown to platform administrators: the database holds every tenant's data."
    if not installation
    else None
    if wal_bytes is None
    else "The database file, and apart from it SQLite's write-ahead log (WAL): pages "
    "not yet copied back into the file, trimmed after each checkpoint.",
)
cols[3].metric(
    "Poll interval",
    format_age(timedelta(seconds=ctx.settings.poll_seconds)),
    help="POLL\\_SECONDS: the ingest's schedule; pages warn when the last successful "
    "poll is more than twice this old.",
)
st.caption(
    f"Stored searches from {escape_markdown(format_time(totals.first_event, ctx.tz))}"
    f" to {escape_markdown(format_time(totals.last_event, ctx.tz))}."
)
if installation:
    st.text(f"Database: {status.database}")

failed = status.last_failed_run
if failed and failed.error:
    st.markdown("**Error of the last failed poll**")
    st.code(failed.error, language=None, wrap_lines=True)

st.subheader("Last reconciliation sweep")
sweep = status.last_reconcile
if sweep is None:
    st.caption(
        f"None yet. Once a day the scheduled ingest re-reads the last "
        f"{ctx.settings.reconcile_days} days (RECONCILE\\_DAYS; 0 turns it off) and stores any "
        "search that reached the API later than LOOKBACK\\_SECONDS; `python -m ingest "
        "reconcile` sweeps now."
    )
else:
    cols = st.columns(4)
    _time_metric(cols[0], "Sweep finished", _finished(sweep), None)
    cols[1].metric("Sweep status", sweep.status)
    cols[2].metric("Searches re-read", f"{sweep.fetched:,}")
    cols[3].metric(
        "Found late",
        f"{sweep.inserted:,}",
        help="Searches the sweep stored: they reached the API later than LOOKBACK\\_SECONDS, "
        "and the polls had missed them.",
    )
    st.caption(
        "Re-read "
        + escape_markdown(
            f"{format_time(sweep.window_start, ctx.tz)} to {format_time(sweep.window_end, ctx.tz)}"
        )
        + " in one-day windows; the cursor is not moved by a sweep."
    )
    if sweep.notes_text:
        st.text(f"Findings: {sweep.notes_text}")
    if sweep.error:
        st.code(sweep.error, language=None, wrap_lines=True)


def _times(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    for name in names:
        if name in frame:
            frame[name] = pd.to_datetime(frame[name], utc=True).dt.tz_convert(ctx.tz)
    return frame


st.subheader("Tamper evidence")
chain = INSTALLATION_CHAIN if ctx.scope.is_every_tenant else ctx.tenant
st.text(status_view.evidence_line(ctx.engine, chain, ctx.tz))
signing, public_key = status_view.signing_key_text(ctx.settings.signing_key_file)
st.text(signing)
if public_key:
    st.code(public_key, language=None)

st.subheader("Recent runs")
runs = pd.DataFrame(
    [{**asdict(run), "kind": run_kind_name(run.kind)} for run in status.recent_runs],
    columns=list(RUN_FIELDS),
)
if runs.empty:
    st.info(f"No ingest run yet. Run `{INGEST_COMMAND}`.")
else:
    runs = _times(runs, ("started_at", "finished_at", "window_start", "window_end"))

    def stamp(label: str) -> Any:
        return st.column_config.DatetimeColumn(label, format=TABLE_TIME)

    def count(label: str) -> Any:
        return st.column_config.NumberColumn(label, format="%d")

    st.dataframe(
        runs,
        hide_index=True,
        width="stretch",
        column_config={
            "id": count("Run"),
            "kind": st.column_config.TextColumn("Kind"),
            "status": st.column_config.TextColumn("Status"),
            "started_at": stamp("Started"),
            "finished_at": stamp("Finished"),
            "window_start": stamp("Window from"),
            "window_end": stamp("Window to"),
            "pages": count("Pages"),
            "fetched": count("Fetched"),
            "inserted": count("New"),
            "duplicates": count("Duplicates"),
            "out_of_window": count("Outside window"),
            "rejected": count("Rejected"),
            "api_requests": count("API requests"),
            "error": st.column_config.TextColumn("Error", width="large"),
        },
    )

is_admin = current_visitor(ctx.settings).is_admin
forwarding_view.show(ctx.engine, ctx.scope, ctx.tz, admin=is_admin)
if not is_admin:
    st.caption("Parked messages, rejected records and the cursor reset are for administrators.")
    st.stop()

st.subheader("Rejected records")
rejects = pd.DataFrame(
    [asdict(reject) for reject in status.recent_rejects],
    columns=["id", "rejected_at", "reason", "raw_json"],
)
if rejects.empty:
    st.caption("None: every record received could be stored.")
else:
    st.caption(f"The newest {len(rejects)} of {totals.rejected_records:,}, exactly as received.")
    st.dataframe(
        _times(rejects, ("rejected_at",)),
        hide_index=True,
        width="stretch",
        column_config={
            "id": st.column_config.NumberColumn("Id", format="%d"),
            "rejected_at": st.column_config.DatetimeColumn("Rejected at", format=TABLE_TIME),
            "reason": st.column_config.TextColumn("Reason"),
            "raw_json": st.column_config.TextColumn("Record as received", width="large"),
        },
    )

if ctx.scope.is_every_tenant:
    st.caption("The cursor is one tenant's: pick the tenant in the sidebar to reset it.")
    st.stop()

st.subheader("Reset the cursor")
st.caption(
    f"Forgets how far the ingest of {escape_markdown(ctx.tenant)} got: its next run fetches "
    "the last "
    f"{ctx.settings.initial_backfill_days} days (INITIAL\\_BACKFILL\\_DAYS) again. Stored "
    "searches are kept and never doubled. Use it after fixing a gap, not routinely."
)
confirmed = st.checkbox(
    "I understand that the next ingest run will backfill again.", key=CONFIRM_KEY
)


def _reset() -> None:
    # The role is checked again here, when the reset runs, not only when drawing the button.
    admin = audit.require_admin(ctx.db_url, AuditAction.RESET_CURSOR, target="cursor")
    if admin is None:
        st.error("Only administrators can reset the cursor.", icon=":material/lock:")
        return
    entry = audit.entry(admin, AuditAction.RESET_CURSOR, detail="cursor reset")
    try:
        with audit.all_or_nothing(AuditAction.RESET_CURSOR):
            # its entry in the same transaction
            reset_cursor(ctx.engine, ctx.tenant, audited=entry)
    except (AlreadyRunning, DatabaseSetupError) as exc:
        st.session_state["reset_result"] = ("error", str(exc))
        audit.record_action(ctx.db_url, admin, AuditAction.RESET_CURSOR, f"refused: {exc}")
    except audit.NothingChanged as exc:
        st.session_state["reset_result"] = ("error", str(exc))
    else:
        st.session_state["reset_result"] = ("ok", "Cursor reset: the next run backfills.")
    st.session_state[CONFIRM_KEY] = False


st.button(
    "Reset cursor",
    type="primary",
    disabled=not confirmed,
    on_click=_reset,
    icon=":material/restart_alt:",
)
result = st.session_state.pop("reset_result", None)
if result:
    kind, message = result
    (st.success if kind == "ok" else st.error)(escape_markdown(message))
