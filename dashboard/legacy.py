"""Streamlit's legacy `pages/` mode, handed over to the entry point.

Until some run in the server process has called `st.navigation`, Streamlit treats a
`pages/` folder next to the main script as the old multipage app: a deep link such as
`/user?email=…` on a freshly started server runs `pages/user.py` alone, inside a
navigation of file names that Streamlit builds itself (`script_runner._mpa_v1` in 1.67),
with no frame, menu or filters around it. (`AppTest` starts every run that way.) A page's
first line (`context.page_context`) calls `hand_over_if_alone`: in that mode it runs the
entry point script, as Streamlit would have, which registers the real navigation (turning
the legacy mode off) and draws the same page in its frame; then this run stops. The
legacy menu of file names never shows: Streamlit's own menu is off
(`client.showSidebarNavigation = false`) and `dashboard.sidebar.menu` draws ours.

This module imports neither the entry point nor the frame: it runs the script file.
"""

from __future__ import annotations

import types
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx


def running_alone() -> bool:
    """Whether this run's navigation is Streamlit's legacy one rather than the frame's.

    Read from this session's own page registry, not a process-wide flag: the legacy
    navigation lists the main script (`streamlit_app.py`) as a page, the frame's never
    does."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return False
    main = Path(ctx.pages_manager.main_script_path).resolve()
    return any(
        info.get("script_path") and Path(info["script_path"]).resolve() == main
        for info in ctx.pages_manager.get_pages().values()
    )


def hand_over_if_alone() -> None:
    """In legacy mode, run the entry point script (this page inside its frame), then stop.

    Run as Streamlit runs a page file (`Page.run`): compiled from its path, executed as
    a fresh `__main__` module; widget values and clicks of this run stay as they are."""
    if not running_alone():
        return
    ctx = get_script_run_ctx()
    assert ctx is not None
    entry = Path(ctx.pages_manager.main_script_path)
    module = types.ModuleType("__main__")
    module.__dict__["__file__"] = str(entry)
    exec(compile(entry.read_bytes(), str(entry), "exec"), module.__dict__)
    st.stop()
