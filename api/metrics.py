"""`GET /metrics`: the ingest's state in Prometheus' text format via `prometheus_client`.

Figures about the data are read from the database at each scrape (a collector), so every
dashboard process reports the same numbers, each labelled with its tenant's name (never an
address); figures about the API's own calls are
counters in this process. Each forwarding destination's lag and parked messages are the
figures `python -m ingest status` shows (`db.state.forwarding`); open alerts are counted
by rule and severity like the Alerts page counts them (`db.alerts.OPEN_STATUSES`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, func, select

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
    """Reads the ingest's figures from the database when scraped, labelled by tenant (its
    name only): every configured tenant has a sample, zero or not."""

    def __init__(self, engine: Engine, tenants: Sequence[str] = ()) -> None:
        self.engine = engine
        self.tenants = tuple(tenants)

    def _by_tenant(self, conn: Connection, figure: Any, table: Any, *where: Any) -> dict[str, int]:
        counts = dict.fromkeys(self.tenants, 0)
        for tenant, value in conn.execute(
            select(table.tenant, figure).where(*where).group_by(table.tenant)
        ):
            counts[tenant] = int(value or 0)
        return counts

    def collect(self) -> Iterator[Metric]:
        with self.engine.connect() as conn:
            stored = self._by_tenant(conn, func.sum(ROLLUP_USER_ALL.c.searches), ROLLUP_USER_ALL.c)
            failures = self._by_tenant(conn, func.count(), IngestRun, IngestRun.status == "failed")
            rejected = self._by_tenant(conn, func.count(), RejectedRecord)
            requests = self._by_tenant(conn, func.sum(IngestRun.api_requests), IngestRun)
            open_alerts = conn.execute(
                select(Alert.tenant, Alert.rule, Alert.severity, func.count())
                .where(Alert.status.in_(OPEN_STATUSES))
                .group_by(Alert.tenant, Alert.rule, Alert.severity)
            ).all()
        yield _per_tenant(
            GaugeMetricFamily, "searchlogs_searches_stored", "Archive searches stored", stored
        )
        yield from poll_metrics(self.engine, self.tenants)
        yield _per_tenant(
            CounterMetricFamily, "searchlogs_poll_failures", "Ingest runs that failed", failures
        )
        yield _per_tenant(
            CounterMetricFamily,
            "searchlogs_rejected_records",
            "Records the ingest could not store (kept in rejected_records)",
            rejected,
        )
        yield _per_tenant(
            CounterMetricFamily,
            "searchlogs_mimecast_api_requests",
            "Requests the ingest made to the Mimecast API (from ingest_runs.api_requests)",
            requests,
        )
        alerts = GaugeMetricFamily(
            "searchlogs_alerts_open",
            "Alerts not dismissed (new or acknowledged), by tenant, rule and severity",
            labels=["tenant", "rule", "severity"],
        )
        for tenant, rule, severity, count in sorted(open_alerts):
            alerts.add_metric([tenant, rule, severity], int(count))
        yield alerts
        yield from forwarding_metrics(self.engine)


def _per_tenant(kind: Any, name: str, documentation: str, counts: dict[str, int]) -> Metric:
    family = kind(name, documentation, labels=["tenant"])
    for tenant, value in sorted(counts.items()):
        family.add_metric([tenant], value)
    return family


def poll_metrics(engine: Engine, tenants: Sequence[str]) -> Iterator[Metric]:
    """When each tenant's last successful poll finished, and how long ago (no sample for
    a tenant that has not finished one)."""
    when = GaugeMetricFamily(
        "searchlogs_last_successful_poll_timestamp_seconds",
        "When the tenant's last successful backfill or delta poll finished (Unix time)",
        labels=["tenant"],
    )
    age = GaugeMetricFamily(
        "searchlogs_last_successful_poll_age_seconds",
        "Seconds since the tenant's last successful backfill or delta poll finished",
        labels=["tenant"],
    )
    now = utc_now()
    for tenant in tenants:
        last = last_poll_ok(engine, TenantScope.one(tenant))
        if last is not None:
            when.add_metric([tenant], last.timestamp())
            age.add_metric([tenant], (now - last).total_seconds())
    yield when
    yield age


EVERY_TENANT = TenantScope.every_tenant()


def forwarding_metrics(engine: Engine) -> Iterator[Metric]:
    """Per destination and tenant (names and source, never a URL): messages waiting, how long
    the oldest has waited, messages parked as malformed, and messages delivered."""
    labels = ["destination", "source", "tenant"]
    families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
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
    for row in forwarding_status(engine, EVERY_TENANT):
        for key, family in families.items():
            family.add_metric([row["destination"], row["source"], row["tenant"]], float(row[key]))
    yield from families.values()


def render(engine: Engine, tenants: Sequence[str] = ()) -> bytes:
    """The exposition text: this process's counters and the database's figures of
    `tenants` (the configured ones) and of any other tenant the database holds."""
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(engine, tenants))
    return generate_latest(REGISTRY) + generate_latest(registry)
