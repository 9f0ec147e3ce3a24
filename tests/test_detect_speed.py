"""`python -m ingest detect` starts as a fresh process for each new day (cron, or the
operator), so what it imports is part of its time: the scoring path must not import
pandas, pyarrow, plotly or streamlit, which only the dashboard and exports need (about
a second of a new day's budget of one)."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

from db.engine import open_database
from ingest.simulator.incidents import labelled_tenant
from tests.support.detections import load_records
from tests.support.runtime import runtime_python, subprocess_env

END = date(2026, 11, 12)
HEAVY = ("pandas", "pyarrow", "plotly", "streamlit")


def imported_modules(importtime: str) -> set[str]:
    """Top-level package names of every module a `-X importtime` report lists."""
    names = set()
    for line in importtime.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            names.add(name.split(".")[0])
    return names


def test_detect_scores_without_importing_pandas_or_the_dashboard(tmp_path: Path):
    db_path = tmp_path / "searchlogs.db"
    tenant = labelled_tenant(5, people=20, days=40, end=END, repeats=0, system_rate=0.1)
    engine = open_database(f"sqlite:///{db_path}")
    try:
        load_records(engine, tenant.records, datetime(2026, 11, 12, 6, tzinfo=UTC))
    finally:
        engine.dispose()
    done = subprocess.run(
        [runtime_python(), "-X", "importtime", "-m", "ingest", "detect"],
        env=subprocess_env({"DB_PATH": str(db_path)}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("detect default: scored "), done.stdout
    modules = imported_modules(done.stderr)
    assert "sqlalchemy" in modules and "numpy" in modules  # the report lists the imports
    assert sorted(modules & set(HEAVY)) == []
