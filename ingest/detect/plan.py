"""Which local days `detect` scores now: the complete days not scored yet, and the scored
days to score again — those whose data changed since (late searches a reconciliation sweep
stored, looked for over the last `recheck_days` days) and those `--rescore` asks for.

A day is complete once the ingest's cursor, less the overlap it re-reads for late events
(LOOKBACK_SECONDS), has passed its end. The first run starts `warmup_days` after the first
stored search, so every rule has some history. Re-scoring a changed day runs on to the last
complete day (a late search also changes the baselines of the days after its own);
`--rescore FROM TO` scores those days only (and any new day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Engine

from db.detect_reads import DetectionSearches
from db.state.detection import scored_through, scored_versions
from ingest.detect.config import DetectionConfig
from ingest.detect.days import day_date, day_number, local_day_of
from ingest.detect.versions import day_versions


@dataclass(frozen=True)
class Plan:
    """Score the local days of `spans` (each (first, last), in order, apart); `done` is the
    last day scored before (None: never); `changed` the scored days whose data changed."""

    spans: tuple[tuple[int, int], ...]
    done: int | None
    changed: tuple[int, ...] = field(default=())

    @property
    def first(self) -> int:
        return self.spans[0][0]

    @property
    def last(self) -> int:
        return self.spans[-1][1]

    @property
    def days(self) -> int:
        return sum(last - first + 1 for first, last in self.spans)

    @property
    def rescored(self) -> int:
        """How many of the days scored now had been scored before."""
        if self.done is None:
            return 0
        return sum(max(0, min(self.done, last) - first + 1) for first, last in self.spans)


def plan_days(
    engine: Engine,
    tenant: str,
    tz: str,
    config: DetectionConfig,
    lookback_seconds: int = 0,
    through: date | None = None,
    recheck_days: int = 0,
    rescore: tuple[date, date] | None = None,
    *,
    searches: DetectionSearches,
) -> Plan | str:
    """What to score now, or why there is nothing to score: the scored days from `engine`
    (the control database), the searches and the cursor from `searches`."""
    with engine.connect() as conn:
        done_date = scored_through(conn, tenant)
    first_search = searches.detection_first_search(tenant)
    if first_search is None:
        return "no searches stored yet"
    cursor = searches.read_cursor(tenant)
    if cursor is None:
        return "the ingest has not completed a poll yet"
    last = local_day_of(cursor - timedelta(seconds=lookback_seconds), tz) - 1
    if through is not None:
        last = min(last, day_number(through))
    start = local_day_of(first_search, tz) + config.general.warmup_days
    if done_date is None:
        if start > last:
            return f"no complete day after {day_date(start - 1).isoformat()} yet"
        return Plan(((start, last),), None)
    done = day_number(done_date)
    changed = _changed_days(
        engine, searches, tenant, tz, max(start, last - recheck_days + 1), min(done, last)
    )
    spans = [(done + 1, last)]
    if changed:  # the baselines of the days after a changed one change too
        spans.append((changed[0], last))
    if rescore is not None:
        spans.append((max(start, day_number(rescore[0])), min(last, day_number(rescore[1]))))
    merged = _merged([(first, end) for first, end in spans if first <= end])
    if not merged:
        return f"no complete day after {day_date(min(done, last)).isoformat()} yet"
    return Plan(tuple(merged), done, changed)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _changed_days(
    engine: Engine, searches: DetectionSearches, tenant: str, tz: str, first: int, last: int
) -> tuple[int, ...]:
    """Scored days among `first`..`last` whose searches' count is not the one scored (a day
    scored before versions were kept counts as changed: scoring it again is harmless)."""
    if first > last:
        return ()
    now = day_versions(searches, tenant, tz, first, last)
    with engine.connect() as conn:
        then = scored_versions(conn, tenant, day_date(first), day_date(last))
    return tuple(day for day, count in now.items() if then.get(day_date(day)) != count)


def parse_rescore(values: list[str] | None) -> tuple[date, date] | None:
    """`--rescore FROM TO` as dates; a ValueError with one line for a bad date or range."""
    if not values:
        return None
    parsed = []
    for value in values:
        try:
            parsed.append(date.fromisoformat(value))
        except ValueError:
            raise ValueError(f"--rescore: {value!r} is not a date (YYYY-MM-DD)") from None
    first, last = parsed
    if first > last:
        raise ValueError(f"--rescore: FROM {first} is after TO {last}")
    return first, last
