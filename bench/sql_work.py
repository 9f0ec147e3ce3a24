"""The database's own count of a call's work: blocks touched and execution time.

Wall-clock times on a shared machine move with the neighbours' load; the blocks a
statement touches do not. For each call this records the statements it sends and asks
PostgreSQL for `EXPLAIN (ANALYZE, BUFFERS)` of each: shared blocks hit or read (the same
on every run of the same data and plan) and the server's execution time. Comparing them
between two databases says whether one does more work, and in which statement.
"""

from __future__ import annotations

import statistics
from typing import Any

from sqlalchemy import Engine

from bench.dashboard import _json_params, recording
from bench.dashboard_cases import Case
from db.engine import make_engine

EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
REPEATS = 3


def statements_of(case: Case, engine: Engine) -> list[dict[str, Any]]:
    """The statements `case` sends (after a first call, so lazy set-up is not among them)."""
    case.direct(engine)
    with recording(engine) as statements:
        case.direct(engine)
    return [{**s, "params": _json_params(s["params"])} for s in statements]


def _explain(engine: Engine, sql: str, params: Any) -> tuple[int, float]:
    """(shared blocks hit + read, execution ms) of one statement."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(EXPLAIN + sql, params)
        (document,) = cursor.fetchone()
        raw.rollback()
    finally:
        raw.close()
    plan = document[0]
    top = plan["Plan"]
    blocks = int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0))
    return blocks, float(plan["Execution Time"])


def work(url: str, cases: list[Case]) -> dict[str, dict[str, float]]:
    """Per call: blocks touched and the median server execution ms, summed over its
    statements (PostgreSQL only)."""
    engine = make_engine(url)
    out: dict[str, dict[str, float]] = {}
    try:
        for case in cases:
            blocks, ms = 0, 0.0
            for statement in statements_of(case, engine):
                runs = [
                    _explain(engine, statement["sql"], statement["params"]) for _ in range(REPEATS)
                ]
                blocks += runs[-1][0]
                ms += statistics.median(run[1] for run in runs)
            out[case.key] = {"blocks": blocks, "sql_ms": round(ms, 2)}
    finally:
        engine.dispose()
    return out
