"""What the analyst asked to see (`SearchFilters`) and the WHERE clause that selects it,
for raw rows (`conditions`) and for the rollups (`dimensions`); the values the sidebar
offers (`filter_options`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import ColumnElement, Engine, and_, func, select

from db.models import FilterValue, SearchLog, text_in
from db.rollups import SYSTEM_SENDER, Dimensions
from db.scope import TenantScope
from db.timezones import utc_bounds


@dataclass(frozen=True)
class SearchFilters:
    """What the analyst asked to see: whole days `start`..`end` in the display time zone,
    inside `scope` (required: no search read can forget which tenants it may see)."""

    scope: TenantScope
    start: date
    end: date
    users: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    descriptions: tuple[str, ...] = ()
    text: str = ""
    include_system: bool = True

    def for_days(self, start: date, end: date) -> SearchFilters:
        return replace(self, start=start, end=end)

    def for_user(self, email: str) -> SearchFilters:
        return replace(self, users=(email,))


@dataclass(frozen=True)
class FilterOptions:
    """The values the sidebar offers, as stored."""

    users: tuple[str, ...]
    sources: tuple[str, ...]
    descriptions: tuple[str, ...]


def has_reason() -> ColumnElement[bool]:
    """A search with a reason: not NULL and not blank (the API sends "" when none)."""
    return and_(SearchLog.search_reason.is_not(None), func.trim(SearchLog.search_reason) != "")


def conditions(filters: SearchFilters, tz: str) -> list[ColumnElement[bool]]:
    """The WHERE clause for `filters`: every value is a bound parameter."""
    lower, upper = utc_bounds(filters.start, filters.end, tz)
    where = [
        filters.scope.where(SearchLog.tenant),
        SearchLog.create_time >= lower,
        SearchLog.create_time < upper,
    ]
    if filters.users:
        where.append(text_in(SearchLog.email_addr, filters.users))
    if filters.sources:
        where.append(SearchLog.source.in_(filters.sources))
    if filters.descriptions:
        where.append(SearchLog.description.in_(filters.descriptions))
    if filters.text:
        where.append(SearchLog.search_text.icontains(filters.text, autoescape=True))
    if not filters.include_system:
        where.append(SearchLog.email_addr != SYSTEM_SENDER)
    return where


def dimensions(filters: SearchFilters) -> Dimensions:
    """The part of `filters` the rollups can answer (everything but the search text)."""
    return Dimensions(
        scope=filters.scope,
        users=filters.users,
        sources=filters.sources,
        descriptions=filters.descriptions,
        include_system=filters.include_system,
    )


def filter_options(engine: Engine, scope: TenantScope) -> FilterOptions:
    """Distinct users, sources and search types of `scope`, sorted; from the small
    `filter_values` table the ingest keeps, never from a scan of every search."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(FilterValue.kind, FilterValue.value)
            .where(scope.where(FilterValue.tenant))
            .distinct()
            .order_by(FilterValue.kind, FilterValue.value)
        ).all()
    by_kind: dict[str, list[str]] = {"user": [], "source": [], "description": []}
    for kind, value in rows:
        by_kind.setdefault(kind, []).append(value)
    return FilterOptions(
        users=tuple(by_kind["user"]),
        sources=tuple(by_kind["source"]),
        descriptions=tuple(by_kind["description"]),
    )
