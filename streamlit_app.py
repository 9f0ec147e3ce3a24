"""The dashboard and the machine API: `streamlit run streamlit_app.py` serves both on one port.

`streamlit run` finds the `st.App` below and imports this file as the module
`streamlit_app` to serve it (uvicorn); each browser session then runs this same file as
`__main__`, which draws the pages. The API's routes (`api/`) are Starlette routes of that
server: `/api/v1/…`, `/healthz`, `/readyz`, `/metrics`; every request, to the pages too,
first passes the `Host` check of `api/hosts.py`.

The pages, their addresses and titles are listed once, in `dashboard/routes.py`;
`dashboard/frame.py` draws the frame (title, notices, menu, account, filters) around the
page that `pages/` holds for the URL.
"""

import os
import sys

import streamlit as st

if __name__ == "__main__":  # a session's script run: draw the page in its frame
    from dashboard import frame

    frame.run()
else:  # imported by `streamlit run` to find the server: the pages plus the API's routes
    os.umask(0o077)  # what the server creates (the database, its WAL) is its user's alone
    from starlette.middleware import Middleware
    from streamlit import config

    from api.base_path import under_base_path
    from api.hosts import HostCheck
    from api.routes import api_lifespan, api_routes
    from dashboard.export import builtin_export_problem
    from dashboard.secrets_check import unreadable_secrets

    # Checked before the server is built: Streamlit would fail on every request instead.
    problem = unreadable_secrets(config.get_option("secrets.files") or ())
    problem = problem or builtin_export_problem(config.get_option("client.disableDataExport"))
    if problem:
        print(f"dashboard not started: {problem}", file=sys.stderr, flush=True)
        raise SystemExit(2)

    from config import log_format
    from config.settings import read_environment

    # With LOG_FORMAT=json the dashboard's and the API's own lines are JSON objects too
    # (Streamlit's own lines keep its format); text leaves them as they always were.
    environment = read_environment()
    if log_format.chosen_format(environment) == "json":
        level = log_format.chosen_level(environment)
        log_format.configure("json", level, loggers=("dashboard", "api", "db"))

    app = st.App(
        "streamlit_app.py",
        # Under server.baseUrlPath with the pages (api/base_path.py).
        routes=under_base_path(api_routes(), config.get_option("server.baseUrlPath")),
        lifespan=api_lifespan,
        middleware=[Middleware(HostCheck)],  # outside Streamlit's own: pages and API alike
    )
