"""The benchmarks in bench/ run, and refuse to print figures for answers they did not get.
They run as commands: the tests never import `bench`.

Each benchmark runs its smallest mode here (a tiny database, a few calls), so one that rots
fails the full suite instead of printing nonsense; and a benchmark fed a setting the product
refuses, or a server that answers with errors, exits non-zero with the reason in one line
(issue 21: every figure of the API benchmark was the time of a 503).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM
from tests.support.runtime import PROJECT_ROOT

EVENTS = 5_000


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated database of 5,000 searches by 60 users over three years."""
    path = tmp_path_factory.mktemp("bench") / "tiny.db"
    made = bench("generate", "--events", str(EVENTS), "--users", "60", "--seed", "7",
                 "--url", f"sqlite:///{path}")  # fmt: skip
    assert made.returncode == 0, made.stderr[-2000:]
    return path


def bench(module: str, *args: str, timeout: float = 540) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line_reason(done: subprocess.CompletedProcess[str]) -> str:
    """The reason a benchmark gave for stopping: exit 1, one line, no traceback."""
    assert done.returncode == 1, (done.returncode, done.stdout[-500:], done.stderr[-1500:])
    assert "Traceback" not in done.stderr, done.stderr[-1500:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-1500:]
    return lines[0]


def test_a_setting_out_of_range_stops_the_api_benchmark_with_the_products_message(
    tiny_db: Path,
) -> None:
    done = bench(
        "api", "--url", f"sqlite:///{tiny_db}", "--setting", "POLL_SECONDS=100000000",
        "--calls", "1", "--clients", "0",
    )  # fmt: skip
    assert one_line_reason(done) == (
        "benchmark failed: the product refuses the benchmark's settings: "
        "POLL_SECONDS must be at most 604800 (at least 1), got 100000000"
    )
    assert done.stdout == ""  # no figure


def test_a_display_zone_the_product_refuses_stops_the_dashboard_benchmark(tiny_db: Path) -> None:
    done = bench("dashboard", "--url", f"sqlite:///{tiny_db}", "--tz", "Mars/Olympus")
    assert one_line_reason(done) == (
        "benchmark failed: the product refuses the benchmark's settings: DISPLAY_TZ must be "
        "an IANA time zone such as UTC or Europe/London, got 'Mars/Olympus'"
    )
    assert done.stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("setting", "answer"),
    [
        ("API_RATE_LIMIT=1", "HTTP 429, expected 200"),  # refuses every call after the first
        ("DATABASE_URL=sqlite:///{file}/api.db", "HTTP 503, expected 200"),  # cannot open it
    ],
)
def test_a_server_that_answers_with_errors_fails_the_api_benchmark_with_the_reason(
    tiny_db: Path, tmp_path: Path, setting: str, answer: str
) -> None:
    (tmp_path / "file").write_text("a file where the server wants a folder")
    done = bench(
        "api", "--url", f"sqlite:///{tiny_db}", "--setting", setting.format(file=tmp_path / "file"),
        "--calls", "3", "--clients", "2", "--seconds", "2",
    )  # fmt: skip
    reason = one_line_reason(done)
    assert reason.startswith("benchmark failed: searches-per-day, 30 days, uncached: ")
    assert answer in reason
    assert " p50 " not in done.stdout  # not one figure printed


@pytest.mark.slow
def test_the_api_benchmark_checks_every_answer_of_its_smallest_run(tiny_db: Path) -> None:
    done = bench(
        "api", "--url", f"sqlite:///{tiny_db}", "--calls", "2", "--clients", "2", "--seconds", "2"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = done.stdout.strip().splitlines()
    assert sum(" p50 " in line for line in figures) == 17  # every endpoint, readyz and metrics
    load = json.loads(figures[-1])
    assert load["errors"] == 0 and load["calls_ok"] > 0


SMALLEST = {
    "dashboard": ("--url", "sqlite:///{db}", "--repeats", "1", "--explain", "1"),
    "detections": (
        "--project-seeds",
        "1",
        "--detgen-seeds",
        "1",
        "--tenants",
        "brightwell",
        "--new-day-people",
        "30",
    ),
    "forward": ("--events", "2000", "--db", "{tmp}/forward.db", "--modes", "file"),
    "ingest_backfill": ("--events", "2000", "--days", "2"),
    "ingest_scenarios": ("-k", "broken_logs_null"),
    "rule_checks": ("--area", "alerts delivered"),
}


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("module", sorted(SMALLEST))
def test_each_benchmark_runs_its_smallest_mode(tiny_db: Path, tmp_path: Path, module: str) -> None:
    args = [arg.format(db=tiny_db, tmp=tmp_path) for arg in SMALLEST[module]]
    done = bench(module, *args)
    assert done.returncode == 0, (done.stdout[-1000:], done.stderr[-2000:])
    assert "benchmark failed" not in done.stderr


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing")
def test_the_browser_benchmark_runs_its_smallest_mode(tiny_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "browser.db"
    shutil.copy(tiny_db, copy)  # it moves the cursor's time, as a poll does
    done = bench("dashboard_browser", "--db", str(copy))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| status | 5k |" in done.stdout


TENANTS_SMALLEST = ("--tenants", "3", "--users", "20", "--days", "10", "--events-per-tenant", "500")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_tenants_benchmark_times_only_answers_identical_to_the_tenant_alone(
    tmp_path: Path,
) -> None:
    done = bench("tenants_pages", *TENANTS_SMALLEST, "--repeats", "1", "--folder", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "tenant tenant-01: 500 searches; 19 answers identical on both databases" in done.stdout
    assert "| **every page's data, summed** |" in done.stdout
    assert "Ratio of the summed medians: " in done.stdout


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_search_leaked_into_the_tenant_stops_the_tenants_benchmark(tmp_path: Path) -> None:
    made = bench("tenants_pages", *TENANTS_SMALLEST, "--repeats", "1", "--folder", str(tmp_path))
    assert made.returncode == 0, made.stderr[-2000:]
    # The shared database gains one of tenant-02's searches (its heaviest user's latest,
    # an address tenant-01 has too) under tenant-01: what a missing scope would show.
    with sqlite3.connect(tmp_path / "all.db") as conn:
        conn.execute(
            "UPDATE search_logs SET tenant = 'tenant-01', event_key = 'leaked' WHERE id = ("
            " SELECT id FROM search_logs WHERE tenant = 'tenant-02'"
            " AND email_addr = 'admin@example.com' ORDER BY create_time DESC LIMIT 1)"
        )
    done = bench("tenants_pages", *TENANTS_SMALLEST, "--reuse", "--folder", str(tmp_path))
    reason = one_line_reason(done)
    assert reason.startswith("benchmark failed: user: heaviest, ")
    assert reason.endswith("differs from its answer alone")
    assert "Ratio" not in done.stdout  # not one figure printed


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_tenants_cycle_benchmark_checks_every_tenant_of_its_smallest_run() -> None:
    done = bench("tenants_cycle", "--tenants", "3", "--days", "2", "--events-per-day", "50")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backfill"]["events"] > 0 and result["backfill"]["token_requests"] >= 3
    assert result["delta"]["search_requests"] >= 3  # every tenant polled again
