"""The dashboard's logic without Streamlit: filters ↔ query string, safe exports, figures,
notices and formatting."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, quote, urlencode

import pandas as pd
import pytest

from config.settings import POLL_SECONDS_RANGE, load_settings
from dashboard import audit, export, figures
from dashboard.colours import LIGHT
from dashboard.context import Context
from dashboard.filters import (
    default_filters,
    filter_part,
    filters_to_query,
    month_end,
    parse_day,
    parse_email,
    parse_filters,
    parse_month,
    parse_year,
    shift_month,
)
from dashboard.formatting import escape_markdown, format_age, format_bytes, literal, plural
from dashboard.notices import data_warnings, describe_filters, is_loopback_url
from dashboard.routes import USER
from db.queries import IngestHealth, SearchFilters
from tests.support.tenancy import SCOPE

TODAY = date(2026, 3, 31)

# --- filters ↔ query string -------------------------------------------------------------


def test_no_query_string_means_the_last_30_days_with_everyone() -> None:
    filters, problems = parse_filters({}, SCOPE, TODAY)
    assert problems == []
    assert filters == default_filters(SCOPE, TODAY)
    assert (filters.start, filters.end) == (date(2026, 3, 2), TODAY)
    assert filters.include_system is True
    assert filters_to_query(filters) == {"from": "2026-03-02", "to": "2026-03-31"}


def test_every_filter_survives_the_round_trip() -> None:
    filters = SearchFilters(
        SCOPE,
        start=date(2026, 1, 5),
        end=date(2026, 2, 7),
        users=("a@example.com", "kate.o'neil@example.com", "<>"),
        sources=("archive", "console"),
        descriptions=("Audit [Page 1] - Depth 100", "Saved: Finance & Q4"),
        text="=HYPERLINK & 100%",
        include_system=False,
    )
    query = filters_to_query(filters)
    assert query == {
        "from": "2026-01-05",
        "to": "2026-02-07",
        "user": ["a@example.com", "kate.o'neil@example.com", "<>"],
        "source": ["archive", "console"],
        "type": ["Audit [Page 1] - Depth 100", "Saved: Finance & Q4"],
        "q": "=HYPERLINK & 100%",
        "system": "exclude",
    }
    assert parse_filters(query, SCOPE, TODAY, filters.users) == (filters, [])


def test_filter_part_keeps_only_filter_keys_as_lists() -> None:
    assert filter_part({"email": "a@example.com", "from": "2026-01-01", "user": ["a", "b"]}) == {
        "from": ["2026-01-01"],
        "user": ["a", "b"],
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2026-13-01"}, "Ignored from='2026-13-01': not a date"),
        ({"to": "yesterday"}, "Ignored to='yesterday': not a date"),
        ({"from": "1066-10-14"}, "Ignored from='1066-10-14': not a date between"),
        ({"from": "2026-03-20", "to": "2026-03-10"}, "The date range ends (2026-03-10) before"),
    ],
)
def test_bad_dates_fall_back_to_the_default_range_with_one_message(
    query: dict[str, str], message: str
) -> None:
    filters, problems = parse_filters(query, SCOPE, TODAY)
    assert len(problems) == 1 and problems[0].startswith(message)
    assert (filters.start, filters.end) == (date(2026, 3, 2), TODAY)


def test_one_good_date_is_kept_when_the_other_is_bad() -> None:
    filters, problems = parse_filters({"from": "2026-03-20", "to": "2026-02-31"}, SCOPE, TODAY)
    assert (filters.start, filters.end) == (date(2026, 3, 20), TODAY)
    assert len(problems) == 1


STORED_USERS = frozenset(
    {"admin@example.com", "<>", "kate.o'neil@example.com", "zoë.brandt@example.de"}
)
HOSTILE_ADDRESSES = (
    "",
    "a b@x.com",
    '"john doe"@example.com',
    "svc:backup@x.com",
    "a@b@c.com",
    "x" * 390 + "@example.com",
    "100%@x.com",
    "a+b&c=d#e?f/g@x.com",
    " lead@x.com",
)


def test_bad_users_are_dropped_and_good_ones_normalised() -> None:
    query = {"user": ["Admin@Example.com", "not an address", "<script>", "<>", "admin@example.com"]}
    filters, problems = parse_filters(query, SCOPE, TODAY, STORED_USERS)
    assert filters.users == ("admin@example.com", "<>")
    assert problems == [
        "Ignored 2 values of user ('not an address', '<script>'): "
        "no search by this address is stored."
    ]


def test_three_hundred_bad_users_give_one_warning() -> None:
    query = {"user": [f"nobody{i}@example.com" for i in range(300)] + ["admin@example.com"]}
    filters, problems = parse_filters(query, SCOPE, TODAY, STORED_USERS)
    assert filters.users == ("admin@example.com",)
    assert problems == [
        "Ignored 300 values of user ('nobody0@example.com', 'nobody1@example.com', "
        "'nobody2@example.com' and 297 more): no search by this address is stored."
    ]


def test_other_bad_values_are_reported_and_ignored() -> None:
    query = {
        "system": "maybe",
        "source": ["archive", "bad\x00value", ""],
        "q": "x" * 250,
    }
    filters, problems = parse_filters(query, SCOPE, TODAY)
    assert filters.include_system is True
    assert filters.sources == ("archive",)
    assert filters.text == "x" * 200
    assert len(problems) == 3
    assert any(p.startswith("Ignored system='maybe'") for p in problems)
    assert any(p.startswith("Ignored 2 values of source (") for p in problems)


def test_long_values_are_shortened_in_messages() -> None:
    _, problems = parse_filters({"user": "y" * 500}, SCOPE, TODAY, STORED_USERS)
    assert problems == [f"Ignored user='{'y' * 39}…': no search by this address is stored."]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("admin@example.com", "admin@example.com"),
        ("  Zoë.Brandt@Example.DE ", "zoë.brandt@example.de"),
        ("kate.o'neil@example.com", "kate.o'neil@example.com"),
        ("<>", "<>"),
        ("nobody@example.com", None),
        ("admin", None),
        ("<img src=x>@x", None),
        ("", None),
    ],
)
def test_parse_email_names_a_stored_address_or_nothing(raw: str, expected: str | None) -> None:
    assert parse_email(raw, STORED_USERS) == expected


@pytest.mark.parametrize("stored", HOSTILE_ADDRESSES)
def test_every_stored_address_round_trips_through_its_user_link(stored: str) -> None:
    """The summary's link for any stored address opens that very address (issue 8 § 6)."""
    context = Context(
        settings=load_settings({}),
        db_url="sqlite://",
        version="1",
        tz="UTC",
        today=TODAY,
        filters=default_filters(SCOPE, TODAY),
        health=IngestHealth(False, None, None, None, None),
        scope=SCOPE,
    )
    link = context.link(USER, email=stored)
    path, _, query = link.partition("?")
    params = parse_qs(query, keep_blank_values=True)  # as Streamlit reads a URL
    assert path == "user" and params["email"] == [stored]
    assert parse_email(params["email"][0], {stored, "other@example.com"}) == stored


@pytest.mark.parametrize("stored", HOSTILE_ADDRESSES)
def test_a_user_filter_keeps_any_stored_address(stored: str) -> None:
    query = filters_to_query(SearchFilters(SCOPE, start=TODAY, end=TODAY, users=(stored,)))
    encoded = urlencode(query, doseq=True, quote_via=quote)
    filters, problems = parse_filters(
        parse_qs(encoded, keep_blank_values=True), SCOPE, TODAY, {stored}
    )
    assert (filters.users, problems) == ((stored,), [])


def test_parse_day_month_and_year() -> None:
    assert parse_day("2026-03-29") == date(2026, 3, 29)
    assert parse_day("2026-02-30") is None
    assert parse_day("20260329") is None
    assert parse_day("2026-3-9") is None
    assert parse_month("2026-03") == date(2026, 3, 1)
    assert parse_month("2026-13") is None
    assert parse_month("2026-00") is None
    assert parse_month("March") is None
    assert parse_year("2026") == 2026
    assert parse_year("26") is None
    assert parse_year("9999") is None


def test_month_arithmetic() -> None:
    assert month_end(date(2026, 2, 1)) == date(2026, 2, 28)
    assert month_end(date(2028, 2, 1)) == date(2028, 2, 29)
    assert month_end(date(2026, 12, 1)) == date(2026, 12, 31)
    assert shift_month(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert shift_month(date(2026, 12, 1), 1) == date(2027, 1, 1)
    assert shift_month(date(2026, 3, 1), 14) == date(2027, 5, 1)


# --- CSV and JSON -----------------------------------------------------------------------


def hostile_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": pd.to_datetime(
                ["2026-03-29T23:30:00Z", "2026-03-29T00:30:00Z", "2026-03-28T10:00:00Z"],
                utc=True,
            ).tz_convert("Europe/Berlin"),
            "email": ["a@example.com", "<>", "b@example.com"],
            "search_text": ['=HYPERLINK("http://evil","x")', "+1+1", "-2"],
            "search_reason": ["@SUM(A1)", "\tTab", 'budget; =HYPERLINK("http://evil")'],
            "description": ["\rCR", "line one\nline two", "plain, with comma"],
            "searches": [-2, 3, 0],
        }
    )


GOLDEN_CSV = (
    '"time","email","search_text","search_reason","description","searches"\r\n'
    '"2026-03-30T01:30:00+02:00","a@example.com","\'=HYPERLINK(""http://evil"",""x"")",'
    '"\'@SUM(A1)","\'\rCR","-2"\r\n'
    '"2026-03-29T01:30:00+01:00","<>","\'+1+1","\'\tTab","line one\nline two","3"\r\n'
    '"2026-03-28T11:00:00+01:00","b@example.com","\'-2",'
    '"budget;\' =HYPERLINK(""http://evil"")","plain, with comma","0"\r\n'
)


def test_csv_neutralises_formulas_in_every_text_column() -> None:
    assert export.to_csv(hostile_frame()) == GOLDEN_CSV


def test_streamed_csv_is_the_same_file_with_one_header() -> None:
    frame = hostile_frame()
    chunks = [frame.iloc[:1], frame.iloc[1:1], frame.iloc[1:]]
    assert export.csv_from_chunks(chunks, frame.columns) == GOLDEN_CSV.encode("utf-8")


def test_an_empty_export_still_has_its_header() -> None:
    assert export.csv_from_chunks([], ["time", "email"]) == b'"time","email"\r\n'


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_neutralise_each_dangerous_first_character(start: str) -> None:
    assert export.neutralise(f"{start}1") == f"'{start}1"


def test_neutralise_leaves_safe_values_alone() -> None:
    assert export.neutralise("a=1") == "a=1"
    assert export.neutralise("a;b; c=1;100%") == "a;b; c=1;100%"
    assert export.neutralise(-2) == -2
    assert export.neutralise(None) is None


def test_per_day_downloads_match_the_original_api() -> None:
    per_day = pd.DataFrame(
        {"date": [date(2026, 3, 1), date(2026, 3, 2)], "searches": pd.Series([4, 0])}
    )
    assert export.per_day_json(per_day) == (
        '[{"date": "2026-03-01", "count": 4}, {"date": "2026-03-02", "count": 0}]'
    )
    assert export.per_day_csv(per_day) == (
        '"date","searches"\r\n"2026-03-01","4"\r\n"2026-03-02","0"\r\n'
    )


def test_download_names_are_safe_on_every_system() -> None:
    assert export.file_name("searches", "kate.o'neil@example.com", date(2026, 3, 1)) == (
        "searches_kate.o_neil_at_example.com_2026-03-01.csv"
    )
    assert export.file_name("searches", "<>", suffix="json") == "searches.json"


# --- figures ----------------------------------------------------------------------------


def march(counts: dict[int, int] | None = None) -> pd.DataFrame:
    days = [date(2026, 3, d) for d in range(1, 32)]
    counts = counts or {}
    return pd.DataFrame({"date": days, "searches": [counts.get(d.day, 0) for d in days]})


def test_month_calendar_places_each_day_under_its_weekday() -> None:
    figure = figures.calendar_figure(march({1: 5, 31: 7}), view="month")
    trace = figure.data[0]
    assert trace.type == "scatter" and trace.marker.symbol == "square"
    assert len(trace.x) == 31
    where = {row[0]: (x, y) for row, x, y in zip(trace.customdata, trace.x, trace.y, strict=True)}
    assert where["2026-03-01"] == (0, 6)  # a Sunday: first column, bottom row
    assert where["2026-03-02"] == (1, 0)  # Monday: next week, top row
    assert where["2026-03-31"] == (5, 1)  # Tuesday of the sixth week
    assert (trace.customdata[0][2], trace.customdata[30][2]) == (5, 7)
    colours = list(trace.marker.color)  # 5 of 7 is in the third quarter, 7 the fourth
    assert (colours[0], colours[30]) == (LIGHT.shades[3], LIGHT.shades[4])
    assert list(trace.text)[:3] == ["1", "2", "3"]
    assert list(figure.layout.yaxis.ticktext) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def test_year_calendar_has_every_day_and_month_labels() -> None:
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]
    per_day = pd.DataFrame({"date": days, "searches": [n % 5 for n in range(365)]})
    figure = figures.calendar_figure(per_day, view="year")
    layout = figures.calendar_layout(days)
    assert len(figure.data[0].x) == 365
    assert layout.iloc[0].to_dict() == {"date": date(2026, 1, 1), "row": 3, "column": 0}
    assert layout.iloc[-1].to_dict() == {"date": date(2026, 12, 31), "row": 3, "column": 52}
    assert list(figure.layout.xaxis.ticktext) == list(figures.MONTH_NAMES)
    assert (
        figure.layout.xaxis.tickvals[2]
        == layout.loc[layout["date"] == date(2026, 3, 1)].iloc[0]["column"]
    )


def test_future_days_get_the_plain_future_shade() -> None:
    figure = figures.calendar_figure(march(), view="month", today=date(2026, 3, 29))
    colours = list(figure.data[0].marker.color)
    assert colours[28] == LIGHT.shades[0] and colours[29] == colours[30] == LIGHT.future


def test_a_clicked_calendar_point_gives_its_day() -> None:
    per_day = march()
    clicked = {"selection": {"points": [{"customdata": ["2026-03-14", "Sat", 3]}]}}
    assert figures.selected_day(clicked, per_day) == date(2026, 3, 14)
    by_index = {"selection": {"points": [{"point_index": 4}]}}
    assert figures.selected_day(by_index, per_day) == date(2026, 3, 5)
    assert figures.selected_day({"selection": {"points": []}}, per_day) is None
    assert figures.selected_day(None, per_day) is None


def test_hour_weekday_heatmap_puts_counts_in_their_cells() -> None:
    grid = pd.DataFrame(
        [(w, h, 0) for w in range(7) for h in range(24)], columns=["weekday", "hour", "searches"]
    )
    grid.loc[(grid["weekday"] == 6) & (grid["hour"] == 2), "searches"] = 9
    figure = figures.hour_weekday_heatmap(grid)
    z = figure.data[0].z
    assert len(z) == 7 and all(len(row) == 24 for row in z)
    assert z[6][2] == 9 and sum(map(sum, z)) == 9
    office = figure.layout.shapes[0]
    assert (office.x0, office.x1, office.y0, office.y1) == (7.5, 17.5, -0.5, 4.5)


def test_per_day_bars() -> None:
    figure = figures.per_day_bars(march({2: 4}))
    assert list(figure.data[0].x)[:2] == ["2026-03-01", "2026-03-02"]
    assert list(figure.data[0].y)[:2] == [0, 4]


# --- notices and formatting -------------------------------------------------------------

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def health(**changes: object) -> IngestHealth:
    values: dict[str, object] = {
        "has_searches": True,
        "last_ok_finished": NOW - timedelta(minutes=30),
        "last_run_status": "ok",
        "last_run_finished": NOW - timedelta(minutes=30),
        "last_run_error": None,
    }
    values.update(changes)
    return IngestHealth(**values)  # type: ignore[arg-type]


def test_no_warning_when_the_last_poll_is_recent() -> None:
    assert data_warnings(health(), 3600, NOW) == []


def test_warning_when_the_last_poll_is_older_than_twice_the_interval() -> None:
    stale = health(last_ok_finished=NOW - timedelta(hours=2, minutes=1))
    (line,) = data_warnings(stale, 3600, NOW)
    assert line.startswith("The last successful ingest finished 2 h 1 min ago")
    assert data_warnings(health(last_ok_finished=NOW - timedelta(hours=2)), 3600, NOW) == []


def test_staleness_check_survives_the_largest_poll_interval() -> None:
    # A timedelta of 2 × 10**14 s overflows; the check must not (issue 8 § 7).
    for poll_seconds in (POLL_SECONDS_RANGE[1], 10**14):
        assert data_warnings(health(), poll_seconds, NOW) == []


def test_empty_database_says_how_to_run_the_ingest() -> None:
    (line,) = data_warnings(health(has_searches=False, last_ok_finished=None), 3600, NOW)
    assert "`python -m ingest run --once`" in line


def test_a_failed_last_run_is_reported_with_its_error_escaped() -> None:
    failed = health(last_run_status="failed", last_run_error="HTTP 500: **boom** <b>")
    lines = data_warnings(failed, 3600, NOW)
    assert lines == ["The latest ingest run failed: HTTP 500\\: \\*\\*boom\\*\\* \\<b\\>"]


def test_active_filters_are_named_next_to_the_figures() -> None:
    assert describe_filters(default_filters(SCOPE, TODAY)) is None
    filters = SearchFilters(
        SCOPE,
        start=TODAY,
        end=TODAY,
        users=("a@example.com", "b@example.com", "c@example.com", "d@example.com"),
        descriptions=("**x**",),
        text="`<img>`",
        include_system=False,
    )
    assert describe_filters(filters) == (
        "Filtered: user `a@example.com`, `b@example.com`, `c@example.com`, and 1 more · "
        "search type `**x**` · search text contains `` `<img>` `` · "
        "without the system sender `<>`"
    )
    assert describe_filters(filters, users=False).startswith("Filtered: search type")


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://localhost:8080", True),
        ("http://[::1]:8080", True),
        ("http://127.3.0.9", True),
        ("https://api.services.mimecast.com", False),
        ("http://localhost.evil.example", False),
    ],
)
def test_demo_banner_detects_loopback_hosts(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


def test_escape_markdown_shows_text_as_typed() -> None:
    assert escape_markdown("**x** [a](b) :red[c] $d$ <e>\nf") == (
        "\\*\\*x\\*\\* \\[a\\]\\(b\\) \\:red\\[c\\] \\$d\\$ \\<e\\> f"
    )


def test_literal_fences_text_in_a_code_span() -> None:
    assert literal("kate.o'neil@example.com") == "`kate.o'neil@example.com`"
    assert literal("a`b") == "``a`b``"
    assert literal("`x`") == "`` `x` ``"
    assert literal("line\nbreak") == "`line break`"


def test_formatting_helpers() -> None:
    assert format_age(timedelta(seconds=45)) == "45 s"
    assert format_age(timedelta(minutes=12, seconds=5)) == "12 min"
    assert format_age(timedelta(hours=3, minutes=5)) == "3 h 5 min"
    assert format_age(timedelta(days=2, hours=4)) == "2 d 4 h"
    assert format_age(timedelta(hours=1)) == "1 h"
    assert format_age(timedelta(days=3, minutes=5)) == "3 d"
    assert format_bytes(512) == "512 bytes"
    assert format_bytes(1536) == "1.5 KB"
    assert format_bytes(5 * 1024**3) == "5.0 GB"
    assert plural(1, "search") == "1 search"
    assert plural(2, "search") == "2 searches"
    assert plural(1234, "user") == "1,234 users"


# --- the audit page -------------------------------------------------------------------


def test_audit_filters_column_cannot_be_imitated_by_a_crafted_search_text() -> None:
    honest = json.dumps({"q": "x", "user": ["boss@example.com"]})
    crafted = json.dumps({"q": "x · user=boss@example.com"})
    crafted_quotes = json.dumps({"q": 'x" · user="boss@example.com'})
    shown = [audit.readable_filters(value) for value in (honest, crafted, crafted_quotes)]
    assert shown[0] == 'q="x" · user=["boss@example.com"]'
    assert shown[1] == 'q="x · user=boss@example.com"'
    assert shown[2] == 'q="x\\" · user=\\"boss@example.com"'
    assert len(set(shown)) == 3
    # Each shown value reads back as exactly what was stored.
    for stored, text in zip((honest, crafted, crafted_quotes), shown, strict=True):
        assert readable_back(text) == json.loads(stored)


def readable_back(text: str) -> dict[str, object]:
    """Parse `key=<json> · key=<json>` back, the way a careful reader would."""
    decoder = json.JSONDecoder()
    values: dict[str, object] = {}
    rest = text
    while rest:
        key, _, rest = rest.partition("=")
        value, end = decoder.raw_decode(rest)
        values[key] = value
        rest = rest[end:].removeprefix(" · ")
    return values


def test_audit_filters_column_reads_missing_and_odd_values() -> None:
    assert audit.readable_filters(None) == ""
    assert audit.readable_filters(float("nan")) == ""
    assert audit.readable_filters("not json") == '"not json"'
    assert audit.readable_filters("[1, 2]") == "[1, 2]"
