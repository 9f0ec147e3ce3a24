"""The dashboard benchmark's tables: one database's figures, its plans, all sizes combined."""

from __future__ import annotations

from typing import Any

from bench.dashboard_cases import WARM_CALLS

# --- reporting --------------------------------------------------------------------------


def size_label(events: int) -> str:
    if events >= 1_000_000 and events % 100_000 == 0:
        return f"{events / 1_000_000:g}M"
    if events >= 1_000:
        return f"{events / 1_000:.0f}k"
    return str(events)


def _ms(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _ratio(naive: float | None, cold: float | None) -> str:
    if naive is None or not cold:
        return ""
    return f"{naive / cold:.2f}"


def table_rows(result: dict[str, Any]) -> list[tuple[str, str, float, float | None, float | None]]:
    """(page, function, cold ms, warm ms, naive ms), with a total row after each page."""
    cold, warm = result["cold"], result["warm"]
    naive_for: dict[str, float] = {}  # several naive queries may stand for one call
    for value in result["naive"]:
        ms = cold[f"naive · {value['name']}"]["ms"]
        naive_for[value["compare_with"]] = naive_for.get(value["compare_with"], 0.0) + ms
    out: list[tuple[str, str, float, float | None, float | None]] = []
    pages: dict[str, list[str]] = {}
    for key in cold:
        if not key.startswith("naive"):
            pages.setdefault(key.split(" · ")[0], []).append(key)
    for page, keys in pages.items():
        for key in keys:
            out.append(
                (page, key.split(" · ", 1)[1], cold[key]["ms"], warm.get(key), naive_for.get(key))
            )
        if len(keys) > 1:
            # A page compared as a whole, else the sum of its functions' naive queries.
            naive = naive_for.get(page)
            if naive is None and any(key in naive_for for key in keys):
                naive = sum(naive_for.get(key, 0.0) for key in keys)
            out.append(
                (
                    page,
                    "**page total**",
                    sum(cold[key]["ms"] for key in keys),
                    sum(warm.get(key, 0.0) for key in keys),
                    naive,
                )
            )
    return out


def markdown(result: dict[str, Any]) -> str:
    probe = result["probe"]
    size = size_label(probe["events"])
    lines = [
        "| page | function | size | cold ms | warm ms | naive ms | naive/cold |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for page, function, cold, warm, naive in table_rows(result):
        lines.append(
            f"| {page} | {function} | {size} | {_ms(cold)} | {_ms(warm)} | {_ms(naive)} "
            f"| {_ratio(naive, cold)} |"
        )
    return "\n".join(lines)


def describe(result: dict[str, Any]) -> str:
    probe = result["probe"]
    load = result["load_average"]
    return "\n".join(
        [
            f"{result['dialect']}, {probe['events']:,} events, "
            f"{probe['database_bytes'] / probe['events']:.0f} database bytes per event "
            f"({probe['database_bytes'] / 1024**2:,.0f} MB)",
            f"heaviest user {probe['heavy']} ({probe['heavy_searches']:,} searches), typical "
            f"{probe['typical']} ({probe['typical_searches']:,}), busiest day "
            f"{probe['busy_day']} ({probe['busy_searches']:,}), data {probe['first_day']} "
            f"to {probe['today']}, DISPLAY_TZ {probe['tz']}",
            f"cold: median of {result['repeats']} fresh processes; warm: median of "
            f"{WARM_CALLS} cache hits; {result['machine']}; load average "
            f"{load['before'][0]:.1f} before, {load['after'][0]:.1f} after; "
            f"{result['seconds']:.0f} s in all",
        ]
    )


def describe_plans(result: dict[str, Any]) -> str:
    lines = []
    for key, statements in result["plans"].items():
        cold = result["cold"][key]["ms"]
        sql_ms = sum(s["sql_ms"] for s in statements)
        lines.append(
            f"\n### {key}: {cold:,.0f} ms cold, of which SQL alone {sql_ms:,.0f} ms "
            f"in {len(statements)} statement(s)"
        )
        for statement in statements:
            lines.append(f"\n{statement['sql_ms']:,.0f} ms, {statement['rows']:,} rows:")
            lines.append("```sql\n" + " ".join(statement["sql"].split()) + "\n```")
            lines.append("```\n" + "\n".join(statement["plan"]) + "\n```")
    return "\n".join(lines)


def combined(results: list[dict[str, Any]]) -> str:
    """One table over several runs: cold (warm) ms per size, naive and ratio per size."""
    labels = [f"{size_label(r['probe']['events'])} {r['dialect']}" for r in results]
    head = "| page | function | " + " | ".join(f"{label} cold / warm / naive" for label in labels)
    lines = [head + " |", "|---|---|" + "---:|" * len(labels)]
    per_run = [{(p, f): (c, w, n) for p, f, c, w, n in table_rows(r)} for r in results]
    for page, function, *_ in table_rows(results[0]):
        cells = []
        for run in per_run:
            cold, warm, naive = run.get((page, function), (None, None, None))
            cell = f"{_ms(cold)} / {_ms(warm)}"
            if naive is not None:
                cell += f" / {_ms(naive)} ({_ratio(naive, cold)}×)"
            cells.append(cell)
        lines.append(f"| {page} | {function} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
