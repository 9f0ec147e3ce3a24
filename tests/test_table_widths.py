"""Tables sized for their content at a 1,400 px window (issue 18 §2): the search and
mailbox tables give every column a width in pixels, adding up to the main column, and wrap
long text (a search type, a reason) onto a second line instead of cutting it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from tests.support.apptest import (  # noqa: F401 (page_*: the page fixtures)
    page_db_file,
    page_engine,
    page_known,
)
from tests.support.builders import store_records
from tests.test_time_format import TARGETED, _open

MAIN_WIDTH = 940
"""The main column's width in pixels at a 1,400 px window (the sidebar open), as the
Mailboxes browser test measures it."""
SIZED = [
    ("pages/user.py", {"email": "b@example.com"}),
    ("pages/mailboxes.py", {}),
    ("pages/mailboxes.py", {"addr": "a@example.com"}),
]


@pytest.fixture(name="targeted")
def targeted_known(known: Engine) -> Engine:
    store_records(known, [TARGETED])
    return known


def test_search_and_mailbox_tables_are_sized_in_pixels_to_the_main_column(
    targeted: Engine,
) -> None:
    """Every column of these tables has a width in pixels, and they add up to the main
    column at 1,400 px: no column is left a few characters wide or pushed off-screen."""
    checked = 0
    for page, params in SIZED:
        at = _open(page, params)
        for table in at.dataframe:
            config = json.loads(table.proto.columns or "{}")
            shown = [c for name, c in config.items() if name in table.value.columns]
            widths = [c.get("width") for c in shown]
            assert all(isinstance(w, int) for w in widths), (page, params, widths)
            assert sum(widths) == MAIN_WIDTH, (page, params, widths)
            checked += 1
    assert checked == 4  # user: mailboxes searched + searches; the top list; one mailbox
