"""The dashboard: `streamlit run streamlit_app.py` (reads DB_PATH / DATABASE_URL like the ingest).

The navigation and shared chrome are built in `dashboard/app.py`; each page in `pages/`
lays out one view. Routes are stable so links can be bookmarked and shared: `/`,
`/user?email=…`, `/calendar?month=YYYY-MM` (or `?year=YYYY`), `/day?date=YYYY-MM-DD`,
`/status`.
"""

from dashboard.app import main

main()
