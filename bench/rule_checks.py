"""The second part of docs/reliability.md: the rules that are not ingest scenarios — sign-in
that fails closed, downloads that cannot escape the audit trail, forwarding through
outages — each checked by named tests, run now, and reported with their outcome. From the
project root:

    .venv/bin/python -m bench.rule_checks --markdown docs/reliability.md

It replaces the part between its markers in that file and leaves the rest (written by
`bench.ingest_scenarios`) as it is. A node id no test answers to fails the run at once (a
renamed test would leave a row that says nothing); a rule that does not hold is reported
and then makes the exit status 1. `--area` runs only some rules. Tests that start the
product need RUNTIME_PYTHON (as `scripts/test` exports it); the PostgreSQL ones need
TEST_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from pathlib import Path

from bench.access_rules import RULES, Rule
from bench.checks import fail
from tests.support.runtime import PROJECT_ROOT

COMMAND = ".venv/bin/python -m bench.rule_checks --markdown docs/reliability.md"
START, END = "<!-- rule-checks:start -->", "<!-- rule-checks:end -->"


def run_tests(node_ids: list[str]) -> dict[str, list[str]]:
    """Run the tests once; for each node id given, the outcomes of its cases."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "junit.xml"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-o",
                "addopts=",
                f"--junitxml={report}",
                *node_ids,
            ],
            cwd=PROJECT_ROOT,
            check=False,
        )
        if not report.exists():
            fail("pytest wrote no report: the tests could not be collected (run them to see why)")
        tree = ElementTree.parse(report)
    outcomes: dict[str, list[str]] = {node: [] for node in node_ids}
    for case in tree.iter("testcase"):
        module = case.get("classname", "").replace(".", "/") + ".py"
        name = case.get("name", "").split("[")[0]
        verdict = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                verdict = "failed"
            elif child.tag == "skipped":
                verdict = "skipped"
        node = f"{module}::{name}"
        if node in outcomes:
            outcomes[node].append(verdict)
    return outcomes


def holds(rule: Rule, outcomes: dict[str, list[str]]) -> bool:
    """Every case of the rule's tests ran and passed."""
    verdicts = [v for test in rule.tests for v in outcomes.get(test, [])]
    return bool(verdicts) and all(verdict == "passed" for verdict in verdicts)


def markdown(
    outcomes: dict[str, list[str]], seconds: float, rules: tuple[Rule, ...] | list[Rule] = RULES
) -> str:
    """The block that goes between the markers."""
    lines = [
        START,
        "## Access, audit and forwarding",
        "",
        "Each rule below is held by the tests named in its row, run together by one "
        f"command (`{COMMAND}`, {seconds / 60:.1f} minutes on "
        f"{datetime.now(UTC):%Y-%m-%d}); a row passes when every case of its tests passed.",
        "",
        "| area | rule | tests | cases passed | holds |",
        "|---|---|---|---:|---|",
    ]
    for rule in rules:
        verdicts = [v for test in rule.tests for v in outcomes.get(test, [])]
        passed = verdicts.count("passed")
        names = "<br>".join(f"`{test.split('::')[1]}`" for test in rule.tests)
        lines.append(
            f"| {rule.area} | {rule.rule} | {names} | {passed} of {len(verdicts)} | "
            f"{'yes' if holds(rule, outcomes) else '**no**'} |"
        )
    lines += ["", END]
    return "\n".join(lines)


def block_of(path: Path) -> str:
    """The block between the markers of `path`, or "" (kept when the scenarios rewrite it)."""
    text = path.read_text() if path.exists() else ""
    if START not in text or END not in text:
        return ""
    return START + text.split(START, 1)[1].split(END, 1)[0] + END


def write_block(path: Path, block: str) -> None:
    """Put `block` between the markers of `path` (at its end the first time)."""
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", metavar="PATH", help="put the table in this file")
    parser.add_argument("--area", default="", help="only the rules whose area contains this")
    args = parser.parse_args()
    started = time.monotonic()
    rules = [rule for rule in RULES if args.area in rule.area]
    if not rules:
        fail(f"no rule's area contains {args.area!r}")
    outcomes = run_tests(sorted({test for rule in rules for test in rule.tests}))
    unknown = [test for test, verdicts in outcomes.items() if not verdicts]
    if unknown:  # a renamed or deleted test: its row would say nothing true
        fail(f"no test ran for {unknown[0]} ({len(unknown)} such node ids)")
    block = markdown(outcomes, time.monotonic() - started, rules)
    if args.markdown:
        write_block(Path(args.markdown), block)
    else:
        print(block)
    broken = [rule for rule in rules if not holds(rule, outcomes)]
    if broken:  # reported above; the exit status tells CI
        fail(f"{len(broken)} rule(s) do not hold, first: {broken[0].area}: {broken[0].rule}")


if __name__ == "__main__":
    main()
