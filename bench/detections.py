"""Detections measured on labelled data from two generators: the project's own
(`ingest/simulator/incidents.py`, which the rules were tuned beside) and an independent one
(`bench/detgen`, written from a description of real behaviour without reading the rules).
Recall by incident size and class, false alerts per 1,000 active user-days overall, per
rule and per hard-negative class, plus timings.

    .venv/bin/python -m bench.detections --markdown docs/detections.md
    .venv/bin/python -m bench.detections --held-out 3   # random seeds, aggregates only

Each labelled tenant's searches are written through the ingest's own store
(`tests.support.detections.load_records`), `detect` scores every complete day, and the
alerts are compared with the answer key, which the detector never sees. Held-out seeds are
drawn from os.urandom at run time, never printed, and reported as aggregates only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from bench.checks import expect
from bench.detections_report import METHOD, report_lines
from bench.detections_timing import time_first_run, time_new_day
from bench.detgen.score import EVERYONE, Fired, Planted, Tally, Window, tally
from bench.detgen.world import LAST_DAY, world
from bench.synthetic import TENANT
from db.engine import open_database
from db.models import Alert
from ingest.detect.config import DetectionConfig
from ingest.detect.runner import detect
from ingest.simulator.incidents import labelled_tenant
from tests.support.detections import load_records

PROJECT_SEEDS = (1, 2, 3)
"""The project generator's tuning seeds: the rules were tuned on these."""
DETGEN_SEEDS = (1, 2)
"""The independent generator's development seeds (printed; nobody tunes on them)."""
END = date(2026, 11, 1)
"""A fixed end, so every run of the benchmark sees the same calendar."""

PROJECT_SIZE = {
    # the project generator's magnitudes (docs/detections.md) over today's thresholds
    "volume_spike": 4.0,  # x the usual day, against x 4
    "peer_outlier": 2.5,  # x the peers' 95th percentile, against x 2.5
    "unusual_time": 10.0,
    "dormant_searcher": 20.0,
    "breadth": 12.0,
    "sensitive_terms": 2.0,
}


def fired_alerts(engine: Engine, tenant: str) -> list[Fired]:
    """The tenant's alerts, except withdrawn ones (an alert that no longer fires)."""
    query = select(Alert.email_addr, Alert.day, Alert.rule, Alert.summary).where(
        Alert.tenant == tenant, Alert.status != "withdrawn"
    )
    with engine.connect() as conn:
        return [Fired(tenant, *row) for row in conn.execute(query)]


def active_days(
    records: list[dict[str, object]], tenant: str, zone: ZoneInfo, first: date, last: date
) -> set[tuple[str, str, date]]:
    """(tenant, person, local day) with at least one search, from `first` to `last`."""
    found = set()
    for record in records:
        stamp = str(record["createTime"]).replace("+0000", "+00:00")
        day = datetime.fromisoformat(stamp).astimezone(zone).date()
        if first <= day <= last:
            found.add((tenant, str(record["emailAddr"]).lower(), day))
    return found


def run_project(seed: int, config: DetectionConfig, workdir: Path, label: str) -> Tally:
    """One seed of the project's generator with issue 17's harder cases: one tenant in UTC;
    its hard-negative classes are the surge day, the hard cases' classes and the kinds of
    searcher."""
    labelled = labelled_tenant(seed, end=END, hard=True)
    engine = open_database(f"sqlite:///{workdir / f'project-{seed}.db'}")
    try:
        cursor = datetime.combine(END, dtime(), UTC)
        stored = load_records(engine, labelled.records, cursor)
        result = detect(engine, TENANT, "UTC", config)
        alerts = fired_alerts(engine, TENANT)
    finally:
        engine.dispose()
    expect(result.days_scored > 0, f"project seed {label}", "detect scored no day")
    first = date.fromisoformat(result.first_day or END.isoformat())
    key = labelled.key
    planted = [
        Planted(  # a slow incident spans its days, from `start`
            TENANT,
            i.email,
            i.start or i.day,
            i.day,
            i.family,
            i.magnitude / PROJECT_SIZE.get(i.family, 1.0),
        )
        for i in key.incidents
    ]
    windows = [Window(TENANT, "surge day", (EVERYONE,), key.surge_day, key.surge_day)]
    kinds: dict[str, list[str]] = {}
    for email, habit in labelled.habits.items():
        kinds.setdefault(habit.kind, []).append(email)
    windows += [
        Window(TENANT, kind, tuple(who), first, key.last_day) for kind, who in kinds.items()
    ]
    windows += [
        Window(TENANT, kind, who, first, key.last_day) for kind, who in key.negatives.items()
    ]
    days = active_days(labelled.records, TENANT, ZoneInfo("UTC"), first, key.last_day)
    scored = tally(planted, windows, alerts, days, label)
    scored.searches = stored
    return scored


def run_detgen(
    seed: int, config: DetectionConfig, workdir: Path, label: str, only: tuple[str, ...] = ()
) -> Tally:
    """One seed of the independent generator: its tenants (or those in `only`) in one
    database, each scored in its own time zone."""
    total = Tally()
    engine = open_database(f"sqlite:///{workdir / f'detgen-{label or seed}.db'}")
    try:
        cursor = datetime.combine(LAST_DAY + timedelta(days=2), dtime(), UTC)
        for generated in world(seed, only):
            key = generated.key
            stored = load_records(engine, generated.records, cursor, tenant=key.name)
            result = detect(engine, key.name, key.zone, config)
            expect(result.days_scored > 0, f"detgen {label}{key.name}", "detect scored no day")
            first = date.fromisoformat(result.first_day or key.first_day.isoformat())
            planted = [
                Planted(key.name, i.person, i.first_day, i.last_day, i.klass, i.size)
                for i in key.incidents
            ]
            windows = [
                Window(key.name, n.klass, n.persons, n.first_day, n.last_day)
                for n in sorted(key.negatives, key=lambda n: EVERYONE in n.persons)
            ]
            zone = ZoneInfo(key.zone)
            days = active_days(generated.records, key.name, zone, first, key.last_day)
            scored = tally(planted, windows, fired_alerts(engine, key.name), days, label)
            scored.searches = stored
            total.add(scored)
    finally:
        engine.dispose()
    return total


def held_out_seeds(count: int) -> list[int]:
    """`count` seeds nobody has seen: drawn at run time, never printed nor stored."""
    return [int.from_bytes(os.urandom(4), "big") for _ in range(count)]


def measure(
    runner: object, seeds: list[int], config: DetectionConfig, workdir: Path, hidden: bool
) -> Tally:
    total = Tally()
    for n, seed in enumerate(seeds):
        label = f"held-out #{n + 1} " if hidden else f"seed {seed} "
        total.add(runner(seed, config, workdir, label))  # type: ignore[operator]
    if hidden:  # aggregates only: the lists name people and days of the hidden seeds
        total.missed, total.false_examples = [], []
    return total


GENERATORS = {
    "detgen": "Independent generator (`bench/detgen`)",
    "project": "Project generator (`ingest/simulator/incidents.py`)",
}


def run_sections(
    args: argparse.Namespace, config: DetectionConfig, workdir: Path
) -> list[tuple[str, Tally]]:
    """Each generator asked for: its named seeds, then its held-out seeds if any."""
    runners = {"detgen": partial(run_detgen, only=tuple(args.tenants)), "project": run_project}
    named = {"detgen": args.detgen_seeds, "project": args.project_seeds}
    sections = []
    for generator in args.generators:
        title = GENERATORS[generator]
        if named[generator]:
            shown = ", ".join(map(str, named[generator]))
            result = measure(runners[generator], named[generator], config, workdir, False)
            sections.append((f"{title}, seeds {shown}", result))
        if args.held_out:
            hidden = held_out_seeds(args.held_out)
            result = measure(runners[generator], hidden, config, workdir, True)
            sections.append((f"{title}, {args.held_out} held-out seeds drawn at random", result))
    return sections


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--project-seeds", "--tuning-seeds", type=int, nargs="*", default=list(PROJECT_SEEDS)
    )
    parser.add_argument("--detgen-seeds", type=int, nargs="*", default=list(DETGEN_SEEDS))
    parser.add_argument(
        "--held-out",
        type=int,
        default=0,
        metavar="N",
        help="also N seeds of each generator drawn at random now (aggregates only)",
    )
    parser.add_argument(
        "--generators", nargs="*", choices=("detgen", "project"), default=["detgen", "project"]
    )
    parser.add_argument(
        "--tenants", nargs="*", default=[], help="only these of bench/detgen's tenants (quick runs)"
    )
    parser.add_argument("--first-run-url", help="a large database (bench/generate.py) to time")
    parser.add_argument("--new-day-people", type=int, default=1000)
    parser.add_argument("--markdown", type=Path, help="write the report here")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    config = DetectionConfig()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="detections-") as folder:
        workdir = Path(folder)
        sections = run_sections(args, config, workdir)
        new_day = (
            time_new_day(args.new_day_people, workdir, config) if args.new_day_people else None
        )
    first_run = time_first_run(args.first_run_url, config) if args.first_run_url else None
    report = "\n".join(report_lines(sections, new_day, first_run, time.perf_counter() - started))
    print(report)
    if args.markdown:
        given = sys.argv[1:] if argv is None else argv
        command = " ".join([".venv/bin/python", "-m", "bench.detections", *given])
        args.markdown.write_text(_document(report, command), encoding="utf-8")


def _document(report: str, command: str) -> str:
    return "\n".join(
        [
            "# Detections measured",
            "",
            "Generated by:",
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
