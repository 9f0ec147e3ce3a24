"""The per-person daily features `detect` keeps (`person_day_features`): what each person's
searches of a local day say to the text rules (`features.TextDay`), read from the raw
searches once, then from the table for every later run's history.

Why: a new day's text rules need months of each likely person's history, and parsing those
searches again (regular expressions and stemming over hundreds of thousands of texts) was
most of a new day's time. A day's stored features stay valid while its data version (the
tenant's searches that day, from the rollups, as `scored_days` counts them) and the
fingerprint of the zone and the rules that read the texts are unchanged; a late search, a
new DISPLAY_TZ or a changed rules file makes the day read from the searches again. So the
features read are always what the searches would give, and the alerts are the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from db.detect_reads import DetectionSearches, SqlSearches
from db.models import FeatureDay, PersonDayFeatures
from db.scope import TenantScope
from ingest.detect.config import DetectionConfig
from ingest.detect.days import day_date, day_number
from ingest.detect.features import TextDay, iter_text_days
from ingest.detect.versions import day_versions

REFRESH_DAYS = 31
"""Stale days read from the searches and written together (bounds the memory held)."""


def fingerprint(tz: str, config: DetectionConfig) -> str:
    """What the stored features depend on besides the searches: the zone and the rules
    that read the texts (targets' fields, vocabulary, what a weak reason is)."""
    rules = config.rules
    what = {
        "tz": tz,
        "target_fields": list(rules.breadth.target_fields),
        "vocabulary": repr(rules.sensitive_terms.vocabulary),
        "terms": repr(rules.sensitive_terms.terms),
        "reason": repr(rules.missing_reason),
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def text_days(
    engine: Engine,
    tenant: str,
    tz: str,
    first_day: int,
    last_day: int,
    config: DetectionConfig,
    users: Sequence[str] | None = None,
    searches: DetectionSearches | None = None,
) -> Iterator[tuple[int, dict[str, TextDay]]]:
    """What `features.iter_text_days` gives, from the table: the days whose stored features
    are missing or out of date are read from the searches (`searches`, else the SQL
    searches of `engine`) and stored first; the features are kept in `engine`."""
    if first_day > last_day or (users is not None and not users):
        return
    refresh(engine, tenant, tz, first_day, last_day, config, searches)
    for lo in range(first_day, last_day + 1, REFRESH_DAYS):  # a long run: a month at a time
        yield from _read(engine, tenant, (lo, min(last_day, lo + REFRESH_DAYS - 1)), users)


def _read(
    engine: Engine, tenant: str, span: tuple[int, int], users: Sequence[str] | None
) -> Iterator[tuple[int, dict[str, TextDay]]]:
    table = PersonDayFeatures
    statement = select(table.day, table.email_addr, table.features).where(
        *_within(table, tenant, span)
    )
    if users is not None:
        statement = statement.where(table.email_addr.in_(sorted(users)))
    with engine.connect() as conn:
        rows = conn.execute(statement.order_by(table.day)).all()
    for day, group in groupby(rows, key=lambda row: row[0]):
        people = [(email, decode(features)) for _, email, features in group]
        # as the searches give them: people in the order of their day's first search
        people.sort(key=lambda person: (person[1].first, person[0]))
        yield day_number(day), dict(people)


def refresh(
    engine: Engine,
    tenant: str,
    tz: str,
    first_day: int,
    last_day: int,
    config: DetectionConfig,
    searches: DetectionSearches | None = None,
) -> int:
    """Read from the searches, and store, the features of every day from `first_day` to
    `last_day` whose stored ones are missing or out of date; how many days that was."""
    source = SqlSearches(engine) if searches is None else searches
    versions = day_versions(source, tenant, tz, first_day, last_day)
    mark = fingerprint(tz, config)
    with engine.connect() as conn:
        rows = conn.execute(
            select(FeatureDay.day, FeatureDay.searches, FeatureDay.fingerprint).where(
                *_within(FeatureDay, tenant, (first_day, last_day))
            )
        ).all()
    stored = {day_number(day): (int(searches), print_) for day, searches, print_ in rows}
    stale = [day for day, count in versions.items() if stored.get(day) != (count, mark)]
    for start, end in _runs(stale):
        for lo in range(start, end + 1, REFRESH_DAYS):
            hi = min(end, lo + REFRESH_DAYS - 1)
            read = dict(iter_text_days(source, tenant, tz, lo, hi, config))
            with engine.begin() as conn:  # the rows and their versions together
                _store(conn, tenant, (lo, hi), read)
                _mark(conn, tenant, (lo, hi), {d: versions[d] for d in range(lo, hi + 1)}, mark)
    return len(stale)


def _store(
    conn: Connection, tenant: str, span: tuple[int, int], days: dict[int, dict[str, TextDay]]
) -> None:
    """Replace the features of the days of `span` (first, last) with `days`'."""
    table = PersonDayFeatures
    conn.execute(delete(table).where(*_within(table, tenant, span)))
    rows = [
        {
            "tenant": tenant,
            "day": day_date(day),
            "email_addr": email,
            "searches": person.searches,
            "features": encode(person),
        }
        for day, people in days.items()
        for email, person in people.items()
    ]
    if rows:
        conn.execute(insert(table), rows)  # one batch: an executemany


def _mark(
    conn: Connection, tenant: str, span: tuple[int, int], versions: dict[int, int], mark: str
) -> None:
    """Record the version and fingerprint the days of `span` were read with."""
    conn.execute(delete(FeatureDay).where(*_within(FeatureDay, tenant, span)))
    conn.execute(
        insert(FeatureDay),
        [
            {"tenant": tenant, "day": day_date(day), "searches": count, "fingerprint": mark}
            for day, count in versions.items()
        ],
    )


def _within(table: Any, tenant: str, span: tuple[int, int]) -> list[Any]:
    return [
        TenantScope.one(tenant).where(table.tenant),
        table.day >= day_date(span[0]),
        table.day <= day_date(span[1]),
    ]


def _runs(days: list[int]) -> list[tuple[int, int]]:
    """Consecutive days as (first, last) spans."""
    spans: list[tuple[int, int]] = []
    for day in sorted(days):
        if spans and day == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    return spans


def encode(person: TextDay) -> str:
    """A TextDay as JSON, sets sorted: decoding gives an equal TextDay."""
    value: dict[str, Any] = {
        "searches": person.searches,
        "targets": sorted(person.targets),
        "sensitive": person.sensitive,
        "terms": sorted(person.terms),
        "term_searches": [sorted(terms) for terms in person.term_searches],
        "categories": {  # in the order the searches gave them
            name: [sorted(terms) for terms in searches]
            for name, searches in person.categories.items()
        },
        "weak_reason": person.weak_reason,
        "first": person.first,
        "last": person.last,
    }
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def decode(text: str) -> TextDay:
    value = json.loads(text)
    return TextDay(
        searches=value["searches"],
        targets=set(value["targets"]),
        sensitive=value["sensitive"],
        terms=set(value["terms"]),
        term_searches=[frozenset(terms) for terms in value["term_searches"]],
        categories={
            name: [frozenset(terms) for terms in searches]
            for name, searches in value["categories"].items()
        },
        weak_reason=value["weak_reason"],
        first=value["first"],
        last=value["last"],
    )
