"""The Starlette routes `streamlit_app.py` hands to `st.App`, and what every call goes
through: the token, the rate limit, the role (`api.access`), the parameters, the format,
the audit row.

A body is built whole before anything is sent, and the audit row is written before the
answer leaves: a call that cannot be recorded is not answered (503). Any failure becomes a
problem-details response; the traceback goes to the log only.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import metrics
from api.access import authorise, bearer, record, record_refusal
from api.context import CONTEXT, ApiContext
from api.endpoints import ENDPOINTS, Answer, Call
from api.etags import entity_tag, none_match
from api.export_manifest import signing_key, signs, with_manifest
from api.paging import next_link
from api.problems import ApiProblem, problem_response
from api.spec import CSV, Endpoint, parse_params
from api.tenancy import P_TENANT, call_scope
from db import audit
from db.api_tokens import Caller
from db.audit import AuditAction
from db.models import utc_now

log = logging.getLogger("api")
Handler = Callable[[Request], Awaitable[Response]]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def negotiate(accept: str | None, offered: tuple[str, ...]) -> str:
    """The offered media type the `Accept` header prefers (the first offered by default)."""
    if not accept or not accept.strip():
        return offered[0]
    ranked = []
    for index, part in enumerate(accept.split(",")):
        media, *options = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for option in options:
            if option.startswith("q="):
                try:
                    quality = float(option[2:])
                except ValueError:
                    quality = 0.0
        ranked.append((quality, -index, media.lower()))
    for quality, _, media in sorted(ranked, reverse=True):
        if quality <= 0:
            continue
        for candidate in offered:
            bare = candidate.split(";")[0]
            if media in ("*/*", bare) or (media.endswith("/*") and bare.startswith(media[:-1])):
                return candidate
    raise ApiProblem(
        406, f"cannot answer as {accept[:80]!r}: this endpoint answers {', '.join(offered)}"
    )


def guard_health(context: ApiContext, request: Request) -> None:
    """Loopback only while METRICS_TOKEN is unset; with it set, the token from everyone."""
    expected = context.settings().metrics_token
    if expected:
        given = bearer(request) or ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise ApiProblem(
                401,
                "this endpoint needs Authorization: Bearer <METRICS_TOKEN>",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ApiProblem(
            403,
            "this endpoint answers only on loopback: set METRICS_TOKEN to reach it from elsewhere",
        )


def serve(
    context: ApiContext,
    request: Request,
    endpoint: Endpoint,
    caller: Caller,
    body: dict[str, Any] | None,
) -> Answer:
    """Parse, answer, audit: the part of a call that runs in a worker thread."""
    try:
        values = parse_params(
            endpoint.params, request.query_params.multi_items(), dict(request.path_params), body
        )
        media = negotiate(request.headers.get("accept"), endpoint.formats)
        settings = context.settings()
        key = signing_key(settings.signing_key_file) if media == CSV else None  # fail closed
        scope = None
        if P_TENANT in endpoint.params:
            scope = call_scope(caller, context.tenants(), values.get("tenant"))
        call = Call(
            values, media, settings, context.engine, caller, scope, store_source=context.store
        )
        answer = endpoint.handler(call)
    except ApiProblem as problem:
        if 400 <= problem.status < 500:
            # A conflict or an unknown user is the endpoint's own question, refused.
            action = AuditAction.API_BAD_REQUEST
            if problem.status in (404, 409) and endpoint.action is not None:
                action = endpoint.action
            record_refusal(context, request, caller, problem, action)
        raise
    assert endpoint.action is not None
    if answer.recorded:  # an admin action: its row was written with its change
        return answer
    answer = _validated(request, answer, "" if scope is None else scope.label())
    entry = audit.AuditEntry(
        caller.name,
        caller.role,
        endpoint.action,
        target=answer.target,
        filters=answer.filters,
        rows=answer.rows,
        detail=answer.detail,
        tenant=caller.tenant if scope is None else scope.name,
    )
    at = utc_now()
    audit_id = record(context, entry, at=at)
    if key is None or audit_id is None or not signs(answer):
        return answer
    asked = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return with_manifest(answer, key, entry, audit_id, at, asked)


NOT_MODIFIED = "not modified (304): the caller's copy, named by If-None-Match, is current"


def _validated(request: Request, answer: Answer, tenant: str) -> Answer:
    """The answer with its `ETag` and, when paged, its `Link` to the next page; a 304
    without a body when `If-None-Match` names the tag. A 304 reveals no data, yet it is a
    read by the token (it learns that nothing changed): it is audited as the endpoint's
    action with 0 rows and `NOT_MODIFIED` as the detail."""
    if answer.status != 200 or request.method not in ("GET", "HEAD"):
        return answer
    headers = dict(answer.headers)
    headers["ETag"] = entity_tag(answer.body, tenant, answer.media)
    following = headers.get("Next-Cursor")
    if following:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        headers["Link"] = next_link(raw_path, request.query_params.multi_items(), following)
    if none_match(request.headers.get("if-none-match"), headers["ETag"]):
        return replace(answer, body=b"", status=304, rows=0, detail=NOT_MODIFIED, headers=headers)
    return replace(answer, headers=headers)


def _authorise_and_serve(context: ApiContext, request: Request, endpoint: Endpoint) -> Answer:
    """A call without a body in one worker thread: each hand-over between the event loop
    and a worker costs the loop, which also serves the pages, about half a millisecond."""
    caller = authorise(context, request, endpoint)
    try:
        _check_method(request, endpoint)
    except ApiProblem as problem:
        record_refusal(context, request, caller, problem)
        raise
    return serve(context, request, endpoint, caller, None)


MAX_BODY = 65_536
"""The largest request body read (the only body, `{"confirm": true}`, is a few bytes)."""


async def _json_body(request: Request) -> dict[str, Any] | None:
    if request.method != "POST":
        return None
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise ApiProblem(400, f"the body is too large: send at most {MAX_BODY:,} bytes")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        raise ApiProblem(400, 'the body must be a JSON object, e.g. {"confirm": true}')
    return body


def _check_method(request: Request, endpoint: Endpoint) -> None:
    if request.method != endpoint.method and not (
        request.method == "HEAD" and endpoint.method == "GET"
    ):
        raise ApiProblem(
            405,
            f"{request.method} is not allowed here: use {endpoint.method}",
            headers={"Allow": endpoint.method},
        )


async def _answer(context: ApiContext, request: Request, endpoint: Endpoint) -> Response:
    if endpoint.access == "health":
        _check_method(request, endpoint)
        await run_in_threadpool(guard_health, context, request)
        values = parse_params(endpoint.params, request.query_params.multi_items(), {})
        settings = context.settings()
        call = Call(
            values, endpoint.formats[0], settings, context.engine, tenants=context.tenants()
        )
        answer = await run_in_threadpool(endpoint.handler, call)
    elif request.method in ("GET", "HEAD"):  # no body: one trip to a worker thread
        answer = await run_in_threadpool(_authorise_and_serve, context, request, endpoint)
    else:
        caller = await run_in_threadpool(authorise, context, request, endpoint)
        try:
            _check_method(request, endpoint)
            body = await _json_body(request)
        except ApiProblem as problem:
            await run_in_threadpool(record_refusal, context, request, caller, problem)
            raise
        answer = await run_in_threadpool(serve, context, request, endpoint, caller, body)
    return Response(
        answer.body,
        status_code=answer.status,
        media_type=None if answer.status == 304 else answer.media,
        headers=answer.headers,
    )


def _handler(endpoint: Endpoint, context: ApiContext) -> Handler:
    async def handle(request: Request) -> Response:
        started = time.perf_counter()
        try:
            response = await _answer(context, request, endpoint)
        except ApiProblem as problem:
            response = problem_response(problem, request.url.path)
        except SQLAlchemyError:
            log.exception("database error answering %s", request.url.path)
            response = problem_response(
                ApiProblem(503, "the database did not answer; try again shortly"),
                request.url.path,
            )
        except Exception:
            log.exception("error answering %s", request.url.path)
            response = problem_response(
                ApiProblem(500, "the server could not answer this call; its log says why"),
                request.url.path,
            )
        elapsed = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed:.1f}"
        response.headers["Cache-Control"] = "no-store"
        metrics.API_CALLS.labels(endpoint.operation_id, str(response.status_code)).inc()
        return response

    return handle


def _not_found(context: ApiContext) -> Handler:
    async def handle(request: Request) -> Response:
        try:
            caller = await run_in_threadpool(authorise, context, request, None)
            problem = ApiProblem(
                404, f"no endpoint {request.url.path[:200]}: /api/v1/openapi.json lists them"
            )
            await run_in_threadpool(record_refusal, context, request, caller, problem)
        except ApiProblem as refused:
            problem = refused
        except SQLAlchemyError:
            log.exception("database error answering %s", request.url.path)
            problem = ApiProblem(503, "the database did not answer; try again shortly")
        return problem_response(problem, request.url.path)

    return handle


def api_routes(context: ApiContext = CONTEXT) -> list[BaseRoute]:
    """Every route of the machine API, for `st.App(routes=...)`."""
    routes: list[BaseRoute] = [
        Route(endpoint.path, _handler(endpoint, context), methods=METHODS) for endpoint in ENDPOINTS
    ]
    routes.append(Route("/api/v1/{rest:path}", _not_found(context), methods=METHODS))
    return routes


@asynccontextmanager
async def api_lifespan(_app: object) -> AsyncIterator[None]:
    """Closes the API's database connections when the server stops."""
    try:
        yield
    finally:
        CONTEXT.close()
