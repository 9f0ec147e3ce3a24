"""Date presets beside the sidebar's date picker (`range=7d`): their days, counted back from
the day a page or link is opened; explicit `from`/`to` still work and win; the preset
stays in the URL and in the links a page builds; each tenant counts its own searches.

"Today" is pinned (`dashboard.context.today_in`), so no outcome depends on the clock."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from config.settings import SETTINGS
from dashboard import context
from dashboard.filters import PRESETS, filters_to_query, parse_filters, preset_days
from db.engine import open_database
from db.queries import SearchFilters
from tests.support.apptest import (  # noqa: F401 (page_*: the page fixtures)
    APP,
    assert_clean,
    metrics,
    page_db_file,
    page_engine,
    page_known,
    texts,
)
from tests.support.roles import app_as
from tests.support.tenancy import SCOPE
from tests.support.tenant_dashboard import (
    PLATFORM_ADMIN,
    SHARED_USER,
    fill_tenants,
    write_tenants_file,
)

MARCH_31 = date(2026, 3, 31)


def pin_today(monkeypatch: pytest.MonkeyPatch, today: date) -> None:
    monkeypatch.setattr(context, "today_in", lambda tz: today)


def open_summary(**params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params.clear()
    at.query_params.update(params)
    return at.run()


def dates_shown(at: AppTest) -> tuple[date, date]:
    return tuple(at.date_input(key="filter_dates").value)  # type: ignore[return-value]


# --- the presets' days ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "today", "first", "last"),
    [
        ("24h", MARCH_31, date(2026, 3, 30), MARCH_31),
        ("7d", MARCH_31, date(2026, 3, 25), MARCH_31),
        ("30d", MARCH_31, date(2026, 3, 2), MARCH_31),
        ("month", MARCH_31, date(2026, 3, 1), MARCH_31),
        ("last-month", MARCH_31, date(2026, 2, 1), date(2026, 2, 28)),
        ("last-month", date(2026, 1, 15), date(2025, 12, 1), date(2025, 12, 31)),
        ("year", MARCH_31, date(2026, 1, 1), MARCH_31),
    ],
)
def test_a_presets_days_are_whole_days_counted_back_from_today(
    key: str, today: date, first: date, last: date
) -> None:
    assert preset_days(key, today) == (first, last)


def test_a_range_link_shows_the_days_before_the_day_it_is_opened() -> None:
    monday, _ = parse_filters({"range": "7d"}, SCOPE, date(2026, 4, 6))
    later, problems = parse_filters({"range": "7d"}, SCOPE, date(2026, 4, 20))
    assert (monday.start, monday.end) == (date(2026, 3, 31), date(2026, 4, 6))
    assert (later.start, later.end) == (date(2026, 4, 14), date(2026, 4, 20))
    assert problems == []


def test_explicit_from_and_to_win_over_a_range() -> None:
    params = {"range": "year", "from": "2026-03-28", "to": "2026-03-29"}
    filters, problems = parse_filters(params, SCOPE, MARCH_31)
    assert (filters.start, filters.end) == (date(2026, 3, 28), date(2026, 3, 29))
    assert problems == []


def test_an_unknown_range_is_one_warning_and_the_default_days() -> None:
    filters, problems = parse_filters({"range": "<b>99y</b>"}, SCOPE, MARCH_31)
    assert (filters.start, filters.end) == (date(2026, 3, 2), MARCH_31)
    assert problems == [
        "Ignored range='<b>99y</b>': expected one of 24h, 7d, 30d, month, last-month, year."
    ]


def test_a_preset_is_written_to_the_link_instead_of_its_dates() -> None:
    filters = SearchFilters(SCOPE, start=date(2026, 3, 25), end=MARCH_31, users=("a@x.org",))
    assert filters_to_query(filters, "7d") == {"range": "7d", "user": ["a@x.org"]}
    assert filters_to_query(filters)["from"] == "2026-03-25"


# --- the sidebar, through AppTest -----------------------------------------------------------


def test_picking_a_preset_sets_the_dates_and_puts_the_range_in_the_url(
    known: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_today(monkeypatch, MARCH_31)
    at = open_summary(**{"from": "2026-03-01", "to": "2026-03-31"})
    presets = at.button_group(key="filter_range")
    assert list(presets.options) and presets.value is None
    presets.set_value("24h").run()
    assert_clean(at)
    assert dates_shown(at) == (date(2026, 3, 30), MARCH_31)
    assert at.query_params["range"] == "24h"
    assert "from" not in at.query_params and "to" not in at.query_params
    # In Berlin: A's (01:30 on the 30th) and the system's on the 30th; c's (22:30 UTC on
    # the 31st) is on 1 April.
    assert metrics(at)["Searches"] == "2"
    history = at.dataframe[0].value["history"]
    assert all(link.startswith("user?range=24h&email=") for link in history)


def test_picking_dates_by_hand_replaces_the_preset_with_from_and_to(
    known: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_today(monkeypatch, MARCH_31)
    at = open_summary(range="7d")
    assert at.button_group(key="filter_range").value == "7d"
    at.date_input(key="filter_dates").set_value((date(2026, 3, 28), date(2026, 3, 29))).run()
    assert_clean(at)
    assert at.button_group(key="filter_range").value is None
    assert "range" not in at.query_params
    assert (at.query_params["from"], at.query_params["to"]) == ("2026-03-28", "2026-03-29")
    assert metrics(at)["Searches"] == "4"


def test_a_range_link_opened_on_a_later_day_shows_that_days_range(
    known: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_today(monkeypatch, MARCH_31)
    at = open_summary(range="7d")
    assert dates_shown(at) == (date(2026, 3, 25), MARCH_31)
    assert metrics(at)["Searches"] == "6"
    pin_today(monkeypatch, date(2026, 4, 3))
    later = open_summary(range="7d")
    assert_clean(later)
    assert dates_shown(later) == (date(2026, 3, 28), date(2026, 4, 3))
    assert later.query_params["range"] == "7d"
    assert metrics(later)["Searches"] == "7"  # c's search on 1 April (Berlin) is in now


def test_the_same_session_follows_today_past_midnight(
    known: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_today(monkeypatch, date(2026, 3, 29))
    at = open_summary(range="24h")
    assert dates_shown(at) == (date(2026, 3, 28), date(2026, 3, 29))
    pin_today(monkeypatch, MARCH_31)
    at.run()
    assert dates_shown(at) == (date(2026, 3, 30), MARCH_31)
    assert at.query_params["range"] == "24h"


def test_an_unknown_range_in_a_link_is_one_warning(
    known: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_today(monkeypatch, MARCH_31)
    at = open_summary(range="fortnight")
    assert_clean(at)
    assert any("Ignored range='fortnight'" in line for line in texts(at))
    assert dates_shown(at) == (date(2026, 3, 2), MARCH_31)


# --- two tenants ---------------------------------------------------------------------------


@pytest.fixture
def tenants_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Three tenants whose searches differ (`tests/support/tenant_dashboard.py`), one
    address (`pat@shared.example`) in two of them."""
    monkeypatch.chdir(tmp_path)
    for spec in SETTINGS:
        monkeypatch.delenv(spec.name, raising=False)
    path = tmp_path / "dashboard.db"
    monkeypatch.setenv("DB_PATH", str(path))
    monkeypatch.setenv("DISPLAY_TZ", "Europe/Berlin")
    monkeypatch.setenv("TENANTS_FILE", str(write_tenants_file(tmp_path)))
    monkeypatch.setenv("ADMIN_EMAILS", PLATFORM_ADMIN)
    st.cache_data.clear()
    st.cache_resource.clear()
    engine = open_database(f"sqlite:///{path}")
    fill_tenants(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("tenant", "everyone", "shared"), [("acme", "3", "2"), ("globex", "5", "1")]
)
def test_a_preset_counts_only_the_tenants_own_searches(
    tenants_db: Engine,
    monkeypatch: pytest.MonkeyPatch,
    tenant: str,
    everyone: str,
    shared: str,
) -> None:
    pin_today(monkeypatch, MARCH_31)
    at = app_as({"email": PLATFORM_ADMIN})
    at.query_params.update({"tenant": tenant, "range": "7d"})
    at.run()
    assert_clean(at)
    assert metrics(at)["Searches"] == everyone
    at.multiselect(key="filter_users").select(SHARED_USER).run()
    assert metrics(at)["Searches"] == shared
    assert at.query_params["range"] == "7d" and at.query_params["tenant"] == tenant


def test_every_preset_has_a_label() -> None:
    assert all(PRESETS[key] for key in ("24h", "7d", "30d", "month", "last-month", "year"))
