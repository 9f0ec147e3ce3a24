"""Detections measured on labelled data: recall per incident family and false alerts per
1,000 active user-days, on tuning seeds and on held-out seeds, plus timings.

    .venv/bin/python -m bench.detections --markdown docs/detections.md

Each seed is a labelled tenant (`ingest.simulator.incidents`): its searches are written
through the ingest's own store (parsed and keyed like the ingest does, rollups kept in the
same transaction), the cursor is set after the last day, `detect` scores every complete
day, and the alerts are compared with the answer key, which the detector never sees.
Thresholds were chosen on the tuning seeds only; the held-out seeds are reported as they
come out.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, select

from bench.checks import expect
from bench.synthetic import TENANT
from db.alerts import RULES
from db.engine import open_database
from db.models import ROLLUP_USER_DAY_TOTAL, Alert, SearchLog
from db.state.detection import forget_scored_days, set_scored_through
from ingest.detect.config import DetectionConfig
from ingest.detect.runner import detect
from ingest.simulator.incidents import LabelledTenant, labelled_tenant
from tests.support.detections import load_records

TUNING_SEEDS = (1, 2, 3)
HELD_OUT_SEEDS = (11, 12, 13)
END = date(2026, 11, 1)
"""A fixed end, so every run of the benchmark sees the same calendar."""


@dataclass
class SeedResult:
    seed: int
    searches: int
    active_user_days: int
    incidents: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    missed: list[str] = field(default_factory=list)
    false_by_rule: Counter[str] = field(default_factory=Counter)
    false_by_class: Counter[str] = field(default_factory=Counter)
    false_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0


def evaluate(seed: int, config: DetectionConfig, workdir: Path) -> SeedResult:
    tenant = labelled_tenant(seed, end=END)
    url = f"sqlite:///{workdir / f'labelled-{seed}.db'}"
    engine = open_database(url)
    try:
        end = datetime.combine(END, dtime(), UTC)
        searches = load_records(engine, tenant.records, end)
        result = detect(engine, TENANT, "UTC", config)
        alerts = _alerts(engine)
        first_scored = date.fromisoformat(result.first_day or END.isoformat())
        active = _active_user_days(engine, first_scored, tenant.key.last_day)
    finally:
        engine.dispose()
    scored = score(seed, tenant, alerts, searches, active, result.seconds)
    what = f"seed {seed}"
    expect(searches > 0 and active > 0, what, f"{searches} searches, {active} active user-days")
    expect(scored.incidents.total() > 0, what, "no incident planted: recall would be empty")
    expect(result.days_scored > 0, what, "detect scored no day")
    return scored


def _alerts(engine: Engine) -> list[tuple[str, str, date, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(Alert.rule, Alert.email_addr, Alert.day, Alert.summary))
        return [tuple(row) for row in rows]  # type: ignore[misc]


def _active_user_days(engine: Engine, first: date, last: date) -> int:
    low = (first - date(1970, 1, 1)).days
    high = (last - date(1970, 1, 1)).days
    table = ROLLUP_USER_DAY_TOTAL
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(table.c.bucket >= low, table.c.bucket <= high)
            ).scalar()
            or 0
        )


def score(
    seed: int,
    tenant: LabelledTenant,
    alerts: list[tuple[str, str, date, str]],
    searches: int,
    active: int,
    seconds: float,
) -> SeedResult:
    result = SeedResult(seed, searches, active, seconds=seconds)
    fired = {(rule, email, day) for rule, email, day, _ in alerts}
    for incident in tenant.key.incidents:
        result.incidents[incident.family] += 1
        if incident.detected_by(fired):  # a slow incident: on any of its days
            result.found[incident.family] += 1
        else:
            result.missed.append(
                f"seed {seed}: {incident.family} {incident.email} {incident.day} "
                f"(magnitude {incident.magnitude:g})"
            )
    kinds = {email: habit.kind for email, habit in tenant.habits.items()}
    for rule, email, day, summary in alerts:
        if tenant.key.abnormal(email, day):
            continue  # the day is abnormal: another rule firing on it is not a false alert
        result.false_by_rule[rule] += 1
        kind = kinds.get(email, "?")
        result.false_by_class["surge day" if day == tenant.key.surge_day else kind] += 1
        if len(result.false_examples) < 30:
            result.false_examples.append(f"seed {seed}: {rule} {email} ({kind}) {day}: {summary}")
    return result


def rescore_last_day(engine: Engine, config: DetectionConfig, last: date) -> tuple[float, int]:
    """Score `last` again three times (its alerts and mark undone each time): the median
    seconds, and how many users searched that day."""
    timings = []
    for _ in range(3):
        with engine.begin() as conn:
            conn.execute(delete(Alert).where(Alert.day == last))
            set_scored_through(conn, TENANT, last - timedelta(days=1))
        timings.append(detect(engine, TENANT, "UTC", config, through=last).seconds)
    with engine.connect() as conn:
        active = conn.execute(
            select(func.count()).where(
                ROLLUP_USER_DAY_TOTAL.c.bucket == (last - date(1970, 1, 1)).days
            )
        ).scalar()
    return sorted(timings)[1], int(active or 0)


def time_first_run(url: str, config: DetectionConfig) -> dict[str, Any]:
    """Detection from scratch over a large stored history (e.g. bench/generate.py's 1M)."""
    engine = open_database(url)
    try:
        with engine.begin() as conn:
            conn.execute(delete(Alert))
            forget_scored_days(conn, TENANT)
        with engine.connect() as conn:
            searches = conn.execute(select(func.count(SearchLog.id))).scalar()
        result = detect(engine, TENANT, "UTC", config)
        last = date.fromisoformat(result.last_day or END.isoformat())
        new_day_seconds, users = rescore_last_day(engine, config, last)  # one new day
    finally:
        engine.dispose()
    expect(searches and result.days_scored, url, f"{searches} searches, {result.days_scored} days")
    expect(users > 0, url, f"nobody searched on {last}, the day timed")
    return {
        "new_day_seconds": new_day_seconds,
        "new_day_users": users,
        "searches": searches,
        "days": result.days_scored,
        "alerts": result.alerts_found,
        "seconds": result.seconds,
    }


def time_new_day(people: int, workdir: Path, config: DetectionConfig) -> dict[str, Any]:
    """Scoring one new day of a tenant of `people` searchers, after the history is scored."""
    tenant = labelled_tenant(99, people=people, days=40, end=END, repeats=0)
    engine = open_database(f"sqlite:///{workdir / 'new-day.db'}")
    try:
        load_records(engine, tenant.records, datetime.combine(END, dtime(), UTC))
        detect(engine, TENANT, "UTC", config)
        last = tenant.key.last_day
        while last.weekday() >= 5:  # a working day: most people search
            last -= timedelta(days=1)
        seconds, active = rescore_last_day(engine, config, last)
        expect(active > 0, "the new day", f"nobody searched on {last}, the day timed")
    finally:
        engine.dispose()
    return {
        "people": people,
        "searches": len(tenant.records),
        "active_that_day": active,
        "seconds": seconds,  # the median of three
    }


def _rate(count: int, days: int) -> str:
    return f"{1000 * count / days:.2f}" if days else "—"


def table(title: str, results: list[SeedResult]) -> list[str]:
    incidents: Counter[str] = Counter()
    found: Counter[str] = Counter()
    false: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    for result in results:
        incidents.update(result.incidents)
        found.update(result.found)
        false.update(result.false_by_rule)
        classes.update(result.false_by_class)
    days = sum(result.active_user_days for result in results)
    lines = [
        f"### {title}: seeds {', '.join(str(r.seed) for r in results)}",
        "",
        f"{sum(r.searches for r in results):,} searches, {days:,} active user-days scored.",
        "",
        "| rule | incidents | detected | recall | false alerts | per 1,000 active user-days |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for rule in RULES:
        if rule == "missing_reason":
            continue
        planted = incidents[rule]
        recall = f"{100 * found[rule] / planted:.1f} %" if planted else "—"
        lines.append(
            f"| {rule} | {planted or '—'} | {found[rule] if planted else '—'} | {recall} | "
            f"{false[rule]} | {_rate(false[rule], days)} |"
        )
    total_planted, total_found = sum(incidents.values()), sum(found.values())
    lines.append(
        f"| **all** | {total_planted} | {total_found} | "
        f"{100 * total_found / max(1, total_planted):.1f} % | {sum(false.values())} | "
        f"{_rate(sum(false.values()), days)} |"
    )
    if classes:
        shown = ", ".join(f"{kind}: {count}" for kind, count in classes.most_common())
        lines += ["", f"False alerts by kind of searcher: {shown}."]
    missed = [line for result in results for line in result.missed]
    if missed:
        lines += ["", "Missed:", "", *[f"- {line}" for line in missed]]
    examples = [line for result in results for line in result.false_examples][:40]
    if examples:
        lines += ["", "False alerts (first few):", "", *[f"- `{line}`" for line in examples]]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tuning-seeds", type=int, nargs="*", default=list(TUNING_SEEDS))
    parser.add_argument("--held-out-seeds", type=int, nargs="*", default=list(HELD_OUT_SEEDS))
    parser.add_argument("--first-run-url", help="a large database (bench/generate.py) to time")
    parser.add_argument("--new-day-people", type=int, default=1000)
    parser.add_argument("--markdown", type=Path, help="write the report here")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    args = parser.parse_args()
    config = DetectionConfig()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="detections-") as folder:
        workdir = Path(folder)
        tuning = [evaluate(seed, config, workdir) for seed in args.tuning_seeds]
        held_out = [evaluate(seed, config, workdir) for seed in args.held_out_seeds]
        new_day = (
            time_new_day(args.new_day_people, workdir, config) if args.new_day_people else None
        )
    first_run = time_first_run(args.first_run_url, config) if args.first_run_url else None
    lines = ["## Quality", ""]
    for title, results in (("Held-out", held_out), ("Tuning", tuning)):
        if results:
            lines += [*table(title, results), ""]
    lines += ["## Timing", ""]
    if first_run:
        lines.append(
            f"- First run over {first_run['searches']:,} stored searches "
            f"({first_run['days']:,} days scored, {first_run['alerts']:,} alerts): "
            f"**{first_run['seconds']:.1f} s** (target ≤ 60 s); then one new day on that "
            f"history ({first_run['new_day_users']:,} users searched that day): "
            f"**{first_run['new_day_seconds']:.2f} s** (median of three)."
        )
    if new_day:
        lines.append(
            f"- One new day for a tenant of {new_day['people']:,} people "
            f"({new_day['active_that_day']:,} searched that day; {new_day['searches']:,} "
            f"searches stored): **{new_day['seconds']:.2f} s** (median of three; target ≤ 1 s)."
        )
    lines.append(f"- Whole benchmark: {time.perf_counter() - started:.0f} s.")
    report = "\n".join(lines)
    print(report)
    if args.json:
        print(json.dumps([r.__dict__ for r in tuning + held_out], default=str, indent=1))
    if args.markdown:
        args.markdown.write_text(_document(report, sys.argv), encoding="utf-8")


METHOD = """\
How it is measured. Each seed is a labelled tenant from `ingest/simulator/incidents.py`:
120 people with distinct habits (office staff, helpdesk, compliance, a night shift, rare
and heavy admins, new hires) plus the `<>` system sender and two API senders, over 120
days, with good and quiet days for the whole tenant and one incident-response surge on
which everyone searches three times their usual. On days 45 and later, each family is
planted at three magnitudes, twice (dormant: once silent for 35+ days, once never seen):
volume ×6, ×10, ×20 the user's usual; peer outliers ×4, ×6, ×10 the 95th percentile of
people's active days, by users in their first week; 12, 25, 50 searches between 01:00 and
04:00; 25, 50, 100 searches by a dormant or new address; 15, 30, 60 mailboxes never
targeted before; 3, 6, 12 searches for sensitive terms. No incident falls on the surge
day. The searches are written through the ingest's store; the answer key never reaches
the detector. `missing_reason` is off by default and not measured here.

An incident is detected when its rule raised an alert for that user on that day. A false
alert is an alert on a user-day with no planted incident (another rule firing on an
incident's day is not counted as false: the day is abnormal). An active user-day is a
user and day with at least one search, in the days scored (after the 14-day warm-up).

Thresholds were tuned on seeds 1, 2 and 3 only (and the tests' small tenants, seeds 5 and
8); seeds 11, 12 and 13 were run after the defaults were fixed, and are reported as they
came out. The labelled tenant is this project's own generator: the figures are only as
realistic as its habits (day counts drawn Poisson-gamma, fixed hours, one surge).

Timing: the first run is timed on `bench/generate.py`'s 1M database (3 years, 2,000 users,
no labels); a new day on a labelled tenant of 1,000 people over 40 days, on a weekday. The
machine has 2 cores shared with other work, and the new-day time moves with its load: our
runs measured 0.7 to 1.7 s (the 1.7 s with test suites running beside it), so the 1-second
target holds on a quiet machine only. What stands in the way of more headroom: a new day
reads 29 days of every user's hourly rollup (about 0.3 s at 1,000 people) and the text
history of the users whose day could fire a text rule (about 0.3 s); a per-user, per-day
features table kept by `detect` would remove both.
"""


def _document(report: str, argv: list[str]) -> str:
    command = " ".join([".venv/bin/python", "-m", "bench.detections", *argv[1:]])
    return "\n".join(
        [
            "# Detections measured",
            "",
            "Generated by (the 1M database is `python -m bench.generate --events 1000000`):",
            "",
            "```bash",
            command,
            "```",
            "",
            METHOD,
            report,
            "",
        ]
    )


if __name__ == "__main__":
    main()
