"""The suite's scheduling aid (tests/support/file_order.py): longest files first, the order
inside a file kept, figures read from pytest's durations list."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest

from tests.support import file_order


def test_seconds_from_log_sums_setup_call_and_teardown_per_file() -> None:
    log = """
============================= slowest durations ==============================
160.56s call     tests/test_a.py::test_x[postgresql]
 12.00s setup    tests/test_a.py::test_y
  0.50s teardown tests/test_b.py::test_z
(1200 durations < 0.005s hidden.  Use -vv to show these durations.)
"""
    assert file_order.seconds_from_log(log) == {"tests/test_a.py": 172.6, "tests/test_b.py": 0.5}


def test_items_go_longest_file_first_and_keep_their_order_inside_a_file(monkeypatch) -> None:
    monkeypatch.setattr(file_order, "file_seconds", lambda: {"t/fast.py": 1.0, "t/slow.py": 90.0})
    ids = ["t/fast.py::a", "t/new.py::a", "t/slow.py::b", "t/fast.py::b", "t/slow.py::a"]
    items = [cast(pytest.Item, SimpleNamespace(nodeid=i)) for i in ids]
    file_order.pytest_collection_modifyitems(cast(pytest.Config, None), items)
    # t/new.py is unknown: two seconds a test, so between the two known files.
    assert [i.nodeid for i in items] == [
        "t/slow.py::b",
        "t/slow.py::a",
        "t/new.py::a",
        "t/fast.py::a",
        "t/fast.py::b",
    ]
