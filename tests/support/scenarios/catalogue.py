"""Every scenario by key, and running one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from tests.support.scenarios.children import reap_children
from tests.support.scenarios.completeness import scenario_offset_paging, scenario_reconcile_sweep
from tests.support.scenarios.kills import scenario_fault_loop, scenario_kills
from tests.support.scenarios.leaks import scenario_secrets, scenario_twins
from tests.support.scenarios.machine import (
    scenario_full_disk,
    scenario_future_cursor,
    scenario_not_a_database,
    scenario_read_only,
    scenario_second_ingest,
)
from tests.support.scenarios.outcome import Outcome
from tests.support.scenarios.readers import scenario_first_start, scenario_readers
from tests.support.scenarios.responses import (
    BROKEN_RESPONSES,
    scenario_broken_response,
    scenario_hostile_records,
    scenario_reject_at_live_edge,
    scenario_reject_before_a_late_search,
)

# --- the catalogue ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    title: str
    run: Callable[[Path, str], Outcome]
    backend: str = "sqlite"
    known_issue: str | None = None  # a documented bug: the test is xfail(strict) with it


REJECT_LATE_ISSUE = (
    "ingest/records.py EventKeyer.reject_key anchors a record without a usable createTime to "
    "the next older valid record; a search that arrives late with a createTime between the "
    "two becomes the new anchor, so the next poll stores the malformed record again"
)

SCENARIOS: dict[str, Scenario] = {
    "kills": Scenario(
        "SIGKILL at 20 random moments of a backfill and its delta polls", scenario_kills
    ),
    "fault_loop": Scenario(
        "scheduled loop, 16 cycles and 60 faults or more: 10% 5xx, 5% 429, 2% fail-in-200, "
        "1% dropped, 1% malformed records, 3 s tokens, events added as it runs",
        scenario_fault_loop,
    ),
    **{
        f"broken_{kind}": Scenario(
            f"broken response: {case.title}",
            partial(scenario_broken_response, kind=kind),
        )
        for kind, case in BROKEN_RESPONSES.items()
    },
    "reject_at_live_edge": Scenario(
        "a malformed record that is the newest of one poll, then not",
        scenario_reject_at_live_edge,
    ),
    "reject_before_late_search": Scenario(
        "a late search arrives between a malformed record and the one before it",
        scenario_reject_before_a_late_search,
        known_issue=REJECT_LATE_ISSUE,
    ),
    "hostile_records_sqlite": Scenario(
        "hostile records: out-of-range times, lone surrogates, NULs, 6,000-character "
        "addresses, sources and types (SQLite)",
        scenario_hostile_records,
    ),
    "hostile_records_postgresql": Scenario(
        "hostile records: out-of-range times, lone surrogates, NULs, 6,000-character "
        "addresses, sources and types (PostgreSQL)",
        scenario_hostile_records,
        backend="postgresql",
    ),
    "readers_sqlite": Scenario(
        "dashboard queries every 50 ms while a 100k-event backfill is written (SQLite)",
        scenario_readers,
    ),
    "readers_postgresql": Scenario(
        "dashboard queries every 50 ms while a 100k-event backfill is written (PostgreSQL)",
        scenario_readers,
        backend="postgresql",
    ),
    "first_start_sqlite": Scenario(
        "two ingests and three dashboards start together on a new database (SQLite)",
        scenario_first_start,
    ),
    "first_start_postgresql": Scenario(
        "two ingests and three dashboards start together on a new database (PostgreSQL)",
        scenario_first_start,
        backend="postgresql",
    ),
    "second_ingest": Scenario("a second ingest while the loop backfills", scenario_second_ingest),
    "read_only_file": Scenario("read-only database file", partial(scenario_read_only, what="file")),
    "read_only_folder": Scenario(
        "read-only database folder", partial(scenario_read_only, what="folder")
    ),
    "full_disk_limit": Scenario(
        "disk full mid-backfill (file-size limit, EFBIG)",
        partial(scenario_full_disk, how="file-size limit"),
    ),
    "full_disk_tmpfs": Scenario(
        "disk full mid-backfill (a tmpfs, ENOSPC)", partial(scenario_full_disk, how="tmpfs")
    ),
    "not_a_database": Scenario("DB_PATH is not a database", scenario_not_a_database),
    "future_cursor": Scenario(
        "cursor a day in the future (clock skew)",
        scenario_future_cursor,
    ),
    "secrets": Scenario(
        "secrets at every log level, in status, errors and the database", scenario_secrets
    ),
    "twins": Scenario("5% identical twins, 3 overlapping polls", scenario_twins),
    "reconcile_sweep": Scenario(
        "reconciliation sweep: 49 searches reach the API 3 hours to 3 days late",
        scenario_reconcile_sweep,
    ),
    "offset_paging": Scenario(
        "offset paging with late inserts: searches land among the pages already read",
        scenario_offset_paging,
    ),
}


def run_scenario(key: str, folder: Path, url: str) -> Outcome:
    """Run one scenario in `folder` on the fresh database at `url`, leaving no ingest
    process behind; CannotRun if the machine lacks what it needs."""
    try:
        return SCENARIOS[key].run(folder, url)
    finally:
        reap_children()
