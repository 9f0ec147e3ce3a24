"""The `/status` page's forwarding block: where each destination stands, and for
administrators the messages receivers refused (parked). Read through `db.state.forwarding`,
never the ingest. A receiver's error text is shown in tables or as plain text only."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from dashboard.formatting import TABLE_TIME, format_age
from db.scope import TenantScope
from db.state.forwarding import forwarding_status, recent_dead_letters

DEAD_LETTERS = 20


def destinations_table(rows: list[dict], tz: str) -> pd.DataFrame:
    """One row per destination: last delivery, lag in messages and time, last error, parked."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "destination",
            "source",
            "delivered",
            "last_delivery_at",
            "lag_messages",
            "lag_seconds",
            "last_error",
            "last_error_at",
            "parked",
        ],
    )
    for name in ("last_delivery_at", "last_error_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601").dt.tz_convert(tz)
    frame["lag"] = [
        format_age(timedelta(seconds=int(s))) if n else "—"
        for n, s in zip(frame["lag_messages"], frame["lag_seconds"], strict=True)
    ]
    frame["last_error"] = frame["last_error"].fillna("")
    return frame


def show(
    engine: Engine, scope: TenantScope, tz: str, *, admin: bool, now: datetime | None = None
) -> None:
    st.subheader("Forwarding")
    rows = forwarding_status(engine, scope, now)
    if not rows:
        st.caption(
            "No destination yet. Forwarding sends every search (and alert) to a SIEM or chat: "
            "set FORWARD_URL or a forwarding TOML file; `python -m ingest forward` delivers."
        )
        return
    stamp = TABLE_TIME
    st.dataframe(
        destinations_table(rows, tz),
        hide_index=True,
        width="stretch",
        column_order=(
            "destination",
            "source",
            "last_delivery_at",
            "delivered",
            "lag_messages",
            "lag",
            "parked",
            "last_error",
            "last_error_at",
        ),
        column_config={
            "destination": st.column_config.TextColumn("Destination"),
            "source": st.column_config.TextColumn("Sends"),
            "last_delivery_at": st.column_config.DatetimeColumn("Last delivery", format=stamp),
            "delivered": st.column_config.NumberColumn("Delivered", format="%d"),
            "lag_messages": st.column_config.NumberColumn(
                "Waiting", format="%d", help="Messages stored but not yet acknowledged"
            ),
            "lag": st.column_config.TextColumn(
                "Oldest waiting", help="How long the oldest waiting message has been stored"
            ),
            "parked": st.column_config.NumberColumn(
                "Parked", format="%d", help="Messages the receiver refused as malformed"
            ),
            "last_error": st.column_config.TextColumn("Last error", width="large"),
            "last_error_at": st.column_config.DatetimeColumn("Error at", format=stamp),
        },
    )
    if not admin:
        return
    dead = pd.DataFrame(
        recent_dead_letters(engine, scope, limit=DEAD_LETTERS),
        columns=["id", "destination", "message_id", "parked_at", "reason"],
    )
    st.markdown("**Parked messages** (refused by a receiver as malformed; newest first)")
    if dead.empty:
        st.caption("None.")
        return
    dead["parked_at"] = pd.to_datetime(dead["parked_at"], utc=True, format="ISO8601").dt.tz_convert(
        tz
    )
    st.dataframe(
        dead,
        hide_index=True,
        width="stretch",
        column_config={
            "id": st.column_config.NumberColumn("Id", format="%d"),
            "destination": st.column_config.TextColumn("Destination"),
            "message_id": st.column_config.TextColumn("Message id"),
            "parked_at": st.column_config.DatetimeColumn("Parked at", format=stamp),
            "reason": st.column_config.TextColumn("Receiver's reason", width="large"),
        },
    )
