"""The machine API served beside the dashboard by the same Streamlit server (`st.App`
routes): versioned read-only endpoints under `/api/v1`, health, readiness and metrics.

It imports `db` and the settings, never `dashboard`, `pages` or `ingest`, so the numbers
come from the same data functions the pages call (`db.aggregates`, `db.raw_reads`) without
any Streamlit machinery.
"""
