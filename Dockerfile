# The dashboard by default; the ingest runs from the same image with
# `python -m ingest run` (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DB_PATH=/data/searchlogs.db

# /data is the app user's alone (0700): the database holds what everyone searched and the
# audit trail. Both services run as this user, so both can read and write it.
RUN useradd --create-home --uid 10001 app \
    && mkdir /data && chown app /data && chmod 700 /data

WORKDIR /app
# The runtime lock: every version exact and every file's hash checked (scripts/lock makes it
# from requirements.txt), the same set as the tests' runtime virtualenv.
COPY requirements.lock .
RUN pip install --require-hashes -r requirements.lock
COPY --chown=app:app . .
# The project's own packages (api, config, dashboard, db, ingest), editable from /app so that
# `python -m ingest`, `mimecast-searchlogs` and Streamlit import the same files; its
# dependencies are the lock's.
RUN pip install --no-deps -e .

USER app
VOLUME ["/data"]
EXPOSE 8501

# Liveness, not readiness: `/healthz` answers while the server is up and its settings are
# valid. `/readyz` (the ingest polled within 2 × POLL_SECONDS) fails during every first
# backfill and ingest outage, which is exactly when people need the dashboard's /status;
# it stays for the ingest and for alerting. No curl in a slim image: `api.probe` asks with
# Python itself, sending METRICS_TOKEN when it is set.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-m", "api.probe", "http://127.0.0.1:8501/healthz"]

CMD ["python", "-m", "streamlit", "run", "streamlit_app.py", "--server.port=8501", "--server.address=0.0.0.0"]
