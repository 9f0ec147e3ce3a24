"""A call to the machine API and its answer: what the handlers receive (`Call`) and return
(`Answer`), the dashboard's `SearchFilters` a call asks for, and cells rendered as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pandas as pd
from sqlalchemy import Engine

from api.problems import ApiProblem
from config.settings import Settings
from db.api_tokens import Caller
from db.clickhouse.url import is_clickhouse_url
from db.filters import SearchFilters
from db.raw_reads import SEARCH_COLUMNS
from db.scope import TenantScope
from db.store import SearchStore, SqlStore

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
    read_scope: TenantScope | None = None
    """The tenants the call reads (`api.tenancy.call_scope`); None for a call that reads no
    tenant's data (the OpenAPI document, health)."""
    tenants: tuple[str, ...] = ()
    """The configured tenants' names (for health and metrics, which speak of each)."""
    store_source: Any = None
    """The process's searches store (`ApiContext.store`); None: `SqlStore` over `engine`."""

    @property
    def engine(self) -> Engine:
        return self.engine_source()

    @property
    def store(self) -> SearchStore:
        """The reads of the searches, through the interface every backend implements (the
        handlers run no SQL of one dialect): the `ClickHouseStore` with a ClickHouse
        DATABASE_URL, else `SqlStore` over `engine` (then the control database)."""
        if self.store_source is not None:
            return self.store_source()
        return SqlStore(self.engine)

    @property
    def on_clickhouse(self) -> bool:
        """The searches are on ClickHouse: listings page with its cursor (`api.paging`)."""
        return is_clickhouse_url(self.settings.effective_database_url)

    @property
    def tz(self) -> str:
        return self.values.get("tz") or self.settings.display_tz

    @property
    def scope(self) -> TenantScope:
        """Which tenants this call reads: the one place a handler learns them."""
        if self.read_scope is None:
            raise RuntimeError("this endpoint reads no tenant's data: it has no scope")
        return self.read_scope

    @property
    def tenant(self) -> str:
        """The one tenant an action of this call applies to (a cursor reset)."""
        if self.scope.name is None:
            raise ApiProblem(400, "name the tenant this action applies to: ?tenant=NAME")
        return self.scope.name


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
        scope=call.scope,
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


def _offset_text(seconds: int) -> str:
    """An offset as `datetime.isoformat` writes it: +05:30, or +00:53:28 with seconds."""
    return datetime(2000, 1, 1, tzinfo=timezone(timedelta(seconds=seconds))).isoformat()[19:]


def _iso_times(column: pd.Series, missing: np.ndarray) -> list[str | None]:
    """Times as `Timestamp.isoformat` writes them (microseconds only when not zero), the
    wall-clock text made by numpy for the whole column and the offset added per row."""
    aware = column.dt.tz is not None
    wall = column.dt.tz_localize(None) if aware else column
    texts = np.datetime_as_string(wall.to_numpy(dtype="datetime64[us]"), unit="us").tolist()
    if aware:
        utc = column.dt.tz_convert("UTC").dt.tz_localize(None)
        offsets = (wall - utc).dt.total_seconds().fillna(0).astype("int64").tolist()
    else:
        offsets = [None] * len(texts)
    suffix = {offset: "" if offset is None else _offset_text(offset) for offset in set(offsets)}
    return [
        None if gone else (text[:-7] if text.endswith(".000000") else text) + suffix[offset]
        for text, offset, gone in zip(texts, offsets, missing, strict=True)
    ]


def _cells(column: pd.Series) -> list[Any]:
    """A column's cells as JSON values (as `_plain` makes them), converted a column at a
    time: cell by cell, `_plain` was 40% of a 1,000-row page's CPU time."""
    missing = column.isna().to_numpy()
    if column.dtype.kind == "M":
        if column.dt.unit == "ns" and bool((column.dt.nanosecond != 0).any()):
            return [_plain(cell) for cell in column.tolist()]  # nanoseconds: rare, exact
        return _iso_times(column, missing)
    if column.dtype == object:  # anything at all (a Timestamp, a numpy scalar): cell by cell
        return [_plain(cell) for cell in column.tolist()]
    values = column.tolist()  # numpy and Arrow scalars become Python ones
    if missing.any():
        return [None if gone else value for value, gone in zip(values, missing, strict=True)]
    return values


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = list(frame.columns)
    cells = [_cells(frame[column]) for column in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*cells, strict=True)]


def search_records(rows: list[tuple[Any, ...]], tz: str) -> list[dict[str, Any]]:
    """Searches (`db.raw_reads.search_keyset_rows`) as JSON objects, times in `tz`, without
    a frame: what `records` makes of `search_keyset_page`'s frame, at a fifth of the cost."""
    zone = ZoneInfo(tz)
    return [
        dict(zip(SEARCH_COLUMNS, (when.astimezone(zone).isoformat(), *rest), strict=True))
        for when, *rest in rows
    ]


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def dumps_plain(value: Any) -> bytes:
    """`dumps` for objects of strings, integers, booleans and nulls only, which orjson
    writes byte for byte as the standard encoder does (as `ingest.records.to_raw_json`
    relies on), several times faster; what it refuses (a lone surrogate) takes `dumps`."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return dumps(value)
