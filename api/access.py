"""Who is calling and what is written about it: the bearer token, the limits on calls and
on refused calls, and the audit row of every answer given to a known token.

Refused calls are rate-limited by token name (a revoked or expired token) or by client
address (no or an unknown token) before anything is written, and identical refusals of a
known token are collapsed into one row with a count (`api.repeats`), so a leaked token
cannot fill the disk. A call that cannot be recorded is not answered (503).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request

from api import metrics
from api.context import ApiContext
from api.problems import ApiProblem
from api.ratelimit import REFUSALS_PER_MINUTE
from api.spec import Endpoint
from db import audit
from db.api_tokens import Caller, Refusal, authenticate
from db.audit import AuditAction
from db.engine import DatabaseSetupError

log = logging.getLogger("api")
UNRECORDED = (
    "the call could not be recorded in the audit trail, so it was not answered; "
    "try again, and check the database if it persists"
)


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def record(
    context: ApiContext,
    entry: audit.AuditEntry,
    *,
    collapse: bool = False,
    at: datetime | None = None,
) -> int | None:
    """Write `entry` (or count it, for a refusal that may repeat); its row's id (None when
    counted); 503 if it cannot be."""
    try:
        if collapse:
            context.repeats().note(entry)
            return None
        return audit.record(context.engine(), entry, at)
    except (SQLAlchemyError, DatabaseSetupError):
        log.warning("could not write the audit event %s", entry.action, exc_info=True)
        raise ApiProblem(503, UNRECORDED) from None


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _refused(context: ApiContext, key: str, problem: ApiProblem) -> ApiProblem:
    """`problem`, or a 429 once `key` has been refused more than the refusal limit allows."""
    wait = context.refusals().take(key)
    if wait is None:
        return problem
    metrics.API_RATE_LIMITED.inc()
    return ApiProblem(
        429,
        f"too many refused calls: at most {REFUSALS_PER_MINUTE} a minute; "
        f"try again in {wait} s with a valid token",
        headers={"Retry-After": str(wait)},
    )


def authorise(context: ApiContext, request: Request, endpoint: Endpoint | None) -> Caller:
    """The caller, or a 401/403/429 problem. Refused calls are rate-limited by token name
    (a revoked or expired token) or client address (no or an unknown token); refusals of a
    known token are audited, identical ones collapsed into one row with a count."""
    unauthorised = {"WWW-Authenticate": 'Bearer realm="api"'}
    token = bearer(request)
    if token is None:
        raise _refused(
            context,
            f"address:{_address(request)}",
            ApiProblem(
                401,
                "no bearer token: send Authorization: Bearer <token> "
                "(`python -m ingest token create` makes one)",
                headers=unauthorised,
            ),
        )
    outcome = authenticate(context.engine(), token)
    where = f"{request.method} {request.url.path}"
    if isinstance(outcome, Refusal):
        refusal = ApiProblem(401, f"{outcome.reason}: use a valid token", headers=unauthorised)
        if outcome.name is None:
            raise _refused(context, f"address:{_address(request)}", refusal)
        answer = _refused(context, f"token:{outcome.name}", refusal)
        limited = answer.status == 429
        record(
            context,
            audit.AuditEntry(
                outcome.name,
                outcome.role,
                AuditAction.API_RATE_LIMITED if limited else AuditAction.DENIED,
                target=None if limited else where,
                detail=f"refused calls rate-limited: {outcome.reason}"
                if limited
                else outcome.reason,
                tenant=outcome.tenant,
            ),
            collapse=True,
        )
        raise answer
    wait = context.limiter().take(outcome.name)
    if wait is not None:
        metrics.API_RATE_LIMITED.inc()
        limit = f"at most {context.settings().api_rate_limit} calls a minute per token"
        record(
            context,
            audit.AuditEntry(
                outcome.name,
                outcome.role,
                AuditAction.API_RATE_LIMITED,
                detail=f"rate limit reached: {limit}",
                tenant=outcome.tenant,
            ),
            collapse=True,
        )
        raise ApiProblem(
            429,
            f"rate limit reached: {limit}; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    if endpoint is not None and endpoint.access == "admin" and not outcome.is_admin:
        record(
            context,
            audit.AuditEntry(
                outcome.name,
                outcome.role,
                AuditAction.DENIED,
                target=where,
                detail=f"{endpoint.operation_id} needs an admin token",
                tenant=outcome.tenant,
            ),
            collapse=True,
        )
        raise ApiProblem(403, "this endpoint needs an admin token; this one is a viewer token")
    return outcome


def record_refusal(
    context: ApiContext,
    request: Request,
    caller: Caller,
    problem: ApiProblem,
    action: AuditAction = AuditAction.API_BAD_REQUEST,
) -> None:
    """Every answer to a known token is a row: its 4xx refusals too (bad parameters, an
    unknown path, a wrong method, a malformed body)."""
    record(
        context,
        audit.AuditEntry(
            caller.name,
            caller.role,
            action,
            target=f"{request.method} {request.url.path}",
            detail=f"refused: {problem.detail}",
            tenant=caller.tenant,
        ),
    )
