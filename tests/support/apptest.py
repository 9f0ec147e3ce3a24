"""The pages driven through `streamlit.testing.v1.AppTest`: the page fixtures (the app's
settings pointing at a database file in `tmp_path`), opening a page with URL parameters,
and reading what it shows as displayed.

The page fixtures are `db_file`, `engine` and `known` (the latter two override the shared,
backend-matrix ones): a page test module imports `page_db_file, page_engine, page_known`."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from config.settings import SETTINGS
from dashboard.routes import ROUTES
from db.engine import open_database
from ingest.store import Store
from tests.support.builders import KNOWN, store_records
from tests.support.runtime import PROJECT_ROOT
from tests.support.tenancy import TENANT

APP = PROJECT_ROOT / "streamlit_app.py"
MARCH = {"from": "2026-03-28", "to": "2026-03-31"}
"""The known searches' days, as a page's query string."""
PAGES = {
    route.path or "summary": route.file if route.path else None
    for route in ROUTES
    if not route.admin_only
}
"""Every page that viewers see, by name, with the file AppTest switches to (None: the default)."""


@pytest.fixture(name="db_file")
def page_db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's settings point at an empty database file in `tmp_path`."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for spec in SETTINGS:
        monkeypatch.delenv(spec.name, raising=False)
    path = tmp_path / "dashboard.db"
    monkeypatch.setenv("DB_PATH", str(path))
    monkeypatch.setenv("DISPLAY_TZ", "Europe/Berlin")
    st.cache_data.clear()
    st.cache_resource.clear()
    return path


@pytest.fixture(name="engine")
def page_engine(db_file: Path):
    engine = open_database(f"sqlite:///{db_file}")
    yield engine
    engine.dispose()


@pytest.fixture(name="known")
def page_known(engine: Engine) -> Engine:
    store_records(engine, KNOWN)
    Store(engine, TENANT).advance_cursor(datetime(2026, 4, 1, tzinfo=UTC), backfill_done=True)
    return engine


def open_page(name: str, **params: str) -> AppTest:
    """A fresh session that opens page `name` with `params` in its URL."""
    at = AppTest.from_file(str(APP), default_timeout=30)
    page = PAGES[name]
    if page is not None:
        at.run()
        at.switch_page(page)
    at.query_params.clear()
    at.query_params.update(params)
    return at.run()


def plain(markdown: str) -> str:
    """What a Markdown string shows: backslash escapes removed."""
    return re.sub(r"\\(.)", r"\1", markdown)


def outside_code_spans(markdown: str) -> str:
    """The parts of a Markdown string that are rendered as Markdown (not `code`)."""
    return re.sub(r"(`+).*?\1", "", markdown)


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def texts(at: AppTest) -> list[str]:
    """Everything shown as Markdown or alerts, as displayed."""
    elements = [*at.markdown, *at.caption, *at.warning, *at.info, *at.error, *at.success]
    elements += [*at.title, *at.header, *at.subheader]
    shown = [plain(element.value) for element in elements]
    shown += [plain(metric.label) + " " + plain(metric.value) for metric in at.metric]
    shown += [plain(expander.label) for expander in at.expander]
    return shown


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def deferred_files(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], object]]:
    """The data callables Streamlit registers for deferred downloads, by their file id,
    so a test can ask for a file as a browser does without clicking (see `audited_download`)."""
    made: dict[str, Callable[[], object]] = {}
    register = MediaFileManager.add_deferred

    def add_deferred(self: MediaFileManager, data_callable, *args, **kwargs) -> str:
        file_id = register(self, data_callable, *args, **kwargs)
        made[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return made
