"""Every page driven through `streamlit.testing.v1.AppTest`, over a database with known rows:
the figures shown, filters in the URL, and friendly messages for bad links, empty or stale
data and broken settings — never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import Engine, text, update
from streamlit.testing.v1 import AppTest

from dashboard.audit import DownloadNotRecorded
from dashboard.formatting import format_bytes
from db.models import IngestRun
from ingest.store import Store
from tests.support.apptest import (  # noqa: F401 (page_*: the page fixtures)
    APP,
    MARCH,
    PAGES,
    assert_clean,
    deferred_files,
    metrics,
    open_page,
    outside_code_spans,
    page_db_file,
    page_engine,
    page_known,
    plain,
    texts,
)
from tests.support.builders import record, store_records
from tests.support.tenancy import TENANT

# --- summary ------------------------------------------------------------------------------


def test_summary_shows_exact_figures(known: Engine) -> None:
    at = open_page("summary", **MARCH)
    assert_clean(at)
    shown = metrics(at)
    # In Berlin, c's search (22:30 UTC on the 31st) is on 1 April: outside the range.
    assert shown["Searches"] == "6"
    assert shown["Active users"] == "3"
    assert shown["Busiest day"] == "2026-03-29"
    busiest = next(m for m in at.metric if m.label == "Busiest day")
    assert busiest.delta == "Sun · 3 searches"
    table = at.dataframe[0].value
    assert list(table["email"]) == ["a@example.com", "b@example.com", "<>"]
    assert list(table["searches"]) == [3, 2, 1]
    assert list(table["active_days"]) == [3, 1, 1]
    assert table["history"][0] == "user?from=2026-03-28&to=2026-03-31&email=a%40example.com"
    assert at.download_button[0].label == "Download this table (CSV)"


def test_rows_from_a_new_poll_show_on_the_next_rerun(known: Engine) -> None:
    at = open_page("summary", **MARCH)
    assert metrics(at)["Searches"] == "6"
    store_records(known, [record("2026-03-30T09:00:00", "new@example.com")])
    at.run()
    assert metrics(at)["Searches"] == "7"
    assert "new@example.com" in list(at.dataframe[0].value["email"])


def test_time_zone_and_last_ingest_are_on_every_page(known: Engine) -> None:
    for name in PAGES:
        at = open_page(name, **MARCH)
        assert_clean(at)
        assert any("Times and days in **Europe/Berlin**" in line for line in texts(at)), name


def test_filters_come_from_the_url(known: Engine) -> None:
    at = open_page("summary", **MARCH, user="B@example.com")
    assert metrics(at)["Searches"] == "2"
    assert at.multiselect(key="filter_users").value == ["b@example.com"]
    assert "Filtered: user `b@example.com`" in [c.value for c in at.caption]
    at = open_page("summary", **MARCH, system="exclude")
    assert metrics(at)["Searches"] == "5"
    assert not at.toggle(key="filter_system").value
    at = open_page("summary", **MARCH, source="console", q="DONE")
    assert metrics(at)["Searches"] == "1"


def test_changing_a_filter_rewrites_the_url(known: Engine) -> None:
    at = open_page("summary", **MARCH)
    at.toggle(key="filter_system").set_value(False).run()
    assert at.query_params["system"] == "exclude"
    assert metrics(at)["Searches"] == "5"
    at.multiselect(key="filter_users").select("a@example.com").run()
    assert at.query_params["user"] == "a@example.com"
    assert metrics(at)["Searches"] == "3"
    reset = next(button for button in at.sidebar.button if button.label == "Reset filters")
    reset.click().run()
    assert "user" not in at.query_params and "system" not in at.query_params


def test_filters_stay_when_the_sidebar_navigation_drops_the_query_string(
    known: Engine,
) -> None:
    at = open_page("summary", **MARCH, user="b@example.com")
    at.switch_page("pages/calendar.py")
    at.query_params.clear()  # what a click in the page menu does
    at.query_params["month"] = "2026-03"
    at.run()
    assert_clean(at)
    assert metrics(at)["Searches in March 2026"] == "2"
    assert at.query_params["user"] == "b@example.com"


def test_a_page_shows_what_it_last_showed_when_opened_without_parameters(
    known: Engine,
) -> None:
    at = open_page("calendar", month="2026-02", **MARCH)
    assert "Searches in February 2026" in metrics(at)
    at.switch_page("pages/day.py")
    at.query_params.clear()
    at.query_params["date"] = "2026-03-29"
    at.run()
    at.switch_page("pages/calendar.py")
    at.query_params.clear()  # the menu (or the back button) brings no month
    at.run()
    assert_clean(at)
    assert "Searches in February 2026" in metrics(at)
    assert at.query_params["month"] == "2026-02"
    assert "date" not in at.query_params  # the day page's parameter is not carried over


def test_the_status_page_is_not_filtered(known: Engine) -> None:
    at = open_page("status", **MARCH, user="b@example.com")
    assert_clean(at)
    assert at.multiselect(key="filter_users").disabled
    assert metrics(at)["Searches stored"] == "9"
    assert any("The status page is not filtered." in c.value for c in at.sidebar.caption)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-13-01"}, "Ignored from='2026-13-01': not a date"),
        ({"from": "2026-03-20", "to": "2026-03-01"}, "The date range ends (2026-03-01) before"),
        ({"user": "<img src=x onerror=alert(1)>"}, "Ignored user='<img src=x onerror=alert(1)>'"),
        ({"system": "[x](javascript:alert(1))"}, "Ignored system='[x](javascript:alert(1))'"),
    ],
)
def test_bad_link_values_give_one_warning_and_defaults(
    known: Engine, params: dict[str, str], message: str
) -> None:
    at = open_page("summary", **params)
    assert_clean(at)
    warnings = [plain(w.value) for w in at.warning]
    assert len(warnings) == 1 and warnings[0].startswith(message)
    # the link's raw value is shown escaped, never as Markdown
    assert "](" not in at.warning[0].value.replace("\\]\\(", "")
    assert at.query_params["from"] != params.get("from")


# --- notices --------------------------------------------------------------------------


def test_empty_database_says_how_to_run_the_ingest_on_every_page(engine: Engine) -> None:
    for name in PAGES:
        at = open_page(name)
        assert_clean(at)
        assert any("python -m ingest run --once" in w.value for w in at.warning), name
    assert metrics(open_page("summary"))["Searches"] == "0"


def test_stale_data_is_flagged(known: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLL_SECONDS", "3600")
    assert not any("successful ingest" in w.value for w in open_page("summary").warning)
    with known.begin() as conn:
        conn.execute(update(IngestRun).values(finished_at=datetime.now(UTC) - timedelta(hours=3)))
    at = open_page("day", date="2026-03-29")
    (warning,) = [plain(w.value) for w in at.warning]
    assert "The last successful ingest finished 3 h ago" in warning
    assert "POLL_SECONDS (3,600 s)" in warning


def test_demo_banner_when_the_api_is_on_this_machine(
    known: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not any("Demo data" in i.value for i in open_page("summary").info)
    monkeypatch.setenv("MIMECAST_BASE_URL", "http://127.0.0.1:8080")
    for name in PAGES:
        at = open_page(name, **MARCH)
        assert any(i.value.startswith("**Demo data**") for i in at.info), name


def test_demo_banner_shows_the_simulators_url_redacted(
    known: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "http://sim:Pr0xyPass@127.0.0.1:8080/?token=t0ken-secret"
    monkeypatch.setenv("MIMECAST_BASE_URL", url)
    at = open_page("summary", **MARCH)
    (banner,) = [plain(i.value) for i in at.info if "Demo data" in i.value]
    assert "(http://sim:***@127.0.0.1:8080/?token=***)" in banner
    shown = " ".join(texts(at))
    assert "Pr0xyPass" not in shown and "t0ken-secret" not in shown


def test_invalid_settings_are_one_error_line(db_file: Path, monkeypatch) -> None:
    monkeypatch.setenv("DISPLAY_TZ", "Mars/Olympus_Mons")
    at = open_page("summary")
    assert_clean(at)
    (error,) = [plain(e.value) for e in at.error]
    # The page may be seen before sign-in: it names no setting and no value (the log does).
    assert error.startswith("Configuration error: a setting is invalid")
    assert "DISPLAY_TZ" not in error and "Mars" not in error


def test_a_file_that_is_not_a_database_is_one_error_line(db_file: Path) -> None:
    db_file.write_bytes(b"this is not a database" * 100)
    at = open_page("summary")
    assert_clean(at)
    (error,) = [plain(e.value) for e in at.error]
    assert error.startswith("Cannot open the database:")
    assert "is not a SQLite database" in error


# --- user -----------------------------------------------------------------------------


def test_user_page_shows_their_figures_and_searches(known: Engine) -> None:
    at = open_page("user", email="A@example.com", **MARCH)
    assert_clean(at)
    assert at.subheader[0].value == "`a@example.com`"
    shown = metrics(at)
    assert (shown["Searches"], shown["Active days"], shown["With a reason"]) == ("3", "3", "33%")
    rows = at.dataframe[0].value
    assert list(rows["search_text"]) == [
        '=HYPERLINK("http://evil","x")',
        "Invoice March",
        "invoice",
    ]
    assert "email" not in rows.columns
    assert at.download_button[0].label == "Download all 3 searches (CSV)"
    assert len(at.get("plotly_chart")) == 2


def test_user_list_is_paged(engine: Engine) -> None:
    start = datetime(2026, 3, 28, tzinfo=UTC)
    store_records(
        engine,
        [
            record((start + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S"), "p@example.com")
            for n in range(230)
        ],
    )
    at = open_page("user", email="p@example.com", **MARCH)
    assert_clean(at)
    assert len(at.dataframe[0].value) == 100
    at.pagination[0].select(3).run()
    assert len(at.dataframe[0].value) == 30
    assert any(c.value.startswith("Rows 201–230 of 230") for c in at.caption)


def test_user_page_without_or_with_a_bad_address_offers_a_choice(known: Engine) -> None:
    at = open_page("user", **MARCH)
    assert_clean(at)
    assert at.selectbox[0].label == "Choose a user"
    at = open_page("user", email="not-an-address", **MARCH)
    assert_clean(at)
    assert [plain(w.value) for w in at.warning] == [
        "Ignored email='not-an-address': no search by this address is stored."
    ]
    at.selectbox[0].select("b@example.com").run()
    assert at.query_params["email"] == "b@example.com"
    assert metrics(at)["Searches"] == "2"


def test_hostile_text_is_never_rendered_as_markup(engine: Engine) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    store_records(
        engine,
        [
            record(
                "2026-03-29T10:00:00",
                "x@example.com",
                searchText=hostile,
                searchReason="**bold** [link](javascript:alert(1))",
                description=":red[Saved] $x$ <script>",
            )
        ],
    )
    for name, params in [
        ("summary", {}),
        ("user", {"email": "x@example.com"}),
        ("day", {"date": "2026-03-29"}),
        ("calendar", {"month": "2026-03"}),
    ]:
        at = open_page(name, **MARCH, **params)
        assert_clean(at)
        for element in [*at.markdown, *at.caption, *at.warning, *at.info, *at.subheader]:
            rendered = outside_code_spans(element.value)
            assert "<img" not in rendered and "<script" not in rendered, name
            assert ":red[" not in rendered and "](javascript" not in rendered, name
    at = open_page("user", email="x@example.com", **MARCH)
    assert list(at.dataframe[0].value["search_text"]) == [hostile]
    assert any("`:red[Saved] $x$ <script>`" in m.value for m in at.markdown)


# --- calendar -----------------------------------------------------------------------------


def test_calendar_month_shows_searches_per_day(known: Engine) -> None:
    at = open_page("calendar", month="2026-03")
    assert_clean(at)
    shown = metrics(at)
    assert shown["Searches in March 2026"] == "6"
    assert shown["Days with searches"] == "3"
    assert shown["Busiest day"] == "2026-03-29"
    assert {b.label for b in at.download_button} == {"Per day (CSV)", "Per day (JSON)"}
    assert len(at.get("plotly_chart")) == 1


def test_calendar_year_view_and_navigation(known: Engine) -> None:
    at = open_page("calendar", year="2026")
    assert_clean(at)
    assert metrics(at)["Searches in 2026"] == "9"
    next(b for b in at.button if b.label == "2027 →").click().run()
    assert at.query_params["year"] == "2027"
    assert metrics(at)["Searches in 2027"] == "0"
    at = open_page("calendar", month="2026-03")
    next(b for b in at.button if b.label == "← Feb 2026").click().run()
    assert at.query_params["month"] == "2026-02"
    assert "Searches in February 2026" in metrics(at)


def test_calendar_rejects_an_unknown_month(known: Engine) -> None:
    at = open_page("calendar", month="2026-13", **MARCH)
    assert_clean(at)
    (warning,) = [plain(w.value) for w in at.warning]
    assert warning.startswith("Ignored month='2026-13': expected YYYY-MM")
    assert "Searches in March 2026" in metrics(at)  # the month of the range's end


def test_calendar_date_picker_opens_the_day(known: Engine) -> None:
    at = open_page("calendar", month="2026-03", **MARCH)
    at.date_input(key="open_day").set_value(datetime(2026, 3, 29).date())
    next(b for b in at.button if b.label == "Open day").click().run()
    assert_clean(at)
    assert at.title[0].value == "Day"
    assert at.query_params["date"] == "2026-03-29"
    assert at.query_params["from"] == "2026-03-28"


# --- day --------------------------------------------------------------------------------


def test_day_groups_searches_by_user(known: Engine) -> None:
    at = open_page("day", date="2026-03-29", **MARCH)
    assert_clean(at)
    shown = metrics(at)
    assert (shown["Searches"], shown["Users"]) == ("3", "2")
    assert [e.label for e in at.expander] == [
        "`b@example.com` — 2 searches",
        "`a@example.com` — 1 search",
    ]
    assert list(at.expander[0].dataframe[0].value["search_text"]) == [
        "100 percent_done",
        "100% done",
    ]
    assert list(at.expander[1].dataframe[0].value["search_text"]) == ["Invoice March"]


def test_busy_day_opens_the_40_busiest_users_and_lists_the_rest(engine: Engine) -> None:
    busy = [
        record(f"2026-03-29T10:{n % 60:02d}:00", f"user{n:03d}@example.com", searchText="x")
        for n in range(45)
        for _ in range(1 + (45 - n) // 10)
    ]
    store_records(engine, busy)
    at = open_page("day", date="2026-03-29", **MARCH)
    assert_clean(at)
    assert len(at.expander) == 40
    assert at.expander[0].label.startswith("`user000@example.com`")
    assert any("and 5 more users with fewer searches" in c.value for c in at.caption)
    rest = at.dataframe[-1].value
    assert list(rest["email"]) == [f"user{n:03d}@example.com" for n in range(40, 45)]


def test_day_previous_and_next(known: Engine) -> None:
    at = open_page("day", date="2026-03-29")
    next(b for b in at.button if b.label.endswith("→")).click().run()
    assert at.query_params["date"] == "2026-03-30"
    assert metrics(at)["Searches"] == "2"  # 01:30 CEST and the system's 14:00


def test_day_rejects_a_bad_date(known: Engine) -> None:
    at = open_page("day", date="2026-02-30")
    assert_clean(at)
    (warning,) = [plain(w.value) for w in at.warning]
    assert warning.startswith("Ignored date='2026-02-30': expected YYYY-MM-DD")


# --- status -------------------------------------------------------------------------------


def test_status_shows_the_ingest_state(known: Engine) -> None:
    at = open_page("status")
    assert_clean(at)
    shown = metrics(at)
    assert shown["Searches stored"] == "9"
    assert shown["Rejected records"] == "0"
    assert shown["Backfill done"] == "yes"
    assert shown["Cursor"] == "02:00:00"  # the zone is the page's, named once
    cursor = next(m for m in at.metric if m.label == "Cursor")
    assert cursor.delta.startswith("2026-04-01 · ")
    assert shown["Last failed poll"] == "never"
    runs = at.dataframe[0].value
    assert list(runs["status"]) == ["ok"] and list(runs["inserted"]) == [9]


def test_reset_cursor_needs_an_explicit_confirmation(known: Engine) -> None:
    at = open_page("status")
    reset = next(b for b in at.button if b.label == "Reset cursor")
    assert reset.disabled
    at.checkbox(key="confirm_reset_cursor").check().run()
    reset = next(b for b in at.button if b.label == "Reset cursor")
    assert not reset.disabled
    reset.click().run()
    assert_clean(at)
    assert [plain(s.value) for s in at.success] == ["Cursor reset: the next run backfills."]
    assert Store(known, TENANT).cursor() is None
    assert metrics(at)["Backfill done"] == "no"
    assert not at.checkbox(key="confirm_reset_cursor").value


def test_every_page_says_that_without_sign_in_anyone_who_can_reach_it_sees_the_data(
    known: Engine,
) -> None:
    for name in PAGES:
        at = open_page(name, **MARCH)
        assert_clean(at)
        assert any("No sign-in is configured" in c.value for c in at.caption), name


def test_streamlit_listens_on_loopback_unless_told_otherwise() -> None:
    import tomllib

    config = tomllib.loads((APP.parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"


# --- any stored address opens; downloads are audited as they are made ----------------------

HOSTILE_ADDRESSES = (
    "",
    "a b@x.com",
    '"john doe"@example.com',
    "svc:backup@x.com",
    "a@b@c.com",
    "x" * 388 + "@example.com",
)


@pytest.fixture
def odd_users(engine: Engine) -> Engine:
    """One search each by addresses as the archive stored them, none of them well formed."""
    store_records(
        engine,
        [
            record(f"2026-03-30T1{n}:00:00", address, searchText=f"s{n}")
            for n, address in enumerate(HOSTILE_ADDRESSES)
        ],
    )
    return engine


def test_every_user_the_summary_lists_opens_from_its_link(odd_users: Engine) -> None:
    summary = open_page("summary", **MARCH)
    assert_clean(summary)
    table = summary.dataframe[0].value
    assert sorted(table["email"]) == sorted(HOSTILE_ADDRESSES)
    for address, link in zip(table["email"], table["history"], strict=True):
        path, _, query = link.partition("?")
        params = {key: values[-1] for key, values in parse_qs(query, True).items()}
        assert path == "user" and params["email"] == address
        at = open_page("user", **params)
        assert_clean(at)
        assert not [w.value for w in at.warning if "Ignored" in w.value], address
        assert metrics(at)["Searches"] == "1", address
        assert at.query_params["email"] == [address] or at.query_params["email"] == address


def test_a_user_filter_keeps_any_stored_address(odd_users: Engine) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params.update({**MARCH, "user": list(HOSTILE_ADDRESSES)})
    at.run()
    assert_clean(at)
    assert not [w.value for w in at.warning if "Ignored" in w.value]
    assert metrics(at)["Active users"] == str(len(HOSTILE_ADDRESSES))


def test_many_unknown_users_in_a_link_give_one_warning(known: Engine) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30)
    users = [f"nobody{n}@example.com" for n in range(300)] + ["a@example.com"]
    at.query_params.update({**MARCH, "user": users})
    at.run()
    assert_clean(at)
    (warning,) = [plain(w.value) for w in at.warning]
    assert warning.startswith("Ignored 300 values of user (")
    assert metrics(at)["Active users"] == "1"


def leaves(block: Any) -> Iterator[Any]:
    """The elements under `block`, in the order the page shows them."""
    children = getattr(block, "children", None)
    if children is None:
        yield block
        return
    for key in sorted(children):
        yield from leaves(children[key])


def test_day_page_title_comes_before_anything_else(known: Engine) -> None:
    at = open_page("day", date="2026-03-29")
    assert_clean(at)
    first = next(element for element in leaves(at.main) if element.type != "empty")
    assert first.type == "title" and plain(first.value) == "Day"
    assert not [c for c in at.caption if "Users shown with their searches" in c.value]


def test_status_shows_the_database_and_its_wal_apart(known: Engine, db_file: Path) -> None:
    wal = db_file.with_name(db_file.name + "-wal")
    with known.connect() as reader:  # a reader keeps the WAL from being removed
        reader.exec_driver_sql("SELECT 1").all()
        assert wal.exists() and wal.stat().st_size > 0
        at = open_page("status")
        assert_clean(at)
        size = next(m for m in at.metric if m.label == "Database size")
        assert size.value == format_bytes(db_file.stat().st_size)
        assert size.delta == f"WAL {format_bytes(wal.stat().st_size)}"


def test_status_hides_secrets_in_the_database_url(
    known: Engine, db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db_file}?password=hunter2pw&sslkey=k3y")
    at = open_page("status")
    assert_clean(at)
    shown = " ".join([*texts(at), *(t.value for t in at.text)])
    assert "password=***" in shown
    assert "hunter2pw" not in shown and "k3y" not in shown


def export_rows(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT action, target, rows, detail FROM audit_events "
                    "WHERE action LIKE 'export%' ORDER BY id"
                )
            )
        ]


@pytest.mark.parametrize(
    ("page", "params", "label", "expected"),
    [
        ("summary", MARCH, "Download this table (CSV)", ("export_csv", "summary by user", 3)),
        (
            "user",
            {"email": "a@example.com", **MARCH},
            "Download all",
            ("export_csv", "a@example.com", 3),
        ),
        ("day", {"date": "2026-03-29"}, "Download", ("export_csv", "2026-03-29", 3)),
        ("calendar", {"month": "2026-03"}, "Per day (JSON)", ("export_json", "2026-03", 31)),
        ("calendar", {"month": "2026-03"}, "Per day (CSV)", ("export_csv", "2026-03", 31)),
    ],
)
def test_every_download_is_recorded_when_its_file_is_made_not_when_clicked(
    known: Engine, monkeypatch: pytest.MonkeyPatch, page, params, label, expected
) -> None:
    made = deferred_files(monkeypatch)
    at = open_page(page, **params)
    assert_clean(at)
    button = next(b for b in at.download_button if b.label.startswith(label))
    button.click().run()
    assert export_rows(known) == []  # a click alone yields no file, and records nothing
    file_id = button.proto.deferred_file_id
    assert file_id and not button.proto.url  # no address to fetch before the file is made
    content = made[file_id]()
    assert content and isinstance(content, bytes)
    (row,) = export_rows(known)
    assert row[:3] == expected and row[3]
    if row[0] == "export_csv":  # the entry counts the rows the file holds
        assert content.count(b"\r\n") - 1 == row[2]
    made[file_id]()
    assert len(export_rows(known)) == 2  # each file made is one entry


def test_a_download_whose_entry_cannot_be_written_is_not_served(
    known: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = deferred_files(monkeypatch)
    at = open_page("summary", **MARCH)
    file_id = at.download_button[0].proto.deferred_file_id
    with known.begin() as conn:
        conn.exec_driver_sql("DROP TABLE audit_events")
    with pytest.raises(DownloadNotRecorded):
        made[file_id]()
