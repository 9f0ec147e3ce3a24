"""The breadth rule's explanation says something true when the user's usual is 0 new
mailboxes a day: how many of their earlier days had none, never "usually at most 0"."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from ingest.detect.config import DetectionConfig
from ingest.detect.content import quiet_days, score_content
from ingest.detect.counts import DayContext
from ingest.detect.features import TextDay, TextHistory

USER = "ana@example.com"


def _breadth_summary(earlier: list[set[str]], today: set[str]) -> str:
    """Feed `earlier` days' targets, then `today`'s, through the real history; the summary
    of the breadth finding on the last day."""
    config = DetectionConfig()
    history = TextHistory(config)
    for day, targets in enumerate(earlier):
        history.feed(day, {USER: TextDay(searches=len(targets), targets=targets)})
    last = len(earlier)
    figures = history.feed(last, {USER: TextDay(searches=len(today), targets=today)})[USER]
    ctx = DayContext(
        day=last,
        column=last,
        lower=datetime(2026, 1, 1, tzinfo=UTC),
        upper=datetime(2026, 1, 2, tzinfo=UTC),
        system=np.zeros(1, dtype=bool),
        allowed=lambda _email, _allow: False,
    )
    today_day = TextDay(searches=len(today), targets=today)
    (finding,) = [f for f in score_content(ctx, config, USER, today_day, figures)]
    assert finding.rule == "breadth"
    return finding.summary


def test_breadth_with_a_zero_baseline_says_how_many_earlier_days_had_no_new_mailbox() -> None:
    burst = {f"m{n:02d}@example.com" for n in range(14)}
    routine = {"boss@example.com"}
    summary = _breadth_summary([routine] * 11, burst)  # new on the first day only
    assert "at most 0" not in summary
    assert "no mailbox was new to them on at least 10 of their 11 earlier days" in summary
    assert "on any of their 5 earlier days with mailbox" in _breadth_summary([set()] * 5, burst)
    assert "on their one earlier day with mailbox" in _breadth_summary([set()], burst)
    usual = _breadth_summary([routine], burst)  # one new mailbox on the one earlier day
    assert "usually at most 1 new a day (90th percentile of 1 day with mailbox" in usual


def test_quiet_days_is_the_least_count_of_zero_days_a_zero_90th_percentile_allows() -> None:
    for days in range(1, 40):
        least = quiet_days(days)
        assert np.percentile([0] * least + [5] * (days - least), 90) == 0
        if least > 1:
            assert np.percentile([0] * (least - 1) + [5] * (days - least + 1), 90) > 0
