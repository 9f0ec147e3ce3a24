"""The simulated Mimecast API 2.0 and its control endpoints, independent of sockets.

`MimecastApi.handle()` turns (method, path, Authorization header, body) into a `Reply`; the HTTP
server in `server.py` only moves bytes. All shared state (tokens, the event store, faults,
counters) sits behind one lock; JSON encoding happens outside it so concurrent clients overlap.
"""

from __future__ import annotations

import copy
import hmac
import json
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from ingest.simulator.config import SimConfig
from ingest.simulator.faults import (
    RATE_NAMES,
    SHAPE_FAULTS,
    FaultPlan,
    fault_reply,
    mangle,
    unauthorized,
)
from ingest.simulator.reply import Reply, client_error, fail_reply, json_reply
from ingest.simulator.search import (
    RequestError,
    default_window,
    page_doc,
    parse_search,
    with_muse_query,
)
from ingest.simulator.store import EventStore
from ingest.simulator.timefmt import format_api_time, to_epoch

TOKEN_PATH = "/oauth/token"
TOKEN_FIELDS = ("client_id", "client_secret", "grant_type")
SEARCH_PATHS = {
    "/api/archive/get-archive-search-logs": False,
    "/api/archive/get-search-logs": True,  # adds museQuery
}
VISIBLE_AFTER_KEY = "_visibleAfterSeconds"


class Stats:
    """Counters a test or a demo reads back through `/_sim/stats`."""

    def __init__(self) -> None:
        self.token_requests = 0
        self.tokens_issued = 0
        self.search_requests = 0
        self.pages_served = 0
        self.records_served = 0
        self.responses_by_status: Counter[str] = Counter()
        self.faults_injected: Counter[str] = Counter()

    def snapshot(self) -> dict[str, object]:
        return {
            "token_requests": self.token_requests,
            "tokens_issued": self.tokens_issued,
            "search_requests": self.search_requests,
            "pages_served": self.pages_served,
            "records_served": self.records_served,
            "responses_by_status": dict(self.responses_by_status),
            "faults_injected": dict(self.faults_injected),
        }


class MimecastApi:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._store = EventStore(config)
        self._faults = FaultPlan(config)
        self._token_lifetime = config.token_lifetime
        self._tokens: dict[str, int] = {}  # token -> expiry (epoch seconds)
        self._issued: list[str] = []  # every token ever issued, for leak checks
        self._stats = Stats()
        self._after_pages: list[tuple[int, list[tuple[object, int]]]] = []  # (page, records)
        self._routes: dict[tuple[str, str], Callable[[str | None, bytes, str], Reply]] = {
            ("POST", TOKEN_PATH): self._token,
            ("GET", "/_sim/stats"): lambda *_: json_reply(200, self.stats()),
            ("GET", "/_sim/faults"): lambda *_: json_reply(200, self.fault_settings()),
            ("POST", "/_sim/faults"): self._post_faults,
            ("POST", "/_sim/events"): self._post_events,
            ("GET", "/_sim/truth"): self._get_truth,
        }
        for path, muse in SEARCH_PATHS.items():
            self._routes["POST", path] = self._search_route(muse)

    # --- Python API -------------------------------------------------------------------------

    def now(self) -> int:
        return to_epoch(self.config.clock())

    def stats(self) -> dict[str, object]:
        with self._lock:
            return self._stats.snapshot()

    def truth(
        self, start: datetime | str | int, end: datetime | str | int
    ) -> tuple[list[dict], list[object]]:
        with self._lock:
            return self._store.truth(to_epoch(start), to_epoch(end), self.now())

    def add_events(self, records: Iterable[object], visible_after_seconds: int = 0) -> int:
        prepared = [_prepare(record, visible_after_seconds) for record in records]
        with self._lock:
            return self._store.add(
                (record for record, _ in prepared), self.now(), (delay for _, delay in prepared)
            )

    def add_events_after_pages(self, pages: int, records: Iterable[object]) -> None:
        """Add `records` (visible at once) when `pages` more search pages have been served:
        a late search that lands while a client is paging through a window."""
        prepared = [_prepare(record, 0) for record in records]
        with self._lock:
            self._after_pages.append((self._stats.pages_served + pages, prepared))

    def _add_due_events(self) -> None:
        """Add the records whose page has come (the caller holds the lock)."""
        due = [item for item in self._after_pages if item[0] <= self._stats.pages_served]
        for item in due:
            self._after_pages.remove(item)
            self._store.add(
                (record for record, _ in item[1]), self.now(), (delay for _, delay in item[1])
            )

    def queue_faults(self, kinds: Iterable[str], endpoint: str = "search") -> None:
        with self._lock:
            self._faults.queue(list(kinds), endpoint)

    def queue_bodies(self, bodies: Iterable[bytes]) -> None:
        with self._lock:
            self._faults.queue_bodies(list(bodies))

    def set_rates(self, **rates: float) -> None:
        with self._lock:
            self._faults.set_rates(rates)

    def set_token_lifetime(self, seconds: int) -> None:
        """Lifetime of tokens issued from now on; tokens already issued keep theirs."""
        if seconds < 1:
            raise ValueError("token_lifetime must be at least 1 second")
        with self._lock:
            self._token_lifetime = seconds

    def set_rate_limit_reset_ms(self, milliseconds: int) -> None:
        if milliseconds < 0:
            raise ValueError("rate_limit_reset_ms must not be negative")
        with self._lock:
            self._faults.reset_ms = milliseconds

    def issued_tokens(self) -> list[str]:
        """Every access token handed out, for tests that check no output leaks one."""
        with self._lock:
            return list(self._issued)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def fault_settings(self) -> dict[str, object]:
        with self._lock:
            return {
                "rates": dict(self._faults.rates),
                "queue": self._faults.pending(),
                "token_lifetime": self._token_lifetime,
                "rate_limit_reset_ms": self._faults.reset_ms,
            }

    # --- HTTP -------------------------------------------------------------------------------

    def handle(self, method: str, target: str, authorization: str | None, body: bytes) -> Reply:
        url = urlsplit(target)
        route = self._routes.get((method, url.path))
        if route is not None:
            return route(authorization, body, url.query)
        if any(path == url.path for _, path in self._routes):
            return fail_reply(405, "method_not_allowed", f"{method} is not allowed here")
        return fail_reply(404, "not_found", f"no such endpoint: {url.path}")

    def _token(self, _authorization: str | None, body: bytes, _query: str) -> Reply:
        with self._lock:
            self._stats.token_requests += 1
            fault = self._faults.next_fault("token")
            if fault is not None:
                self._stats.faults_injected[fault] += 1
            reset_ms = self._faults.reset_ms
        if fault is not None:
            return self._counted(fault_reply(fault, "token", reset_ms))
        return self._counted(self._issue_token(body))

    def _issue_token(self, body: bytes) -> Reply:
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        fields = {name: form.get(name, [""])[0] for name in TOKEN_FIELDS}
        missing = [name for name, value in fields.items() if not value]
        if missing:
            return client_error("invalid_request", f"missing form field(s): {', '.join(missing)}")
        if fields["grant_type"] != "client_credentials":
            return client_error("unsupported_grant_type", "grant_type must be client_credentials")
        if not (
            _same(fields["client_id"], self.config.client_id)
            and _same(fields["client_secret"], self.config.client_secret)
        ):
            return unauthorized("token", "invalid_client")
        token = secrets.token_urlsafe(32)
        now = self.now()
        with self._lock:
            self._forget_expired_tokens(now)
            self._tokens[token] = now + self._token_lifetime
            self._issued.append(token)
            self._stats.tokens_issued += 1
            lifetime = self._token_lifetime
        doc = {"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": ""}
        return json_reply(200, doc)

    def _forget_expired_tokens(self, now: int) -> None:
        if len(self._tokens) > 1_000:
            self._tokens = {token: until for token, until in self._tokens.items() if until > now}

    def _search_route(self, muse: bool) -> Callable[[str | None, bytes, str], Reply]:
        def route(authorization: str | None, body: bytes, _query: str) -> Reply:
            return self._counted(self._search(authorization, body, muse))

        return route

    def _search(self, authorization: str | None, body: bytes, muse: bool) -> Reply:
        now = self.now()
        with self._lock:
            self._stats.search_requests += 1
            denied = self._check_token(authorization, now)
            if denied is not None:
                return denied
            fault = self._faults.next_fault("search")
            if fault is not None:
                self._stats.faults_injected[fault] += 1
            if fault is not None and fault not in SHAPE_FAULTS:
                return self._faults.reply(fault, "search")
        try:
            query = parse_search(body, now)
        except RequestError as error:
            return error.reply
        total, records = 0, []
        if query.cursor is not None:
            cursor = query.cursor
            if self.config.paging == "offset":  # each page as of now, not as of the first
                cursor = replace(cursor, asof=now)
            with self._lock:
                total, records = self._store.page(
                    cursor.start, cursor.end, cursor.asof, cursor.offset, query.page_size
                )
        served = [with_muse_query(r) for r in records] if muse else records
        doc = page_doc(query, total, served, self.config.total_count_error)
        if fault is not None:
            return json_reply(200, mangle(fault, doc))
        with self._lock:
            self._stats.pages_served += 1
            self._stats.records_served += len(records)
            self._add_due_events()
        return json_reply(200, doc)

    def _check_token(self, authorization: str | None, now: int) -> Reply | None:
        scheme, _, token = (authorization or "").strip().partition(" ")
        expiry = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expiry is None:
            return unauthorized("search", "unauthorized")
        if now >= expiry:
            return unauthorized("search", "token_expired")
        return None

    def _counted(self, reply: Reply) -> Reply:
        with self._lock:
            self._stats.responses_by_status["dropped" if reply.drop else str(reply.status)] += 1
        return reply

    # --- control endpoints ------------------------------------------------------------------

    def _post_faults(self, _authorization: str | None, body: bytes, _query: str) -> Reply:
        try:
            self.configure_faults(_json(body))
        except (ValueError, TypeError) as error:
            return json_reply(400, {"error": str(error)})
        return json_reply(200, self.fault_settings())

    def configure_faults(self, doc: object) -> None:
        """Apply `{"clear": bool, "rates": {...}, "queue": [...] | {"search": [...], "token":
        [...]}, "endpoint": "search", "token_lifetime": s, "rate_limit_reset_ms": ms}`."""
        if not isinstance(doc, dict):
            raise ValueError("expected a JSON object")
        if doc.get("clear"):
            self.clear_faults()
        rates = doc.get("rates", {})
        if not isinstance(rates, dict) or not all(name in RATE_NAMES for name in rates):
            raise ValueError(f"rates must be an object with keys among {list(RATE_NAMES)}")
        self.set_rates(**rates)
        queue = doc.get("queue", [])
        queues = queue if isinstance(queue, dict) else {doc.get("endpoint", "search"): queue}
        for endpoint, kinds in queues.items():
            self.queue_faults(kinds, endpoint)
        if "token_lifetime" in doc:
            self.set_token_lifetime(int(doc["token_lifetime"]))
        if "rate_limit_reset_ms" in doc:
            self.set_rate_limit_reset_ms(int(doc["rate_limit_reset_ms"]))

    def _post_events(self, _authorization: str | None, body: bytes, _query: str) -> Reply:
        try:
            records = _json(body)
        except ValueError as error:
            return json_reply(400, {"error": str(error)})
        if not isinstance(records, list):
            return json_reply(400, {"error": "expected a JSON list of records"})
        return json_reply(200, {"added": self.add_events(records)})

    def _get_truth(self, _authorization: str | None, _body: bytes, query: str) -> Reply:
        params = parse_qs(query)
        default_start, default_end = default_window(self.now())
        try:
            start = _query_time(params, "start", default_start)
            end = _query_time(params, "end", default_end)
        except ValueError as error:
            return json_reply(400, {"error": str(error)})
        valid, malformed = self.truth(start, end)
        window = {"start": format_api_time(start), "end": format_api_time(end)}
        return json_reply(200, {**window, "valid": valid, "malformed": malformed})


def _prepare(record: object, default_delay: int) -> tuple[object, int]:
    """A private copy of the record, minus the hidden delay key, and its delay."""
    record = copy.deepcopy(record)
    if isinstance(record, dict) and VISIBLE_AFTER_KEY in record:
        return record, int(record.pop(VISIBLE_AFTER_KEY))
    return record, default_delay


def _query_time(params: dict[str, list[str]], name: str, default: int) -> int:
    if name not in params:
        return default
    # An unencoded "+0000" in a query string arrives as " 0000"; take it as meant.
    return to_epoch(params[name][0].replace(" ", "+"))


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"body is not JSON: {error}") from None
