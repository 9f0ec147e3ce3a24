"""Benchmark: one generator, one store at a time, at scale (issue 20's "50M searches").

    .venv/bin/python -m bench.store_scale --store sqlite --url sqlite:////tmp/s.db \
        --tenants 5 --per-tenant 1000000 --json bench/results/scale-sqlite.json
    .venv/bin/python -m bench.scale_report bench/results/scale-*.json

Loads `--tenants` tenants of `--per-tenant` searches over `--days` days (the same rows for
the same seed and anchor on every store, `bench/scale_load.py`), then times each page's data
for one tenant cold and warm and the every-tenant summary (`bench/scale_reads.py`), the
write path on a fresh day and, on SQL stores with `--detect`, detection's first run and new
day (`bench/scale_write.py`). Each phase runs in a fresh process (chDB serves one process
at a time; a cold read needs a fresh one); the load average is recorded around each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.checks import expect, fail
from bench.scale_load import (
    STORES,
    Anchor,
    copy_file,
    default_anchor,
    disk_bytes,
    load,
    shape_for,
)
from db.engine import redact_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _shape(args: argparse.Namespace) -> Any:
    return shape_for(args.tenants, args.per_tenant, args.days, _anchor(args), args.seed)


def _anchor(args: argparse.Namespace) -> Anchor:
    return Anchor(date.fromisoformat(args.fresh_day))


def run_phase(args: argparse.Namespace) -> dict[str, Any]:
    """One phase, in this process."""
    shape, anchor = _shape(args), _anchor(args)
    tenant = shape.names()[0]
    if args.phase == "load":
        return load(args.store, args.url, shape, first_tenant=args.first_tenant)
    if args.phase == "reads":
        from bench.scale_load import close_store, open_store
        from bench.scale_reads import measure_dashboard_cases, measure_store_cases, store_cases

        last = anchor.fresh_day  # the history's last UTC hour is on this day in Berlin
        cases = store_cases(tenant, last - timedelta(days=shape.days), last)
        store = open_store(args.store, args.url)
        try:
            out = {"store_cases": measure_store_cases(store, args.url, cases)}
        finally:
            close_store(store)
        if args.store != "chdb":
            out["dashboard_cases"] = measure_dashboard_cases(args.url, tenant)
        return out
    if args.phase == "write":
        from bench.scale_write import write_rate

        return write_rate(args.store, args.url, shape, anchor, args.pages, args.write_tenant)
    if args.phase in ("detect-first", "detect-new-day"):
        from bench.scale_write import detect, move_cursor_to_fresh_day
        from tests.support.runtime import runtime_python

        if args.phase == "detect-first":  # every day before the fresh one is complete
            move_cursor_to_fresh_day(args.store, args.url, tenant, anchor)
        result = detect(args.url, tenant, runtime_python(required=True))
        wanted = "scored" if args.phase == "detect-first" else f"scored 1 day ({anchor.fresh_day})"
        expect(wanted in result["line"], args.phase, result["line"])
        return result
    fail(f"unknown phase {args.phase}")
    return {}


def _child(args: argparse.Namespace, phase: str) -> dict[str, Any]:
    """`phase` in a fresh process, with the load average before it and its seconds."""
    out = Path(args.json).with_suffix(f".{phase}.tmp")
    command = [sys.executable, "-m", "bench.store_scale", "--phase", phase, "--out", str(out)]
    names = ("store", "url", "tenants", "per_tenant", "days", "seed", "fresh_day", "pages")
    for name in (*names, "first_tenant", "write_tenant"):
        if getattr(args, name) is not None:
            command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    load_before, started = os.getloadavg()[0], time.perf_counter()
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["no output"]
        fail(f"phase {phase} exited with {done.returncode}: {last[0]}")
    result = json.loads(out.read_text())
    out.unlink()
    result["phase_seconds"] = round(time.perf_counter() - started, 1)
    result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(f"{args.store} {phase}: {result['phase_seconds']} s", file=sys.stderr, flush=True)
    return result


def orchestrate(args: argparse.Namespace) -> dict[str, Any]:
    shape = _shape(args)
    result: dict[str, Any] = {
        "store": args.store,
        "url": redact_url(args.url),
        "tenants": args.tenants,
        "per_tenant": args.per_tenant,
        "days": args.days,
        "seed": args.seed,
        "fresh_day": args.fresh_day,
        "searches": args.tenants * args.per_tenant,
    }
    if not args.reuse:
        result["load"] = _child(args, "load")
        if args.first_tenant > 1:
            result["load"]["first_tenant"] = args.first_tenant
    if args.copy_to:  # libSQL reads and writes SQLite's file format: the same file, copied
        copy_file(args.url, args.copy_to)
    size = disk_bytes(args.store, args.url)
    result["disk_bytes"] = size
    result["bytes_per_search"] = round(size / max(shape.tenants * shape.events_per_tenant, 1))
    result["reads"] = _child(args, "reads")
    if args.reads_only:  # a store measured before: its fresh day is written already
        return result
    detecting = args.detect and args.store != "chdb"
    if detecting:
        result["detect_first"] = _child(args, "detect-first")
    result["write"] = _child(args, "write")
    if detecting:
        result["detect_new_day"] = _child(args, "detect-new-day")
    return result


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", choices=STORES, required=True)
    p.add_argument("--url", required=True, help="the store's URL (chdb:///folder for chDB)")
    p.add_argument("--tenants", type=int, default=1)
    p.add_argument("--per-tenant", type=int, default=100_000)
    p.add_argument("--days", type=int, default=1_095, help="history length (3 years)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--fresh-day", default=default_anchor().fresh_day.isoformat())
    p.add_argument("--pages", type=int, default=200, help="pages of 100 in the write phase")
    p.add_argument(
        "--write-tenant", help="the write phase's tenant (default the first; one per store)"
    )
    p.add_argument("--detect", action="store_true", help="time `ingest detect` (SQL stores)")
    p.add_argument("--reuse", action="store_true", help="the store is loaded already")
    p.add_argument(
        "--first-tenant",
        type=int,
        default=1,
        help="SQL stores: load tenants from this number on into a store holding those before",
    )
    p.add_argument("--reads-only", action="store_true", help="re-measure the reads only")
    p.add_argument("--copy-to", help="a SQLite store's file copied here once loaded")
    p.add_argument("--json", default="bench/results/scale.json")
    p.add_argument("--phase", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    return p


def main() -> None:
    args = parser().parse_args()
    if args.phase:
        Path(args.out).write_text(json.dumps(run_phase(args)))
        return
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    result = orchestrate(args)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    from bench.scale_report import markdown

    print(markdown([result]))


if __name__ == "__main__":
    main()
