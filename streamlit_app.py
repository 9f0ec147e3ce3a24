"""The dashboard and the machine API: `streamlit run streamlit_app.py` serves both on one port.

`streamlit run` finds the `st.App` below and imports this file as the module
`streamlit_app` to serve it (uvicorn); each browser session then runs this same file as
`__main__`, which draws the pages. The API's routes (`api/`) are Starlette routes of that
server: `/api/v1/…`, `/healthz`, `/readyz`, `/metrics`.

The navigation and shared chrome are built in `dashboard/app.py`; each page in `pages/`
lays out one view. Routes are stable so links can be bookmarked and shared: `/`,
`/user?email=…`, `/calendar?month=YYYY-MM` (or `?year=YYYY`), `/day?date=YYYY-MM-DD`,
`/status`.
"""

import streamlit as st

if __name__ == "__main__":  # a session's script run: draw the page
    from dashboard.app import main

    main()
else:  # imported by `streamlit run` to find the server: the pages plus the API's routes
    from api.routes import api_lifespan, api_routes

    app = st.App("streamlit_app.py", routes=api_routes(), lifespan=api_lifespan)
