"""Completeness: searches that arrive days late, and pages that shift under offset paging."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine

from ingest.client import format_api_time
from ingest.simulator import SimConfig, Simulator
from tests.support.scenarios.children import Ingest, state
from tests.support.scenarios.counting import EventFeed, tally
from tests.support.scenarios.outcome import Outcome
from tests.support.truth import runs, stored_records, wait_until

# --- completeness: searches days late, pages that shift ----------------------------------


def days_late_searches(now: datetime, rng: random.Random, stored: list[dict]) -> list[dict]:
    """Searches created 3 hours to 3 days ago that reach the API only now: beyond
    LOOKBACK_SECONDS, so no delta poll can see them. Some are late twins of stored searches,
    some twins of each other."""
    late: list[dict] = []
    for i in range(40):
        created = now - timedelta(seconds=rng.randint(3 * 3600, 3 * 86_400 - 3600))
        record = {
            "createTime": format_api_time(created),
            "emailAddr": f"late{i % 5}@example.com",
            "source": "archive",
            "searchText": f"[Late : {i}]",
            "searchReason": "",
            "description": "Message Tracking Search",
        }
        late.append(record)
        if i % 10 == 0:
            late.append(dict(record))  # two identical searches, both late
    late += [dict(record) for record in rng.sample(stored, 5)]  # late twins of stored ones
    return late


def age_runs(url: str, kind: str, hours: float) -> None:
    """Make the runs of `kind` look `hours` older: a sweep is due a day after the last one
    (or after the backfill), and a scenario cannot wait a day."""
    from db.models import IngestRun

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            table = IngestRun.__table__
            rows = conn.execute(table.select().where(table.c.kind == kind)).mappings().all()
            for row in rows:
                older = row["started_at"] - timedelta(hours=hours)
                conn.execute(table.update().where(table.c.id == row["id"]).values(started_at=older))
    finally:
        engine.dispose()


def scenario_reconcile_sweep(folder: Path, url: str) -> Outcome:
    """49 searches (5 of them twins of stored ones) reach the API 3 hours to 3 days after
    their createTime, beyond LOOKBACK_SECONDS: delta polls cannot see them. The scheduled
    loop's daily sweep stores them, once, without moving the cursor; a restart does not
    sweep again, and `python -m ingest reconcile` afterwards finds nothing new."""
    outcome = Outcome()
    rng = random.Random(505)
    config = SimConfig(seed=505, days=6, events_per_day=1500, late_fraction=0.0)
    with Simulator(config) as sim:
        ingest = Ingest(sim, folder, url, INITIAL_BACKFILL_DAYS="4", POLL_SECONDS="1")
        outcome.rule("the backfill exits 0", ingest.run("run", "--once").returncode == 0)
        now = datetime.now(UTC)
        beyond_lookback = (now - timedelta(days=2, hours=12), now - timedelta(hours=3))
        stored = [json.loads(raw) for raw in stored_records(url, *beyond_lookback)]
        late = days_late_searches(now, rng, stored)
        sim.add_events(late)
        outcome.faults += len(late)
        # Not `inserted == 0`: the simulator's clock runs, so searches made since the
        # backfill are new to this poll (a slow backfill on a loaded CI machine left some);
        # what it must not store is anything in the late searches' range.
        late_range = (now - timedelta(days=4), now - timedelta(hours=3))
        held = sum(stored_records(url, *late_range).values())
        delta = ingest.run("run", "--once")
        outcome.rule("a delta poll exits 0", delta.returncode == 0)
        still = sum(stored_records(url, *late_range).values())
        outcome.rule("the delta poll cannot see them", still == held)
        age_runs(url, "bootstrap", 25)
        with EventFeed(sim, seed=505, interval=1.0, batch=5) as feed:
            for _start in range(2):  # the loop, then the loop restarted
                known = len(runs(url))
                child = ingest.spawn("run")
                wait_until(lambda k=known: len(runs(url)) >= k + 4, timeout=90)
                outcome.rule("SIGTERM stops the loop with exit 0", child.stop() == 0)
        sweeps = [run for run in runs(url) if run.kind == "reconcile"]
        outcome.rule("the loop swept once, and not again after a restart", len(sweeps) == 1)
        sweep = sweeps[0] if sweeps else None
        outcome.rule("the sweep succeeded", sweep is not None and sweep.status == "ok")
        found = sweep.inserted if sweep else 0
        outcome.rule("the sweep stored every search that came days late", found == len(late))
        before = state(url)
        again = ingest.run("reconcile")
        outcome.rule("`reconcile` exits 0", again.returncode == 0)
        outcome.rule("a sweep leaves the cursor where it was", state(url) == before)
        outcome.rule("a second sweep finds nothing new", runs(url)[-1].inserted == 0)
        final = ingest.run("run", "--once")
        outcome.rule("a poll after the sweeps exits 0", final.returncode == 0)
        tally(outcome, sim, url)
        outcome.figures.update(
            {
                "searches days late": len(late),
                "stored by the sweep": found,
                "re-read by the sweep": sweep.fetched if sweep else 0,
                "events added while running": feed.added,
            }
        )
    return outcome


def scenario_offset_paging(folder: Path, url: str) -> Outcome:
    """The API pages by plain offset (each page cut afresh), and searches land inside the
    window being read, among the pages already read: every later page shifts and one record
    is served twice. The ingest notices (totalCount changes, or a page repeats the one
    before it, which changed), reads the window again, and stores exactly the truth."""
    outcome = Outcome()
    config = SimConfig(seed=606, days=3, events_per_day=3000, late_fraction=0.0, paging="offset")
    with Simulator(config) as sim:
        ingest = Ingest(sim, folder, url, INITIAL_BACKFILL_DAYS="2")
        now = datetime.now(UTC) - timedelta(seconds=5)
        inserts = {  # page served -> createTime (inside the window then being read)
            5: now - timedelta(days=1, minutes=2),
            12: now - timedelta(days=1, minutes=3),
            45: now - timedelta(minutes=4),
        }
        for page, created in inserts.items():
            search = {
                "createTime": format_api_time(created),
                "emailAddr": "mid.window@example.com",
                "source": "archive",
                "searchText": f"[Landed after page : {page}]",
                "searchReason": "",
                "description": "Message Tracking Search",
            }
            sim.add_events_after_pages(page, [search])
        outcome.faults += len(inserts)
        backfill = ingest.run("run", "--once")
        outcome.rule("the backfill exits 0", backfill.returncode == 0)
        notes = json.loads(runs(url)[-1].notes or "{}")
        rereads = notes.get("rereads", [])
        outcome.rule("windows whose pages shifted were read again", len(rereads) >= 2)
        in_the_delta = datetime.now(UTC) - timedelta(seconds=150)
        landing = {**search, "createTime": format_api_time(in_the_delta), "searchText": "delta"}
        sim.add_events_after_pages(1, [landing])  # after the delta poll's first page
        outcome.faults += 1
        time.sleep(1)
        delta = ingest.run("run", "--once")
        outcome.rule("a delta poll exits 0", delta.returncode == 0)
        delta_notes = json.loads(runs(url)[-1].notes or "{}")
        outcome.rule(
            "the delta poll read its window again", len(delta_notes.get("rereads", [])) >= 1
        )
        tally(outcome, sim, url)
        outcome.figures.update(
            {
                "searches landed mid-window": len(inserts) + 1,
                "windows read again": len(rereads) + len(delta_notes.get("rereads", [])),
            }
        )
    return outcome
