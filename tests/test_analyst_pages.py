"""What an analyst reads around the alerts (issue 18 §2): the Day page's alerts with links
to their panels, day navigation that stops at today, a visible "filtered to … · reset"
marker for narrowed dates, the user chart's short ranges drawn hour by hour, one time
format, and the target mailbox as its own column."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from dashboard import figures
from dashboard.context import today_in
from dashboard.filters import default_filters
from dashboard.formatting import TABLE_TIME, target_mailbox, with_targets
from dashboard.narrowed import span_label
from db.alerts import insert_alerts
from tests.support.apptest import (  # noqa: F401 (page_*: the page fixtures)
    MARCH,
    assert_clean,
    open_page,
    page_db_file,
    page_engine,
    page_known,
    plain,
    texts,
)
from tests.support.detections import new_alert
from tests.support.roles import open_as
from tests.support.tenancy import SCOPE
from tests.support.tenant_dashboard import (
    SHARED_USER,
    tenants_dashboard,
)

DAY = date(2026, 3, 29)


# --- the Day page ----------------------------------------------------------------------


@pytest.fixture
def tenants_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from tenants_dashboard(tmp_path, monkeypatch)


def test_the_day_page_lists_that_days_alerts_of_its_tenant_with_links_to_their_panels(
    tenants_db: Engine,
) -> None:
    with tenants_db.begin() as conn:
        insert_alerts(
            conn,
            [
                new_alert("volume_spike", SHARED_USER, DAY, "high", tenant="acme"),
                new_alert("breadth", SHARED_USER, DAY, "low", tenant="globex"),
                new_alert("unusual_time", SHARED_USER, DAY + timedelta(days=1), tenant="acme"),
            ],
        )
    at = open_as({"email": "ada@acme.example"}, "pages/day.py", date=DAY.isoformat())
    assert any("Alerts on this day** · 1 (1 open)" in text for text in texts(at))
    (shown,) = [frame.value for frame in at.dataframe if "rule_name" in frame.value]
    assert list(shown["rule_name"]) == ["Volume spike"]  # not globex's, not the next day's
    assert list(shown["email"]) == [SHARED_USER]
    assert shown["evidence_url"].iloc[0].startswith("alerts?")
    assert "&alert=" in shown["evidence_url"].iloc[0]

    quiet = open_as({"email": "ada@acme.example"}, "pages/day.py", date="2026-03-28")
    assert "No alerts on this day." in texts(quiet)


def test_the_day_navigation_never_leads_past_today(known: Engine) -> None:
    at = open_page("day")  # today, by default
    assert_clean(at)
    after = [button for button in at.button if button.label.endswith("→")]
    assert len(after) == 1 and after[0].disabled
    at = open_page("day", date=MARCH["from"])
    assert not next(b for b in at.button if b.label.endswith("→")).disabled


# --- narrowed dates ----------------------------------------------------------------------


def test_narrowed_dates_show_a_marker_that_resets_them(known: Engine) -> None:
    at = open_page("user", email="a@example.com", **{"from": "2026-03-29", "to": "2026-03-29"})
    assert_clean(at)
    assert any("Dates filtered to **29 Mar 2026**" in text for text in texts(at))
    at.button(key="reset_dates").click().run()
    assert_clean(at)
    default = default_filters(SCOPE, today_in("Europe/Berlin"))
    assert dict(at.query_params)["from"] in (default.start.isoformat(), [default.start.isoformat()])
    assert dict(at.query_params)["to"] in (default.end.isoformat(), [default.end.isoformat()])
    assert not any("Dates filtered to" in text for text in texts(at))


def test_a_span_is_named_once_per_part() -> None:
    assert span_label(date(2026, 11, 26), date(2026, 11, 26)) == "26 Nov 2026"
    assert span_label(date(2026, 11, 24), date(2026, 11, 26)) == "24–26 Nov 2026"
    assert span_label(date(2026, 10, 28), date(2026, 11, 26)) == "28 Oct – 26 Nov 2026"
    assert span_label(date(2025, 12, 30), date(2026, 1, 2)) == "2025-12-30 – 2026-01-02"


# --- the user chart ----------------------------------------------------------------------


def _grid(cells: dict[tuple[int, int], int]) -> pd.DataFrame:
    rows = [(w, h, cells.get((w, h), 0)) for w in range(7) for h in range(24)]
    return pd.DataFrame(rows, columns=["weekday", "hour", "searches"])


def test_one_or_two_days_are_drawn_hour_by_hour() -> None:
    # 2026-11-25 is a Wednesday (2), the 26th a Thursday (3)
    grid = _grid({(2, 9): 4, (3, 14): 2, (0, 9): 99})
    one = figures.per_day_bars(pd.DataFrame({"date": [date(2026, 11, 26)], "searches": [2]}), grid)
    (bars,) = one.data
    assert len(bars.x) == 24 and bars.x[14] == "2026-11-26T14:00:00" and bars.y[14] == 2
    assert sum(bars.y) == 2  # Monday's 99 belong to no day shown
    assert one.layout.xaxis.tickformat == "%H:%M" and one.layout.xaxis.dtick == 3 * 3_600_000
    two = figures.per_day_bars(
        pd.DataFrame({"date": [date(2026, 11, 25), date(2026, 11, 26)], "searches": [4, 2]}),
        grid,
    )
    assert len(two.data[0].x) == 48 and list(two.data[0].y).count(0) == 46


def test_longer_ranges_tick_whole_days_each_named_once() -> None:
    for length in (3, 7, 30, 90, 366):
        days = [date(2026, 1, 1) + timedelta(days=i) for i in range(length)]
        figure = figures.per_day_bars(pd.DataFrame({"date": days, "searches": [1] * length}))
        dtick = figure.layout.xaxis.dtick
        assert dtick % 86_400_000 == 0 and dtick >= 86_400_000  # never a sub-day tick
        ticks = length / (dtick / 86_400_000)
        assert ticks <= 11


# --- formats and the target column ------------------------------------------------------


def test_every_table_shows_times_in_one_format_with_the_zone_stated_once() -> None:
    sources = {
        name: Path("pages", name).read_text(encoding="utf-8")
        for name in ("user.py", "day.py", "summary.py")
    }
    for name, source in sources.items():
        assert "HH:mm" not in source, name  # the format is TABLE_TIME, nowhere else
        assert "TABLE_TIME" in source, name  # the zone: once, in the frame's line
    assert TABLE_TIME == "YYYY-MM-DD HH:mm:ss"


def test_the_target_mailbox_is_its_own_column() -> None:
    assert target_mailbox("[User : DHamilton@example.com]") == "dhamilton@example.com"
    assert target_mailbox("#1234 [User : a@b.example] invoice") == "a@b.example"
    assert target_mailbox("invoice a@b.example") == ""
    assert target_mailbox(None) == ""
    frame = pd.DataFrame(
        {"time": [1], "search_text": ["[User : x@y.example]"], "search_reason": ["r"]}
    )
    assert list(with_targets(frame).columns) == ["time", "search_text", "target", "search_reason"]
    assert list(with_targets(frame)["target"]) == ["x@y.example"]
