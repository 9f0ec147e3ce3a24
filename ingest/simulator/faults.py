"""Failures a real Mimecast tenant produces, injected on purpose.

Two ways in: rates (a probability per search-log request, drawn from a seeded RNG, so a run
with the same seed and request sequence meets the same faults) and a queue (exact faults served
once each, in order, to the next matching requests, for tests that need one precise failure).
Replies are the shapes clients meet in the wild: a 429 whose reset is in milliseconds, a 200
whose `fail` array says it failed, a dropped connection, truncated JSON, pages whose `data`
or `pagination` is the wrong shape or type, and pages with unexpected (even multi-MB) fields.
"""

from __future__ import annotations

import random
from collections import deque

from ingest.simulator.activity import derive_seed
from ingest.simulator.config import SimConfig
from ingest.simulator.reply import DROP, Reply, fail_doc, fail_reply, json_reply

ENDPOINTS = ("search", "token")
RATE_NAMES = ("rate_429", "rate_5xx", "rate_fail200", "rate_drop")
PASS = "ok"  # a queue placeholder: serve this request normally, then go on with the queue
BODY = "body"  # a queued body of the caller's choosing, served with HTTP 200
REPLACING_FAULTS = (
    "429",
    "500",
    "502",
    "503",
    "fail200",
    "fail200_fatal",
    "drop",
    "403",
    "401",
    "malformed_json",
)
# Faults that mangle a real page rather than replace it (search endpoints only): the first
# three and `not_an_object` must be refused, `wrong_types` must not be read as a last page,
# and `extra_fields` / `huge_field` add what a client must ignore.
SHAPE_FAULTS = (
    "data_not_list",
    "logs_null",
    "no_pagination",
    "wrong_types",
    "extra_fields",
    "huge_field",
    "not_an_object",
)
HUGE_FIELD_CHARS = 4 * 1024 * 1024
RATE_LIMIT = 10_000
FORBIDDEN_MESSAGE = "Application lacks permission Archive | Search Logs | Read"


class FaultPlan:
    """Which fault, if any, the next request gets. The caller holds the lock."""

    def __init__(self, config: SimConfig) -> None:
        self.rates = {name: float(getattr(config, name)) for name in RATE_NAMES}
        self.reset_ms = config.rate_limit_reset_ms
        self._rng = random.Random(derive_seed(config.seed, "faults"))
        self._queues: dict[str, deque[str]] = {endpoint: deque() for endpoint in ENDPOINTS}
        self._bodies: deque[bytes] = deque()
        # Refuse this account's client id/secret until cleared: revoked credentials, which
        # unlike a queued 401 do not go away when a client retries.
        self.reject_credentials = False
        validate_rates(self.rates)

    def set_rates(self, rates: dict[str, float]) -> None:
        merged = {**self.rates, **{name: float(value) for name, value in rates.items()}}
        validate_rates(merged)
        self.rates = merged

    def queue(self, kinds: list[str], endpoint: str) -> None:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {ENDPOINTS}, not {endpoint!r}")
        allowed = (PASS, *REPLACING_FAULTS, *(SHAPE_FAULTS if endpoint == "search" else ()))
        unknown = [kind for kind in kinds if kind not in allowed]
        if unknown:
            raise ValueError(f"unknown {endpoint} fault(s) {unknown}; known: {list(allowed)}")
        self._queues[endpoint].extend(kinds)

    def queue_bodies(self, bodies: list[bytes]) -> None:
        """Serve these exact bodies (HTTP 200) to the next search requests, one each."""
        self._bodies.extend(bodies)
        self._queues["search"].extend([BODY] * len(bodies))

    def reply(self, kind: str, endpoint: str) -> Reply:
        """The reply for a fault that replaces the normal answer, queued bodies included."""
        if kind == BODY:
            return Reply(200, self._bodies.popleft())
        return fault_reply(kind, endpoint, self.reset_ms)

    def clear(self) -> None:
        for queue in self._queues.values():
            queue.clear()
        self._bodies.clear()
        self.rates = dict.fromkeys(RATE_NAMES, 0.0)
        self.reject_credentials = False

    def pending(self) -> dict[str, list[str]]:
        return {endpoint: list(queue) for endpoint, queue in self._queues.items()}

    def next_fault(self, endpoint: str) -> str | None:
        queue = self._queues[endpoint]
        if queue:
            kind = queue.popleft()
            return None if kind == PASS else kind
        if endpoint != "search":
            return None
        draw = self._rng.random()
        for name in RATE_NAMES:
            draw -= self.rates[name]
            if draw < 0:
                return self._kind_for(name)
        return None

    def _kind_for(self, rate_name: str) -> str:
        if rate_name == "rate_5xx":
            return self._rng.choice(("500", "502", "503"))
        return {"rate_429": "429", "rate_fail200": "fail200", "rate_drop": "drop"}[rate_name]


def validate_rates(rates: dict[str, float]) -> None:
    unknown = sorted(set(rates) - set(RATE_NAMES))
    if unknown:
        raise ValueError(f"unknown rate(s) {unknown}; known: {list(RATE_NAMES)}")
    if any(not 0.0 <= value <= 1.0 for value in rates.values()) or sum(rates.values()) > 1.0:
        raise ValueError("each rate must be within 0..1 and together at most 1")


def fault_reply(kind: str, endpoint: str, reset_ms: int) -> Reply:
    """The whole reply for a fault that replaces the normal answer."""
    if kind == "429":
        headers = (
            ("X-RateLimit-Limit", str(RATE_LIMIT)),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", str(reset_ms)),
        )
        return json_reply(429, {"detail": f"Over throttling limit ({RATE_LIMIT}/hour)"}, headers)
    if kind == "500":
        return fail_reply(500, "internal_error", "An internal error occurred")
    if kind == "502":
        body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        return Reply(502, body, content_type="text/html")
    if kind == "503":
        return fail_reply(503, "service_unavailable", "The service is temporarily unavailable")
    if kind in ("fail200", "fail200_fatal"):
        return _fail_in_200(retryable=kind == "fail200")
    if kind == "drop":
        return DROP
    if kind == "403":
        return fail_reply(403, "forbidden", FORBIDDEN_MESSAGE)
    if kind == "401":
        return unauthorized(endpoint, "token_expired")
    if kind == "malformed_json":
        return Reply(200, b'{"meta":{"status":200,"pagination":{"pageSize":100,"next":"ey')
    raise ValueError(f"not a replacing fault: {kind}")


def unauthorized(endpoint: str, code: str) -> Reply:
    if endpoint == "token":
        body = {"fail": [{"code": "invalid_client", "message": "Invalid client credentials"}]}
        return json_reply(401, body)
    messages = {
        "token_expired": "The access token has expired",
        "unauthorized": "Missing or invalid access token",
    }
    return json_reply(401, fail_doc(code, messages[code], retryable=False))


def _fail_in_200(retryable: bool) -> Reply:
    if retryable:
        code, message = "err_service_unavailable", "The search service is temporarily unavailable"
    else:
        code, message = "err_validation_failed", "The request could not be processed"
    failure = fail_doc(code, message, retryable=retryable, key={})
    return json_reply(200, {"meta": {"status": 200}, "data": [], **failure})


def mangle(kind: str, doc: dict) -> object:
    """A real page reshaped the way a broken response would be: `next` is kept (or garbled),
    so a client that shrugs the page off as empty or as the last one loses records."""
    logs = doc["data"][0]["logs"] if doc["data"] else []
    if kind == "data_not_list":
        return {**doc, "data": {"logs": logs}}
    if kind == "logs_null":
        return {**doc, "data": [{"logs": None}]}
    if kind == "not_an_object":
        return [doc]
    pagination = doc["meta"].get("pagination", {})
    if kind == "wrong_types":
        wrong: dict[str, object] = {
            name: str(value) for name, value in pagination.items() if name != "next"
        }
        if "next" in pagination:
            wrong["next"] = len(str(pagination["next"]))  # a number where a token belongs
        return {**doc, "meta": {**doc["meta"], "status": "200", "pagination": wrong}}
    if kind == "extra_fields":
        meta = {**doc["meta"], "requestId": "sim-extra", "pagination": {**pagination, "page": 2}}
        data = [{**item, "logsCount": len(item.get("logs", [])), "x": {}} for item in doc["data"]]
        return {**doc, "meta": meta, "data": data, "warnings": [], "version": 2}
    if kind == "huge_field":
        return {**doc, "meta": {**doc["meta"], "debugTrace": "x" * HUGE_FIELD_CHARS}}
    meta = {key: value for key, value in doc["meta"].items() if key != "pagination"}
    return {**doc, "meta": meta}
