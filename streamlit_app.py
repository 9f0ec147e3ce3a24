"""The dashboard: `streamlit run streamlit_app.py` (reads DB_PATH / DATABASE_URL like the ingest).

This file only builds the navigation and the shared chrome; each page in `app_pages/`
lays out one view. (Not `pages/`: with a folder of that name, Streamlit runs a page file
on its own, without this navigation, when a server's first visitor opens a deep link.)
Routes are stable so links can be bookmarked and shared: `/`, `/user?email=…`,
`/calendar?month=YYYY-MM` (or `?year=YYYY`), `/day?date=YYYY-MM-DD`, `/status`.
"""

from __future__ import annotations

import logging

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard import chrome
from dashboard.formatting import escape_markdown

log = logging.getLogger("dashboard")

st.set_page_config(
    page_title="Archive search logs",
    page_icon=":material/manage_search:",
    layout="wide",
)

PAGES = {
    "": st.Page(
        "app_pages/summary.py", title="Summary by user", icon=":material/group:", default=True
    ),
    "user": st.Page(
        "app_pages/user.py", title="User history", icon=":material/person:", url_path="user"
    ),
    "calendar": st.Page(
        "app_pages/calendar.py",
        title="Calendar",
        icon=":material/calendar_month:",
        url_path="calendar",
    ),
    "day": st.Page("app_pages/day.py", title="Day", icon=":material/today:", url_path="day"),
    "status": st.Page(
        "app_pages/status.py",
        title="Ingest status",
        icon=":material/monitor_heart:",
        url_path="status",
    ),
}
page = st.navigation(list(PAGES.values()))
settings = chrome.settings_or_stop()
try:
    chrome.build_context(settings, page.url_path)
    page.run()
except SQLAlchemyError as exc:
    log.exception("database error while drawing %s", page.url_path or "/")
    first_line = (str(getattr(exc, "orig", exc)).strip().splitlines() or [type(exc).__name__])[0]
    st.error(
        f"Database error: {escape_markdown(first_line)} — check that the database is "
        "reachable, then reload the page.",
        icon=":material/error:",
    )
