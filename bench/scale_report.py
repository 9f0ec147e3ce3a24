"""The scale benchmark's Markdown: stores side by side, from `bench/store_scale.py`'s JSON.

.venv/bin/python -m bench.scale_report bench/results/scale-*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

COLD_TARGET_MS, WARM_TARGET_MS, EVERY_COLD_TARGET_MS = 500, 50, 2_000


def _label(result: dict[str, Any]) -> str:
    return f"{result['store']} {result['tenants']}×{result['per_tenant'] / 1e6:g}M"


def _ms(timing: dict[str, Any] | None) -> str:
    if timing is None:
        return "–"
    shown = f"{timing['cold_ms']:,.0f} / {timing['warm_ms']:,.1f}"
    if "cold_cpu_ms" in timing:  # this process's CPU in the cold call
        shown += f" (cold CPU {timing['cold_cpu_ms']:,.0f})"
    return shown


def _rate(write: dict[str, Any]) -> str:
    return f"{write['rows_per_s']:,} ({write['times_the_api']}×), {write['ms_per_page']} ms/page"


def _keys(results: list[dict[str, Any]], part: str) -> list[str]:
    keys: list[str] = []
    for result in results:
        for key in result["reads"].get(part, {}):
            if key not in keys:
                keys.append(key)
    return keys


def _facts(result: dict[str, Any]) -> dict[str, str]:
    load, write = result.get("load", {}), result.get("write")
    facts = {
        "searches": f"{result['searches']:,}",
        "load (s, rows/s)": (
            f"{load['load_seconds']:,.0f} s, {load['rows'] / load['load_seconds']:,.0f}/s"
            if load
            else "reused"
        ),
        "disk: bytes per search (= MB per million)": f"{result['bytes_per_search']:,}",
        "write_page, a page per write: rows/s (× the API's 278/s)": _rate(write) if write else "–",
    }
    if write and "page_writer" in write:
        facts["ingest PageWriter, 50 pages per transaction: rows/s"] = _rate(write["page_writer"])
    for name, title in (
        ("detect_first", "detect: first run"),
        ("detect_new_day", "detect: new day"),
    ):
        if name in result:
            facts[title] = f"{result[name]['seconds']} s"
    phases = [result.get(p, {}) for p in ("load", "reads", "write")]
    facts["load average (before, after) per phase"] = "; ".join(
        f"{p['load_average'][0]}–{p['load_average'][1]}" for p in phases if p
    )
    return facts


def markdown(results: list[dict[str, Any]]) -> str:
    """One table: a column per store run; reads as 'cold / warm' milliseconds."""
    head = "| | " + " | ".join(_label(r) for r in results) + " |"
    lines = [head, "|---" * (len(results) + 1) + "|"]
    facts = [_facts(r) for r in results]
    titles: list[str] = []  # every run's facts: chDB has no PageWriter or detection rows
    for one in facts:
        titles += [title for title in one if title not in titles]
    for title in titles:
        lines.append(f"| {title} | " + " | ".join(f.get(title, "–") for f in facts) + " |")
    for part, prefix in (("store_cases", ""), ("dashboard_cases", "SQL only: ")):
        for key in _keys(results, part):
            cells = [_ms(r["reads"].get(part, {}).get(key)) for r in results]
            lines.append(f"| {prefix}{key} (ms, cold / warm) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    results = [json.loads(Path(name).read_text()) for name in sys.argv[1:]]
    print(markdown(results))


if __name__ == "__main__":
    main()
