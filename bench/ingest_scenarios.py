"""Fault, kill and twin scenarios, counted against the simulator's ground truth.

Each scenario runs the real CLI (`python -m ingest run --once`) in child processes against
a simulator on loopback and then compares the database with the truth: events served in
the window, stored, missing, doubled, malformed records served and rejected.

    .venv/bin/python bench/ingest_scenarios.py [--markdown]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from ingest.simulator import SimConfig, Simulator  # noqa: E402
from tests.helpers import (  # noqa: E402
    canonical,
    expected_records,
    row_count,
    runs,
    stored_records,
    stored_rejects,
)


def child_env(sim: Simulator, db_path: Path, days: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIMECAST_", "DB_"))}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        MIMECAST_CLIENT_ID="sim-client-id",
        MIMECAST_CLIENT_SECRET="sim-client-secret",
        MIMECAST_BASE_URL=sim.base_url,
        DB_PATH=str(db_path),
        INITIAL_BACKFILL_DAYS=str(days),
    )
    return env


def run_once(env: dict[str, str], cwd: str) -> int:
    return subprocess.run(
        [sys.executable, "-m", "ingest", "run", "--once"],
        env=env,
        cwd=cwd,
        capture_output=True,
        timeout=600,
    ).returncode


def tally(sim: Simulator, db_path: Path, settle_seconds: int = 120) -> dict[str, int]:
    url = f"sqlite:///{db_path}"
    history = runs(url)
    start = history[0].window_start
    end = history[-1].window_end
    from datetime import timedelta

    end = end - timedelta(seconds=settle_seconds)  # on-time events arrive within a minute
    valid, malformed = sim.truth(start, end)
    expected = expected_records(valid, start, end)
    stored = stored_records(url, start, end)
    rejects = stored_rejects(url)
    served_malformed = Counter(canonical(record) for record in malformed)
    stats = sim.stats()
    total_requests = int(stats["token_requests"]) + int(stats["search_requests"])
    stored_total = row_count(url)
    return {
        "served": sum(expected.values()),
        "stored": sum(stored.values()),
        "missing": sum((expected - stored).values()),
        "doubled": sum((stored - expected).values()),
        "malformed served": sum(served_malformed.values()),
        "rejected": sum((rejects & served_malformed).values()),
        "rejected twice or unexplained": sum((rejects - served_malformed).values()),
        "requests": total_requests,
        "requests per 1,000": round(total_requests / max(stored_total, 1) * 1000, 1),
        "faults injected": sum(int(v) for v in dict(stats.get("faults_injected", {})).values()),
        "runs": len(history),
    }


def scenario_fault_mix(folder: str) -> dict[str, int]:
    config = SimConfig(
        seed=101,
        days=12,
        events_per_day=1500,
        late_fraction=0.0,
        rate_5xx=0.10,
        rate_429=0.05,
        rate_fail200=0.02,
        rate_drop=0.01,
        malformed_rate=0.01,
        token_lifetime=5,
        rate_limit_reset_ms=50,
    )
    with Simulator(config) as sim:
        db_path = Path(folder) / "faults.db"
        env = child_env(sim, db_path, 10)
        for _ in range(3):
            run_once(env, folder)
            time.sleep(1)
        return tally(sim, db_path)


def scenario_kills(folder: str, kills: int = 5) -> dict[str, int]:
    config = SimConfig(seed=202, days=12, events_per_day=3000, late_fraction=0.0)
    with Simulator(config) as sim:
        db_path = Path(folder) / "kills.db"
        env = child_env(sim, db_path, 10)
        url = f"sqlite:///{db_path}"
        killed = 0
        for step in range(kills):
            process = subprocess.Popen(
                [sys.executable, "-m", "ingest", "run", "--once"],
                env=env,
                cwd=folder,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            target = 3000 * (step + 1) * 1.5
            deadline = time.monotonic() + 60
            while (
                process.poll() is None and row_count(url) < target and time.monotonic() < deadline
            ):
                time.sleep(0.01)
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                killed += 1
            process.wait()
        run_once(env, folder)
        result = tally(sim, db_path)
        result["SIGKILLs"] = killed
        return result


def scenario_twins(folder: str) -> dict[str, int]:
    config = SimConfig(seed=303, days=5, events_per_day=800, late_fraction=0.0, twin_fraction=0.05)
    with Simulator(config) as sim:
        db_path = Path(folder) / "twins.db"
        env = child_env(sim, db_path, 3)
        for _ in range(3):  # overlapping polls re-read the twins
            run_once(env, folder)
            time.sleep(1)
        result = tally(sim, db_path)
        valid, _ = sim.truth(runs(f"sqlite:///{db_path}")[0].window_start, int(time.time()) - 120)
        counts = Counter(canonical(record) for record in valid)
        result["twin pairs served"] = sum(1 for n in counts.values() if n > 1)
        return result


SCENARIOS: dict[str, Callable[[str], dict[str, int]]] = {
    "fault mix: 10% 5xx, 5% 429, 2% fail-in-200, 1% dropped, 1% malformed, 5 s tokens": (
        scenario_fault_mix
    ),
    "SIGKILL at 5 moments of a backfill, then resume": scenario_kills,
    "5% identical twins, 3 overlapping polls": scenario_twins,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for name, scenario in SCENARIOS.items():
            result = scenario(folder)
            if args.markdown:
                cells = ", ".join(f"{k} {v:,}" for k, v in result.items())
                print(f"| {name} | {cells} |")
            else:
                print(name)
                for key, value in result.items():
                    print(f"  {key:>20}: {value}")


if __name__ == "__main__":
    main()
