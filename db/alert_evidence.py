"""The exact searches that fired an alert: its user's searches in its window, narrowed by
what the rule stored as evidence (`Finding.evidence`): local hours, terms found in the
search text, mailboxes targeted, days. An alert without evidence ('{}') stands for every
search of its user in its window.

The Alerts page's detail panel lists these instead of the user's whole day. Search text is
attacker-controlled: it is matched here as plain lower-case substrings, never as patterns,
and returned as text for the page to show as text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine, desc, select

from db.models import Alert, SearchLog, text_in
from db.raw_reads import SEARCH_COLUMNS
from db.scope import TenantScope
from db.sql import rows_frame
from db.timezones import as_local

EVIDENCE_KEYS = ("hours", "terms", "targets", "days")


def evidence_searches(engine: Engine, scope: TenantScope, alert_id: int) -> pd.DataFrame:
    """The searches that fired alert `alert_id` of `scope`, newest first, as the user's
    history lists them (SEARCH_COLUMNS, times in the zone the alert was scored in). Empty
    for an unknown id or another tenant's alert."""
    with engine.connect() as conn:
        alert = conn.execute(
            select(
                Alert.tenant,
                Alert.email_addr,
                Alert.day,
                Alert.window_start,
                Alert.window_end,
                Alert.figures,
                Alert.evidence,
            ).where(scope.where(Alert.tenant), Alert.id == alert_id)
        ).first()
        if alert is None:
            return rows_frame([], SEARCH_COLUMNS)
        rows = conn.execute(
            select(
                SearchLog.create_time,
                SearchLog.email_addr,
                SearchLog.source,
                SearchLog.search_text,
                SearchLog.search_reason,
                SearchLog.description,
            )
            .where(
                SearchLog.tenant == alert.tenant,
                text_in(SearchLog.email_addr, (alert.email_addr,)),
                SearchLog.create_time >= alert.window_start,
                SearchLog.create_time <= alert.window_end,
            )
            .order_by(desc(SearchLog.create_time), desc(SearchLog.id))
        ).all()
    frame = rows_frame(rows, SEARCH_COLUMNS)
    frame["time"] = as_local(frame["time"], _zone(alert.figures))
    keep = _narrowed(frame, _evidence(alert.evidence), alert.day)
    return frame[keep].reset_index(drop=True)


def _zone(figures: str | None) -> str:
    """The zone the alert's day was cut in (the detector stores it with the figures)."""
    try:
        zone = json.loads(figures or "{}").get("time_zone")
    except (ValueError, AttributeError):
        zone = None
    return zone if isinstance(zone, str) and zone else "UTC"


def _evidence(text: str | None) -> dict[str, list[Any]]:
    try:
        loaded = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {k: list(v) for k, v in loaded.items() if k in EVIDENCE_KEYS and isinstance(v, list)}


def _contains_any(texts: pd.Series, needles: Iterable[Any]) -> pd.Series:
    lowered = texts.fillna("").str.lower()
    found = pd.Series(False, index=texts.index)
    for needle in needles:
        found |= lowered.str.contains(str(needle).lower(), regex=False)
    return found


def _narrowed(frame: pd.DataFrame, evidence: dict[str, list[Any]], day: date) -> pd.Series:
    """Which rows the evidence keeps: every key given must match (hours and days in the
    alert's zone; terms and targets as substrings of the search text, any case). Without
    `days`, only the alert's own day (its window can end on the next midnight)."""
    times = frame["time"]
    local_days = times.dt.date if len(frame) else pd.Series([], dtype=object)
    days = {date.fromisoformat(str(value)) for value in evidence.get("days", [])} or {day}
    keep = local_days.isin(days) if len(frame) else pd.Series([], dtype=bool)
    if "hours" in evidence:
        keep &= times.dt.hour.isin([int(hour) for hour in evidence["hours"]])
    for key in ("terms", "targets"):
        if key in evidence:
            keep &= _contains_any(frame["search_text"], evidence[key])
    return keep
