"""docs/reliability.md from the torture scenarios: runs every case of
`tests.support.scenarios` (or those whose key contains `-k`), each on a fresh database, and
writes the totals, a row per case and what does not pass yet. From the project root:

    .venv/bin/python -m bench.ingest_scenarios --markdown docs/reliability.md
    .venv/bin/python -m bench.ingest_scenarios -k kills       # one case, JSON on stdout

The report is written whatever the outcome; then a case that does not pass (outside the
known issues) makes the exit status 1, naming the first. PostgreSQL cases use
TEST_DATABASE_URL (a server URL), or a throw-away server started with
scripts/pg-temp.sh when `initdb` is on the machine; without either they are left out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench import rule_checks
from bench.checks import fail
from tests.support.backends import fresh_postgres_database
from tests.support.runtime import PROJECT_ROOT
from tests.support.scenarios.catalogue import SCENARIOS, run_scenario
from tests.support.scenarios.outcome import CannotRun, Outcome

COMMAND = ".venv/bin/python -m bench.ingest_scenarios --markdown docs/reliability.md"


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """TEST_DATABASE_URL, or a throw-away server from scripts/pg-temp.sh, or None."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    if not shutil.which("initdb"):
        yield None
        return
    port = 54400 + os.getpid() % 500
    script = (
        "source scripts/pg-temp.sh && pg_temp_start >/dev/null 2>&1 || exit 1; "
        'echo "$TEST_DATABASE_URL"; read -r _; pg_cleanup'
    )
    shell = subprocess.Popen(
        ["bash", "-c", script],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PG_TEMP_PORT": str(port)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert shell.stdin and shell.stdout
    try:
        yield shell.stdout.readline().strip() or None
    finally:
        shell.stdin.close()
        shell.wait(timeout=60)


def fresh_database_for(key: str, folder: Path, server: str | None) -> str:
    """A new database for a scenario: a SQLite file in `folder`, or one on `server`."""
    if SCENARIOS[key].backend != "postgresql":
        return f"sqlite:///{folder / 'data' / 'searchlogs.db'}"
    if server is None:
        raise CannotRun("no PostgreSQL server")
    return fresh_postgres_database(server, f"torture_{key}")


def _row(key: str, outcome: Outcome) -> str:
    figures = {name: value for name, value in outcome.figures.items() if name != "difference"}
    if outcome.rejects_doubled:
        figures["rejected twice"] = outcome.rejects_doubled
    details = "; ".join(f"{name} {value}" for name, value in figures.items())
    return (
        f"| {SCENARIOS[key].title} | {outcome.events_checked:,} | {outcome.lost:,} | "
        f"{outcome.duplicates:,} | {outcome.rejects_accounted:,} of {outcome.malformed_served:,} "
        f"| {outcome.faults:,} | {sum(outcome.rules.values())} of {len(outcome.rules)} | "
        f"{'yes' if not outcome.problems() else '**no**'} | {details} |"
    )


def _outside_known_issues(done: dict[str, Outcome], figure: str) -> str:
    """A total, split between the cases without and with a known issue."""
    known = sum(getattr(o, figure) for key, o in done.items() if SCENARIOS[key].known_issue)
    other = sum(getattr(o, figure) for key, o in done.items() if not SCENARIOS[key].known_issue)
    return f"{other:,}" + (f" ({known:,} more in the known issues below)" if known else "")


def markdown(results: dict[str, Outcome | str], seconds: float) -> str:
    """docs/reliability.md: the totals, a row per case, and what does not pass yet."""
    done = {key: o for key, o in results.items() if isinstance(o, Outcome)}
    left_out = {key: reason for key, reason in results.items() if isinstance(reason, str)}
    failing = [
        f"- **{SCENARIOS[key].title}**: {'; '.join(outcome.problems())}."
        + (f" Known issue: {SCENARIOS[key].known_issue}." if SCENARIOS[key].known_issue else "")
        for key, outcome in done.items()
        if outcome.problems()
    ]
    lines = [
        "# Reliability",
        "",
        "Regenerate this file (a few minutes on 2 cores) with:",
        "",
        "```bash",
        COMMAND,
        rule_checks.COMMAND + "   # the second part: access, audit, forwarding",
        "```",
        "",
        "Each case of `tests/support/scenarios/` runs the real CLI in child processes against",
        "the simulator on loopback (killing it, filling its disk, feeding it broken responses,",
        "reading the database while it writes) and then counts the database against the",
        "simulator's ground truth: every event served in the runs' window stored exactly once,",
        "every malformed record served in `rejected_records` exactly once, and every rule of the",
        "case held. The same cases are the `torture` tests (`tests/test_torture.py`), run by",
        "`scripts/test --full` and CI.",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d} on {platform.system()} with {os.cpu_count()} "
        f"cores, in {seconds / 60:.1f} minutes.",
        "",
        f"- **cases run**: {len(done)}",
        f"- **faults injected**: {sum(o.faults for o in done.values()):,}",
        f"- **events checked**: {sum(o.events_checked for o in done.values()):,}",
        f"- **events lost**: {_outside_known_issues(done, 'lost')}",
        f"- **duplicates**: {_outside_known_issues(done, 'duplicates')}",
        f"- **rejects accounted**: {sum(o.rejects_accounted for o in done.values()):,} of "
        f"{sum(o.malformed_served for o in done.values()):,} malformed records served, "
        f"{sum(o.rejects_unexplained for o in done.values())} rejects of records never served",
        f"- **rejected twice** (a malformed record stored again in `rejected_records`): "
        f"{_outside_known_issues(done, 'rejects_doubled')}",
        f"- **rules held**: {sum(sum(o.rules.values()) for o in done.values())} of "
        f"{sum(len(o.rules) for o in done.values())}",
        "",
        "| case | events checked | lost | duplicates | rejects accounted | faults injected "
        "| rules held | passed | details |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
        *(_row(key, outcome) for key, outcome in done.items()),
        "",
    ]
    if failing:
        lines += ["## Not passing yet", "", *failing, ""]
    if left_out:
        lines += [
            "Left out on this machine: "
            + "; ".join(f"{SCENARIOS[key].title} ({reason})" for key, reason in left_out.items())
            + ".",
            "",
        ]
    lines += [
        "Events of the last two minutes before the final poll are left out of the check: the",
        "simulator makes an on-time event visible up to a minute after its `createTime`.",
        "Faults injected counts what the simulator served on purpose (5xx, 429, fail-in-200,",
        "dropped connections, broken bodies, hostile records, 401s, refused tokens) and what",
        "was done to the ingest and its machine (SIGKILLs, a second ingest, a race for a new",
        "database, read-only files and folders, full disks, a file that is not a database, a",
        "cursor ahead of the clock, a wrong secret).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", metavar="PATH", help="write the results as markdown here")
    parser.add_argument("-k", dest="only", help="run only the cases whose key contains this")
    args = parser.parse_args()
    started = time.monotonic()
    results: dict[str, Outcome | str] = {}
    with postgres_server() as server:
        for key in SCENARIOS:
            if args.only and args.only not in key:
                continue
            with tempfile.TemporaryDirectory() as folder:
                try:
                    url = fresh_database_for(key, Path(folder), server)
                    results[key] = run_scenario(key, Path(folder), url)
                except CannotRun as exc:
                    results[key] = str(exc)
            result = results[key]
            verdict = result if isinstance(result, str) else "; ".join(result.problems()) or "ok"
            print(f"{key}: {verdict}", file=sys.stderr, flush=True)
    if not results:
        fail(f"no scenario key contains {args.only!r}: {', '.join(SCENARIOS)}")
    if args.markdown:
        path = Path(args.markdown)
        kept = rule_checks.block_of(path)  # the second part, written by bench.rule_checks
        text = markdown(results, time.monotonic() - started)
        path.write_text(text + (f"\n{kept}\n" if kept else ""))
    else:
        print(json.dumps({k: getattr(v, "__dict__", v) for k, v in results.items()}, indent=1))
    failing = [
        f"{key}: {'; '.join(outcome.problems())}"
        for key, outcome in results.items()
        if isinstance(outcome, Outcome) and outcome.problems() and not SCENARIOS[key].known_issue
    ]
    if failing:  # reported above; the exit status tells CI
        fail(f"{len(failing)} case(s) did not pass, first {failing[0]}")


if __name__ == "__main__":
    main()
