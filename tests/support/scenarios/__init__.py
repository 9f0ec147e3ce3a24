"""Torture scenarios of the ingest, each counted against the simulator's ground truth.

Every scenario runs the real CLI (`python -m ingest`) in child processes against a simulator
on loopback — killing it, starving it of disk, feeding it broken responses, reading the
database while it writes — and then compares the database with what the simulator served:
every event stored exactly once, every malformed record in `rejected_records` exactly once,
and each rule of the scenario held. `tests/test_torture.py` runs each scenario as a test
(marker `torture`); `python -m bench.ingest_scenarios` runs them all and writes
docs/reliability.md.
"""

from tests.support.scenarios.catalogue import SCENARIOS, Scenario, run_scenario
from tests.support.scenarios.children import child_env
from tests.support.scenarios.outcome import CannotRun, Outcome
from tests.support.scenarios.responses import BROKEN_RESPONSES

__all__ = [
    "BROKEN_RESPONSES",
    "SCENARIOS",
    "CannotRun",
    "Outcome",
    "Scenario",
    "child_env",
    "run_scenario",
]
