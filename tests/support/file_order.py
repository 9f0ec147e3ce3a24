"""The longest test files first, so two workers finish together.

`scripts/test` runs the suite in workers that each take whole files (`--dist loadfile`).
xdist hands out files in collection order when asked not to reorder them (its own reorder
puts the files with the most tests first, which sent the few long property and torture
cases last and left one worker running them alone). Ordering by each file's seconds in a
recent full run is the classic longest-first rule. The figures only order the run: a
stale or missing figure makes it slower, never different. `python -m
tests.support.file_order LOG` rewrites them from a run made with `--durations=0`.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest

SECONDS = Path(__file__).resolve().parent / "file_seconds.json"
DEFAULT_SECONDS_PER_TEST = 2.0
"""For a file the figures do not know yet: about the suite's mean."""


def file_seconds() -> dict[str, float]:
    try:
        return {k: float(v) for k, v in json.loads(SECONDS.read_text("utf-8")).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Stable sort of the items by their file's expected seconds, longest first; the order
    inside a file is kept."""
    known = file_seconds()
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item.nodeid.split("::")[0]] += 1

    def expected(item: pytest.Item) -> tuple[float, str]:
        path = item.nodeid.split("::")[0]
        return (-known.get(path, counts[path] * DEFAULT_SECONDS_PER_TEST), path)

    items.sort(key=expected)


LINE = re.compile(r"^\s*([\d.]+)s (?:setup|call|teardown)\s+(\S+?)::")


def seconds_from_log(text: str) -> dict[str, float]:
    """Per file: the sum of setup, call and teardown seconds in pytest's durations list."""
    totals: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        match = LINE.match(line)
        if match:
            totals[match.group(2)] += float(match.group(1))
    return {path: round(total, 1) for path, total in sorted(totals.items())}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.support.file_order LOG (a run with --durations=0)")
        return 2
    totals = seconds_from_log(Path(argv[0]).read_text("utf-8", errors="replace"))
    if not totals:
        print(f"no durations in {argv[0]}: run pytest with --durations=0", file=sys.stderr)
        return 1
    SECONDS.write_text(json.dumps(totals, indent=1, sort_keys=True) + "\n", "utf-8")
    print(f"{len(totals)} files, {sum(totals.values()):.0f} s in all, written to {SECONDS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
