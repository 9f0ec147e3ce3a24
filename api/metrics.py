"""`GET /metrics`: the ingest's state in Prometheus' text format via `prometheus_client`.

Figures about the data are read from the database at each scrape (a collector), so every
dashboard process reports the same numbers; figures about the API's own calls are
counters in this process. Each forwarding destination's lag and parked messages are the
figures `python -m ingest status` shows (`db.state.forwarding`); open alerts are counted
by rule and severity like the Alerts page counts them (`db.alerts.OPEN_STATUSES`).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from db.alerts import OPEN_STATUSES
from db.models import ROLLUP_USER_ALL, Alert, IngestRun, RejectedRecord, utc_now
from db.scope import TenantScope
from db.state import last_poll_ok
from db.state.forwarding import forwarding_status

REGISTRY = CollectorRegistry()
API_CALLS = Counter(
    "searchlogs_api_calls",
    "Calls to the machine API answered by this process, by endpoint and HTTP status",
    ["endpoint", "status"],
    registry=REGISTRY,
)
API_RATE_LIMITED = Counter(
    "searchlogs_api_rate_limited",
    "Calls to the machine API refused with 429 by this process's rate limit",
    registry=REGISTRY,
)


class DatabaseCollector(Collector):
    """Reads the ingest's figures from the database when scraped."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        with self.engine.connect() as conn:
            stored = conn.execute(
                select(func.coalesce(func.sum(ROLLUP_USER_ALL.c.searches), 0))
            ).scalar_one()
            failures = conn.execute(
                select(func.count()).select_from(IngestRun).where(IngestRun.status == "failed")
            ).scalar_one()
            rejected = conn.execute(select(func.count()).select_from(RejectedRecord)).scalar_one()
            requests = conn.execute(
                select(func.coalesce(func.sum(IngestRun.api_requests), 0))
            ).scalar_one()
            open_alerts = conn.execute(
                select(Alert.rule, Alert.severity, func.count())
                .where(Alert.status.in_(OPEN_STATUSES))
                .group_by(Alert.rule, Alert.severity)
            ).all()
        # the installation's figures, every tenant together
        last = last_poll_ok(self.engine, EVERY_TENANT)  # tenant: phase 2 (labels per tenant)
        yield GaugeMetricFamily(
            "searchlogs_searches_stored", "Archive searches stored", value=int(stored)
        )
        if last is not None:
            yield GaugeMetricFamily(
                "searchlogs_last_successful_poll_timestamp_seconds",
                "When the last successful backfill or delta poll finished (Unix time)",
                value=last.timestamp(),
            )
            yield GaugeMetricFamily(
                "searchlogs_last_successful_poll_age_seconds",
                "Seconds since the last successful backfill or delta poll finished",
                value=(utc_now() - last).total_seconds(),
            )
        yield CounterMetricFamily(
            "searchlogs_poll_failures", "Ingest runs that failed", value=int(failures)
        )
        yield CounterMetricFamily(
            "searchlogs_rejected_records",
            "Records the ingest could not store (kept in rejected_records)",
            value=int(rejected),
        )
        yield CounterMetricFamily(
            "searchlogs_mimecast_api_requests",
            "Requests the ingest made to the Mimecast API (from ingest_runs.api_requests)",
            value=int(requests),
        )
        alerts = GaugeMetricFamily(
            "searchlogs_alerts_open",
            "Alerts not dismissed (new or acknowledged), by rule and severity",
            labels=["rule", "severity"],
        )
        for rule, severity, count in sorted(open_alerts):
            alerts.add_metric([rule, severity], int(count))
        yield alerts
        yield from forwarding_metrics(self.engine)


EVERY_TENANT = TenantScope.every_tenant()


def forwarding_metrics(engine: Engine) -> Iterator[Metric]:
    """Per destination (its name and source, never its URL): messages waiting, how long
    the oldest has waited, messages parked as malformed, and messages delivered."""
    labels = ["destination", "source"]
    families = {
        "lag_messages": GaugeMetricFamily(
            "searchlogs_forward_lag_messages",
            "Messages stored but not yet delivered to the destination",
            labels=labels,
        ),
        "lag_seconds": GaugeMetricFamily(
            "searchlogs_forward_lag_seconds",
            "Seconds the oldest undelivered message has waited since it was stored",
            labels=labels,
        ),
        "parked": GaugeMetricFamily(
            "searchlogs_forward_parked_messages",
            "Messages the destination rejected as malformed, parked in forward_dead_letters",
            labels=labels,
        ),
        "delivered": CounterMetricFamily(
            "searchlogs_forward_delivered",
            "Messages the destination acknowledged",
            labels=labels,
        ),
    }
    for row in forwarding_status(engine, EVERY_TENANT):  # tenant: phase 2 (a tenant label)
        for key, family in families.items():
            family.add_metric([row["destination"], row["source"]], float(row[key]))
    yield from families.values()


def render(engine: Engine) -> bytes:
    """The exposition text: this process's counters and the database's figures."""
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(engine))
    return generate_latest(REGISTRY) + generate_latest(registry)
