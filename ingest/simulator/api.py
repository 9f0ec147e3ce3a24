"""The simulated Mimecast API 2.0, independent of sockets.

`MimecastApi.handle()` turns (method, path, Authorization header, body) into a `Reply`; the HTTP
server in `server.py` only moves bytes. All shared state (tokens, the accounts' event stores,
faults, counters) sits behind one lock; JSON encoding happens outside it so concurrent clients
overlap. The credentials on the token endpoint pick the account; the token then reads that
account's data only. The control surface (`/_sim/...`, and the methods below) acts on account
1 unless `account` names another.
"""

from __future__ import annotations

import copy
import hmac
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from ingest.simulator import control
from ingest.simulator.accounts import Account, build_accounts
from ingest.simulator.config import SimConfig
from ingest.simulator.faults import SHAPE_FAULTS, fault_reply, mangle, unauthorized
from ingest.simulator.reply import Reply, client_error, fail_reply, json_reply
from ingest.simulator.search import RequestError, page_doc, parse_search, with_muse_query
from ingest.simulator.timefmt import to_epoch

TOKEN_PATH = "/oauth/token"
TOKEN_FIELDS = ("client_id", "client_secret", "grant_type")
SEARCH_PATHS = {
    "/api/archive/get-archive-search-logs": False,
    "/api/archive/get-search-logs": True,  # adds museQuery
}
VISIBLE_AFTER_KEY = "_visibleAfterSeconds"
Route = Callable[[str | None, bytes, str], Reply]


class MimecastApi:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._accounts = build_accounts(config)
        self._tokens: dict[str, tuple[Account, int]] = {}  # token -> (account, expiry epoch)
        self._issued: list[str] = []  # every token ever issued, for leak checks
        self._routes: dict[tuple[str, str], Route] = {
            ("POST", TOKEN_PATH): self._token,
            **control.routes(self),
        }
        for path, muse in SEARCH_PATHS.items():
            self._routes["POST", path] = self._search_route(muse)

    # --- Python API -------------------------------------------------------------------------

    def now(self) -> int:
        return to_epoch(self.config.clock())

    def account(self, number: int) -> Account:
        """Account `number` (1-based), or ValueError naming the valid range."""
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValueError(f"account must be a whole number, not {number!r}")
        if not 1 <= number <= len(self._accounts):
            raise ValueError(f"account must be within 1..{len(self._accounts)}, not {number}")
        return self._accounts[number - 1]

    def credentials(self, account: int = 1) -> tuple[str, str]:
        """(client id, client secret) of an account: published, demo-only values."""
        config = self.account(account).config
        return config.client_id, config.client_secret

    def stats(self, account: int = 1) -> dict[str, object]:
        with self._lock:
            return self.account(account).stats.snapshot()

    def truth(
        self, start: datetime | str | int, end: datetime | str | int, account: int = 1
    ) -> tuple[list[dict], list[object]]:
        with self._lock:
            return self.account(account).store.truth(to_epoch(start), to_epoch(end), self.now())

    def add_events(
        self, records: Iterable[object], visible_after_seconds: int = 0, account: int = 1
    ) -> int:
        prepared = [_prepare(record, visible_after_seconds) for record in records]
        with self._lock:
            return self.account(account).store.add(
                (record for record, _ in prepared), self.now(), (delay for _, delay in prepared)
            )

    def add_events_after_pages(
        self, pages: int, records: Iterable[object], account: int = 1
    ) -> None:
        """Add `records` (visible at once) when `pages` more search pages of the account have
        been served: a late search that lands while a client is paging through a window."""
        prepared = [_prepare(record, 0) for record in records]
        with self._lock:
            chosen = self.account(account)
            chosen.after_pages.append((chosen.stats.pages_served + pages, prepared))

    def queue_faults(
        self, kinds: Iterable[str], endpoint: str = "search", account: int = 1
    ) -> None:
        with self._lock:
            self.account(account).faults.queue(list(kinds), endpoint)

    def queue_bodies(self, bodies: Iterable[bytes], account: int = 1) -> None:
        with self._lock:
            self.account(account).faults.queue_bodies(list(bodies))

    def set_rates(self, *, account: int = 1, **rates: float) -> None:
        with self._lock:
            self.account(account).faults.set_rates(rates)

    def set_token_lifetime(self, seconds: int, account: int = 1) -> None:
        """Lifetime of tokens issued from now on; tokens already issued keep theirs."""
        if seconds < 1:
            raise ValueError("token_lifetime must be at least 1 second")
        with self._lock:
            self.account(account).token_lifetime = seconds

    def set_rate_limit_reset_ms(self, milliseconds: int, account: int = 1) -> None:
        if milliseconds < 0:
            raise ValueError("rate_limit_reset_ms must not be negative")
        with self._lock:
            self.account(account).faults.reset_ms = milliseconds

    def reject_credentials(self, reject: bool = True, account: int = 1) -> None:
        """Refuse (or accept again) the account's client id/secret on every token request;
        tokens already issued keep working until they expire."""
        with self._lock:
            self.account(account).faults.reject_credentials = bool(reject)

    def issued_tokens(self) -> list[str]:
        """Every access token handed out, to any account, for tests that check no output
        leaks one."""
        with self._lock:
            return list(self._issued)

    def clear_faults(self, account: int = 1) -> None:
        with self._lock:
            self.account(account).faults.clear()

    def fault_settings(self, account: int = 1) -> dict[str, object]:
        with self._lock:
            chosen = self.account(account)
            return {
                "rates": dict(chosen.faults.rates),
                "queue": chosen.faults.pending(),
                "token_lifetime": chosen.token_lifetime,
                "rate_limit_reset_ms": chosen.faults.reset_ms,
                "reject_credentials": chosen.faults.reject_credentials,
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
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        fields = {name: form.get(name, [""])[0] for name in TOKEN_FIELDS}
        account = self._account_of(fields["client_id"])
        with self._lock:
            account.stats.token_requests += 1
            fault = account.faults.next_fault("token")
            if fault is not None:
                account.stats.faults_injected[fault] += 1
            reset_ms = account.faults.reset_ms
        if fault is not None:
            return self._counted(account, fault_reply(fault, "token", reset_ms))
        return self._counted(account, self._issue_token(fields, account))

    def _account_of(self, client_id: str) -> Account:
        """The account a client id names; one that names none counts against account 1 (as
        every token request did when there was one account), and is refused there."""
        named = [
            account for account in self._accounts if _same(client_id, account.config.client_id)
        ]
        return named[0] if named else self._accounts[0]

    def _issue_token(self, fields: dict[str, str], account: Account) -> Reply:
        missing = [name for name, value in fields.items() if not value]
        if missing:
            return client_error("invalid_request", f"missing form field(s): {', '.join(missing)}")
        if fields["grant_type"] != "client_credentials":
            return client_error("unsupported_grant_type", "grant_type must be client_credentials")
        with self._lock:
            rejecting = account.faults.reject_credentials
        if rejecting or not (
            _same(fields["client_id"], account.config.client_id)
            and _same(fields["client_secret"], account.config.client_secret)
        ):
            return unauthorized("token", "invalid_client")
        token = secrets.token_urlsafe(32)
        now = self.now()
        with self._lock:
            self._forget_expired_tokens(now)
            self._tokens[token] = (account, now + account.token_lifetime)
            self._issued.append(token)
            account.stats.tokens_issued += 1
            lifetime = account.token_lifetime
        doc = {"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": ""}
        return json_reply(200, doc)

    def _forget_expired_tokens(self, now: int) -> None:
        if len(self._tokens) > 1_000:
            self._tokens = {token: held for token, held in self._tokens.items() if held[1] > now}

    def _search_route(self, muse: bool) -> Route:
        def route(authorization: str | None, body: bytes, _query: str) -> Reply:
            return self._search(authorization, body, muse)

        return route

    def _search(self, authorization: str | None, body: bytes, muse: bool) -> Reply:
        now = self.now()
        with self._lock:
            account = self._holder(authorization)
            account.stats.search_requests += 1
            denied = self._check_token(authorization, now)
            if denied is not None:
                return self._counted_locked(account, denied)
            fault = account.faults.next_fault("search")
            if fault is not None:
                account.stats.faults_injected[fault] += 1
            if fault is not None and fault not in SHAPE_FAULTS:
                return self._counted_locked(account, account.faults.reply(fault, "search"))
        try:
            query = parse_search(body, now)
        except RequestError as error:
            return self._counted(account, error.reply)
        total, records = 0, list[dict]()
        if query.cursor is not None:
            cursor = query.cursor
            if account.config.paging == "offset":  # each page as of now, not as of the first
                cursor = replace(cursor, asof=now)
            with self._lock:
                total, records = account.store.page(
                    cursor.start, cursor.end, cursor.asof, cursor.offset, query.page_size
                )
        served = [with_muse_query(r) for r in records] if muse else records
        doc = page_doc(query, total, served, account.config.total_count_error)
        if fault is not None:
            return self._counted(account, json_reply(200, mangle(fault, doc)))
        with self._lock:
            account.stats.pages_served += 1
            account.stats.records_served += len(records)
            account.add_due_events(self.now())
        return self._counted(account, json_reply(200, doc))

    def _holder(self, authorization: str | None) -> Account:
        """The account a bearer token belongs to; a request without a known token counts
        against account 1, as every request did when there was one account."""
        held = self._tokens.get(_bearer(authorization) or "")
        return held[0] if held is not None else self._accounts[0]

    def _check_token(self, authorization: str | None, now: int) -> Reply | None:
        token = _bearer(authorization)
        held = self._tokens.get(token) if token is not None else None
        if held is None:
            return unauthorized("search", "unauthorized")
        if now >= held[1]:
            return unauthorized("search", "token_expired")
        return None

    def _counted(self, account: Account, reply: Reply) -> Reply:
        with self._lock:
            return self._counted_locked(account, reply)

    @staticmethod
    def _counted_locked(account: Account, reply: Reply) -> Reply:
        account.stats.responses_by_status["dropped" if reply.drop else str(reply.status)] += 1
        return reply


def _bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _prepare(record: object, default_delay: int) -> tuple[object, int]:
    """A private copy of the record, minus the hidden delay key, and its delay."""
    record = copy.deepcopy(record)
    if isinstance(record, dict) and VISIBLE_AFTER_KEY in record:
        return record, int(record.pop(VISIBLE_AFTER_KEY))
    return record, default_delay


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
