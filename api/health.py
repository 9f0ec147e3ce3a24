"""The health endpoints, outside the token scheme (`api.routes.guard_health`): the process
is alive (`/healthz`), every tenant's ingest is current (`/readyz`), and the figures for
Prometheus (`/metrics`), which speak of tenants by name only."""

from __future__ import annotations

from api import metrics
from api.calls import Answer, Call, dumps
from api.problems import ApiProblem
from api.spec import JSON, PROMETHEUS
from db.readiness import check_readiness
from db.scope import TenantScope


def healthz(call: Call) -> Answer:
    return Answer(dumps({"status": "ok"}), JSON)


def readyz(call: Call) -> Answer:
    try:
        engine = call.engine
    except ApiProblem as problem:
        return Answer(dumps({"ready": False, "reasons": [problem.detail]}), JSON, status=503)
    each = {
        name: check_readiness(engine, TenantScope.one(name), call.settings.poll_seconds)
        for name in call.tenants
    }
    ready = all(readiness.ready for readiness in each.values())
    if len(each) == 1:
        (readiness,) = each.values()
        return Answer(dumps(readiness.as_json()), JSON, status=200 if ready else 503)
    # Several tenants: ready when every one is; each reason names its tenant.
    reasons = [f"tenant {name!r}: {why}" for name, r in each.items() for why in r.reasons]
    body = {
        "ready": ready,
        "reasons": reasons,
        "tenants": {name: readiness.as_json() for name, readiness in each.items()},
    }
    return Answer(dumps(body), JSON, status=200 if ready else 503)


def prometheus_metrics(call: Call) -> Answer:
    return Answer(metrics.render(call.engine, call.tenants), PROMETHEUS)
