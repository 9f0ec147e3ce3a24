"""A call to the machine API and its answer: what the handlers receive (`Call`) and return
(`Answer`), the dashboard's `SearchFilters` a call asks for, and cells rendered as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from api.problems import ApiProblem
from config.settings import Settings
from db.api_tokens import Caller
from db.filters import SearchFilters

MAX_RANGE_DAYS = 3660
"""The longest `from`..`to` a call may ask for: ten years."""
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Call:
    values: dict[str, Any]
    media: str
    settings: Settings
    engine_source: Any
    caller: Caller | None = None

    @property
    def engine(self) -> Engine:
        return self.engine_source()

    @property
    def tz(self) -> str:
        return self.values.get("tz") or self.settings.display_tz


@dataclass
class Answer:
    body: bytes
    media: str
    status: int = 200
    rows: int | None = None
    target: str | None = None
    filters: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    detail: str | None = None
    recorded: bool = False
    """True when the handler wrote its audit row in the same transaction as its change."""


def _today(tz: str) -> date:
    return pd.Timestamp.now(tz=tz).date()


def search_filters(
    call: Call, *, start: date | None = None, end: date | None = None
) -> SearchFilters:
    """The dashboard's `SearchFilters` for this call; a 400 problem for a bad range."""
    values = call.values
    last = end or values.get("to") or _today(call.tz)
    first = start or values.get("from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ApiProblem(400, f"bad range: from ({first}) is after to ({last})")
    days = (last - first).days + 1
    if days > MAX_RANGE_DAYS:
        raise ApiProblem(
            400,
            f"range too large: {days:,} days from {first} to {last}; "
            f"ask for at most {MAX_RANGE_DAYS:,}",
        )
    return SearchFilters(
        start=first,
        end=last,
        users=values.get("user") or (),
        sources=values.get("source") or (),
        descriptions=values.get("type") or (),
        text=values.get("q") or "",
        include_system=values.get("system") != "exclude",
    )


def audit_filters(filters: SearchFilters, tz: str, **more: Any) -> dict[str, Any]:
    """What was asked for, as the audit trail stores it (like the pages' query string)."""
    stored: dict[str, Any] = {
        "from": filters.start.isoformat(),
        "to": filters.end.isoformat(),
        "tz": tz,
    }
    for key, value in (
        ("user", filters.users),
        ("source", filters.sources),
        ("type", filters.descriptions),
    ):
        if value:
            stored[key] = list(value)
    if filters.text:
        stored["q"] = filters.text
    if not filters.include_system:
        stored["system"] = "exclude"
    stored.update({k: v for k, v in more.items() if v is not None})
    return stored


def _plain(value: Any) -> Any:
    """A cell as JSON: aware times as ISO 8601 with their offset, missing as null."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and pd.isna(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = list(frame.columns)
    return [
        {column: _plain(cell) for column, cell in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
