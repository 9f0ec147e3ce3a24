"""The torture scenarios behind docs/reliability.md, as a test: nothing lost, nothing doubled.

Slow (about 35 s): run by `scripts/test --full` and CI, not by the quick suite.
"""

from __future__ import annotations

import tempfile

import pytest

from bench.ingest_scenarios import SCENARIOS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_loses_and_doubles_nothing_and_accounts_for_every_reject(name):
    with tempfile.TemporaryDirectory() as folder:
        result = SCENARIOS[name](folder)
    assert result["served"] > 1000
    assert result["stored"] == result["served"]
    assert result["missing"] == 0
    assert result["doubled"] == 0
    assert result["rejected"] == result["malformed served"]
    assert result["rejected twice or unexplained"] == 0
