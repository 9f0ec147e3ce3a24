"""Benchmark: the dashboard in a browser at scale — time to the first figure, server memory.

Starts `streamlit run streamlit_app.py` on a database made by `bench/generate.py`, opens
every route in headless Chromium twice — first on the fresh server (each page fills its
caches; the first page also pays for the engine and the sidebar's filter options), then
again with every answer cached — and reports the milliseconds from `page.goto` until the
page's heading and first metric are visible ("content") and until its script run has
finished ("settled"). Then reads the server's peak resident memory (VmHWM).

    .venv/bin/python -m bench.dashboard_browser --db /tmp/bench1m.db
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.checks import expect, fail, product_settings
from bench.dashboard_cases import Probe, probe_database
from bench.dashboard_report import size_label
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    free_port,
    settle,
    start_dashboard,
    stop_dashboard,
    wait_for_content,
    wait_healthy,
)

TIMEOUT_MS = 300_000


def routes(probe: Probe) -> dict[str, tuple[str, str]]:
    """Route name → (path and query, page heading), for the probe's user and day."""
    today = date.fromisoformat(probe.today)
    whole = f"from={probe.first_day}&to={probe.today}"
    return {
        "summary, last 30 days": ("/", "Searches by user"),
        "summary, all time": (f"/?{whole}", "Searches by user"),
        "user: heaviest, last 30 days": (f"/user?email={probe.heavy}", "User history"),
        "user: heaviest, all time": (f"/user?email={probe.heavy}&{whole}", "User history"),
        "calendar: month": (f"/calendar?month={today:%Y-%m}", "Calendar"),
        "calendar: year": (f"/calendar?year={today.year}", "Calendar"),
        "day: busiest": (f"/day?date={probe.busy_day}", "Day"),
        "status": ("/status", "Ingest status"),
    }


def memory_kb(pid: int) -> dict[str, int]:
    """VmHWM (peak) and VmRSS (now) of a process, in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0])
    return fields


def pretend_a_poll(db: Path) -> None:
    """Move the cursor's timestamp as a poll does: a new data version, so every cached
    answer misses — what a visitor meets after each poll, on a server already running."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE kv SET updated_at = ? WHERE key = 'last_polled_end_utc'",
            (datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),),
        )


PROBLEMS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
"""What a page shows instead of its data when something failed."""


def shown(page: Page, name: str, title: str, *, settled: bool = False) -> None:
    """Wait for the page's content (or its run's end); a page that never shows it fails
    the run in one line, naming what it shows instead."""
    try:
        if settled:
            settle(page, timeout=TIMEOUT_MS)
        else:
            wait_for_content(page, title, timeout=TIMEOUT_MS)
    except PlaywrightTimeout:
        problems = page.locator(PROBLEMS)
        seen = problems.first.inner_text()[:150] if problems.count() else "nothing"
        fail(f"{name}: no {title!r} page within {TIMEOUT_MS / 1000:.0f} s; it shows {seen!r}")


def measure(db: Path, tz: str) -> dict[str, Any]:
    env = {
        "DB_PATH": str(db),
        "DATABASE_URL": f"sqlite:///{db}",
        "DISPLAY_TZ": tz,
        "POLL_SECONDS": "3600",
    }
    product_settings(env)  # an out-of-range value stops here, in the product's words
    probe = probe_database(f"sqlite:///{db}", tz)
    paths = routes(probe)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    timings: dict[str, dict[str, float]] = {name: {} for name in paths}
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "streamlit.log"
        server = start_dashboard(env, port, log)
        try:
            wait_healthy(base, server, log)
            memory = {"started": memory_kb(server.pid)}
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport=VIEWPORT)
                for visit in ("first", "poll", "second"):
                    if visit == "poll":
                        pretend_a_poll(db)
                    for name, (path, title) in paths.items():
                        started = time.perf_counter()
                        page.goto(base + path)
                        shown(page, name, title)
                        content = time.perf_counter() - started
                        shown(page, name, title, settled=True)
                        settled = time.perf_counter() - started
                        problems = page.locator(PROBLEMS)
                        expect(problems.count() == 0, f"{visit} visit of {name}", "an error shows")
                        timings[name][f"{visit}_content_ms"] = content * 1000
                        timings[name][f"{visit}_settled_ms"] = settled * 1000
                browser.close()
            memory["after"] = memory_kb(server.pid)
        finally:
            stop_dashboard(server)
    return {"events": probe.events, "timings": timings, "memory_kb": memory}


def markdown(result: dict[str, Any]) -> str:
    size = size_label(result["events"])
    lines = [
        "| route | size | fresh server: content ms | settled ms "
        "| after a poll: content ms | settled ms | cached: content ms | settled ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, t in result["timings"].items():
        lines.append(
            f"| {name} | {size} | {t['first_content_ms']:,.0f} | {t['first_settled_ms']:,.0f} "
            f"| {t['poll_content_ms']:,.0f} | {t['poll_settled_ms']:,.0f} "
            f"| {t['second_content_ms']:,.0f} | {t['second_settled_ms']:,.0f} |"
        )
    memory = result["memory_kb"]
    lines.append("")
    lines.append(
        f"Server memory: {memory['started']['VmRSS'] / 1024:,.0f} MB after start, "
        f"peak (VmHWM) {memory['after']['VmHWM'] / 1024:,.0f} MB, "
        f"{memory['after']['VmRSS'] / 1024:,.0f} MB resident after three visits of every route."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="SQLite file to serve")
    parser.add_argument("--tz", default="UTC", help="DISPLAY_TZ")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    result = measure(args.db.resolve(), args.tz)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print(markdown(result))


if __name__ == "__main__":
    main()
