"""The Mimecast API 2.0 client: tokens, search-log pages, and what to do when calls fail.

Everything the contract in `shared/reference/mimecast-api-2.md` says a client must get
right lives here: `start`/`end` window keys, `fail` inside a 200, 429 with a reset in
milliseconds, one token reused until shortly before it expires, and stopping on a missing
`next` *or* an empty page (never on `totalCount`, which is not promised exact). A window
whose pages shifted while it was read (see `WindowShifted`) is refused, not stored.
Secrets never reach a log line, an exception or a repr.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
)

log = logging.getLogger(__name__)

SEARCH_LOGS_PATH = "/api/archive/get-archive-search-logs"
TOKEN_PATH = "/oauth/token"
PAGE_SIZE = 100
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
MAX_ATTEMPTS = 6
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
MAX_RATE_LIMIT_WAIT_SECONDS = 3600.0


class MimecastError(Exception):
    """A call failed in a way the caller should report; `retryable` says if trying later helps."""

    retryable = False


class TransientError(MimecastError):
    """A failure worth retrying: 5xx, 429, a timeout, a dropped connection, retryable fail."""

    retryable = True

    def __init__(self, message: str, wait_seconds: float | None = None) -> None:
        super().__init__(message)
        self.wait_seconds = wait_seconds


class CredentialsRejected(MimecastError):
    """The token endpoint refused the client id/secret."""


class HostUnreachable(MimecastError):
    """The base URL could not be reached at all (a configuration problem, usually)."""


class WindowShifted(MimecastError):
    """A window's pages changed while it was read: `totalCount` changed between its pages,
    or a page began with a record of the page before it and that page, read again, had
    changed. An API that pages by offset serves a record twice when a late search lands
    among the pages already read, and twins get distinct keys, so the page is not stored:
    the caller reads the whole window again."""

    retryable = True


def format_api_time(moment: datetime) -> str:
    """Mimecast's `yyyy-MM-dd'T'HH:mm:ss+0000`, always in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _fail_messages(body: Any) -> tuple[str, bool]:
    """The messages inside a `fail` array and whether all of them are retryable."""
    messages: list[str] = []
    fail = body.get("fail")
    if not isinstance(fail, list):  # an object alone, or a shape the contract does not have
        fail = [fail] if isinstance(fail, dict) else []
    retryable = True
    for item in fail:
        errors = item.get("errors") if isinstance(item, dict) else None
        if not errors and isinstance(item, dict):
            errors = [item]
        for error in errors or []:
            if not isinstance(error, dict):
                continue
            code = error.get("code", "")
            message = error.get("message", "")
            messages.append(f"{code}: {message}".strip(": "))
            retryable = retryable and bool(error.get("retryable", False))
    if not messages:  # nothing readable: not retried, as a failure it cannot explain
        return f"unspecified failure ({str(body.get('fail'))[:80]})", False
    return "; ".join(messages), retryable


def _rate_limit_wait(response: requests.Response) -> float:
    """Seconds to wait after a 429: X-RateLimit-Reset is milliseconds; Retry-After seconds."""
    reset = response.headers.get("X-RateLimit-Reset")
    retry_after = response.headers.get("Retry-After")
    try:
        if reset is not None:
            return min(max(float(reset) / 1000.0, 0.0), MAX_RATE_LIMIT_WAIT_SECONDS)
        if retry_after is not None:
            return min(max(float(retry_after), 0.0), MAX_RATE_LIMIT_WAIT_SECONDS)
    except ValueError:
        pass
    return BACKOFF_FIRST_SECONDS


@dataclass
class Page:
    """One page of raw records as served (newest first, unvalidated)."""

    records: list[Any]
    number: int


class MimecastClient:
    """A client bound to one base URL and one set of credentials."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._session = session or requests.Session()
        self._session.headers.update({"Accept": "application/json"})
        self._settle_environment()
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._token: str | None = None
        self._token_valid_until = 0.0
        self.requests_made = 0
        self.tokens_fetched = 0

    def __repr__(self) -> str:
        return f"MimecastClient(base_url={self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    def _settle_environment(self) -> None:
        """Read proxy and CA settings (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE) for the base
        URL once, not on every request (a sixth of a page's client time), and never send a
        ~/.netrc password: it would replace the bearer token with Basic auth."""
        session = self._session
        found = session.merge_environment_settings(self.base_url, {}, None, None, None)
        session.trust_env = False
        session.proxies.update(found["proxies"])
        session.verify = found["verify"]
        session.cert = found["cert"]

    # --- retries -----------------------------------------------------------------------
    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.wait_seconds is not None:
            return exc.wait_seconds
        ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (state.attempt_number - 1))
        return random.uniform(ceiling / 2, ceiling)  # exponential backoff, jittered

    @staticmethod
    def _retry_logger(level: int) -> Callable[[RetryCallState], None]:
        def log_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.log(level, "retrying in %.1f s after: %s", wait, exc)

        return log_retry

    def _with_retries(
        self, call: Callable[[], Any], attempts: int | None = None, log_level: int = logging.WARNING
    ) -> Any:
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(attempts or self._max_attempts),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._retry_logger(log_level),
            reraise=True,
        )
        return retrying(call)

    # --- HTTP --------------------------------------------------------------------------
    def _post(self, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}{path}"
        self.requests_made += 1
        try:
            return self._session.post(url, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), **kwargs)
        except requests.Timeout:
            raise TransientError(f"{url} timed out") from None
        except requests.ConnectionError as exc:
            raise TransientError(f"cannot connect to {url}: {_connection_reason(exc)}") from None

    # --- token -------------------------------------------------------------------------
    def _fetch_token(self) -> None:
        response = self._post(
            TOKEN_PATH,
            data={
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "grant_type": "client_credentials",
            },
        )
        if response.status_code in (400, 401):
            raise CredentialsRejected(
                "the client id/secret was rejected by Mimecast (HTTP "
                f"{response.status_code}); check MIMECAST_CLIENT_ID and MIMECAST_CLIENT_SECRET "
                "(new API credentials can take 30 minutes to become usable)"
            )
        self._raise_for_transient(response)
        if response.status_code != 200:
            raise MimecastError(
                f"the token endpoint answered HTTP {response.status_code}; "
                "check MIMECAST_BASE_URL points at the Mimecast API"
            )
        body = _json_body(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        token_type = str(body.get("token_type", "bearer")) if isinstance(body, dict) else ""
        if not token or token_type.lower() != "bearer":
            raise MimecastError("the token endpoint's answer holds no bearer access token")
        try:
            lifetime = float(body.get("expires_in", 1799))
        except (TypeError, ValueError):
            lifetime = 1799.0
        margin = min(60.0, lifetime * 0.1)
        self._token = str(token)
        self._token_valid_until = time.monotonic() + max(lifetime - margin, 0.0)
        self.tokens_fetched += 1
        log.debug("new access token, valid %.0f s", lifetime)

    def _ensure_token(self) -> str:
        if self._token is None or time.monotonic() >= self._token_valid_until:
            self._with_retries(self._fetch_token)
        assert self._token is not None
        return self._token

    def check_credentials(self, attempts: int = 3) -> None:
        """Fetch a token now: fails fast, in one line, on bad credentials or a wrong host."""
        try:
            self._with_retries(self._fetch_token, attempts=attempts, log_level=logging.DEBUG)
        except TransientError as exc:
            if "cannot connect" in str(exc) or "timed out" in str(exc):
                raise HostUnreachable(
                    f"MIMECAST_BASE_URL {self.base_url} cannot be reached ({exc}); "
                    "check the host name and your network"
                ) from None
            raise

    # --- search logs -------------------------------------------------------------------
    @staticmethod
    def _raise_for_transient(response: requests.Response) -> None:
        if response.status_code == 429:
            raise TransientError(
                "rate limit reached (HTTP 429)", wait_seconds=_rate_limit_wait(response)
            )
        if response.status_code >= 500:
            raise TransientError(f"Mimecast answered HTTP {response.status_code}")

    def _search_page(self, window: dict[str, str], page_token: str | None) -> dict[str, Any]:
        pagination: dict[str, Any] = {"pageSize": PAGE_SIZE}
        if page_token:
            pagination["pageToken"] = page_token
        payload = {"meta": {"pagination": pagination}, "data": [window]}
        refreshed = False
        while True:
            token = self._ensure_token()
            response = self._post(
                SEARCH_LOGS_PATH, json=payload, headers={"Authorization": f"Bearer {token}"}
            )
            if response.status_code == 401 and not refreshed:
                self._token = None  # expired or revoked: one new token, one more try
                refreshed = True
                continue
            return self._read_search_response(response)

    def _read_search_response(self, response: requests.Response) -> dict[str, Any]:
        self._raise_for_transient(response)
        status = response.status_code
        if status == 401:
            raise MimecastError(
                "Mimecast rejected a fresh access token (HTTP 401); check the API application"
            )
        if status == 403:
            raise MimecastError(
                "the API application may not read search logs (HTTP 403): give it the "
                "'Archive | Search Logs | Read' permission in the Mimecast Administration Console"
            )
        if status != 200:
            raise MimecastError(
                f"Mimecast refused the search-log request (HTTP {status}); "
                "this is a bug or an API change: please report it"
            )
        body = _json_body(response)
        if not isinstance(body, dict):
            raise MimecastError("the search-log response is not a JSON object")
        if body.get("fail"):
            messages, retryable = _fail_messages(body)
            if retryable:
                raise TransientError(f"Mimecast reported a retryable failure: {messages}")
            raise MimecastError(f"Mimecast reported a failure: {messages}")
        return body

    def _read_page(
        self, window: dict[str, str], page_token: str | None
    ) -> tuple[dict[str, Any], list[Any]]:
        body = self._search_page(window, page_token)
        return body, _records_of(body)

    def iter_pages(self, start: datetime, end: datetime) -> Generator[Page, None, int | None]:
        """Every page for [start, end], one at a time, so pages stream to the database;
        returns the window's `totalCount` (None when the server sends none).

        Paging stops on an empty page or a missing `next` only: `totalCount` is not
        promised exact, and stopping when it is reached would lose a window's oldest
        searches whenever it undercounts (it costs one request more per window). Raises
        `WindowShifted`, before yielding the page, when the window changed while read."""
        window = {"start": format_api_time(start), "end": format_api_time(end)}
        page_token: str | None = None
        previous: tuple[str | None, list[Any]] | None = None  # the last page: token, records
        first_total: int | None = None
        number = 0
        while True:
            body, records = self._fetch_page(window, page_token)
            number += 1
            if not records:
                return reported_total(body) if number == 1 else first_total
            total = reported_total(body)
            if number == 1:
                first_total = total
            elif total is not None and first_total is not None and total != first_total:
                raise WindowShifted(
                    f"totalCount changed from {first_total} to {total} while the window "
                    f"{window['start']} → {window['end']} was read"
                )
            if previous is not None and self._previous_page_changed(window, previous, records):
                raise WindowShifted(
                    f"page {number} of the window {window['start']} → {window['end']} "
                    "repeats a record of the page before it, which had changed when read again"
                )
            yield Page(records=records, number=number)
            next_token = _next_token(body)
            if not next_token:
                return first_total
            previous = (page_token, records)
            page_token = next_token

    def _fetch_page(
        self, window: dict[str, str], page_token: str | None
    ) -> tuple[dict[str, Any], list[Any]]:
        return self._with_retries(lambda: self._read_page(window, page_token))

    def _previous_page_changed(
        self, window: dict[str, str], previous: tuple[str | None, list[Any]], records: list[Any]
    ) -> bool:
        """Whether the page before this one changed. Asked only when this page begins with
        a record of that page, which identical twins do too: one request to tell a twin at
        a page boundary from a record served twice because the pages moved."""
        token, before = previous
        if records[0] not in before:
            return False
        _body, again = self._fetch_page(window, token)
        return again != before


def _connection_reason(exc: requests.ConnectionError) -> str:
    text = str(exc)
    for marker in (
        "Name or service not known",
        "Temporary failure in name resolution",
        "nodename nor servname",
        "Connection refused",
        "Connection reset",
        "RemoteDisconnected",
        "Connection aborted",
    ):
        if marker in text:
            return marker.lower()
    return "connection failed"


def _json_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise TransientError(
            f"Mimecast answered HTTP {response.status_code} with a body that is not JSON"
        ) from None


def _records_of(body: dict[str, Any]) -> list[Any]:
    """The logs of a page. An empty page is `data: []` or `data: [{"logs": []}]`; anything
    else that is not a list of objects holding a `logs` list is a broken response, retried
    and then reported, never read as "no more data" (that would lose the page)."""
    data = body.get("data")
    if not isinstance(data, list):
        raise TransientError(
            f"the search-log response's 'data' is {type(data).__name__}, not a list"
        )
    records: list[Any] = []
    for item in data:
        logs = item.get("logs") if isinstance(item, dict) else None
        if not isinstance(logs, list):
            raise TransientError(
                f"the search-log response's 'logs' is {type(logs).__name__}, not a list"
            )
        records.extend(logs)
    if records:
        meta = body.get("meta")
        if not isinstance(meta, dict) or not isinstance(meta.get("pagination"), dict):
            raise TransientError("the search-log response has logs but no meta.pagination")
        token = meta["pagination"].get("next")
        if token is not None and not isinstance(token, str):
            # not "no next page": reading it so would skip the rest of the window silently
            raise TransientError(
                f"the search-log response's pagination 'next' is {type(token).__name__}, "
                "not a string"
            )
    return records


def reported_total(body: dict[str, Any]) -> int | None:
    """`meta.pagination.totalCount` where the server sends a usable one: compared with what
    was served, never used to stop paging."""
    meta = body.get("meta")
    pagination = meta.get("pagination") if isinstance(meta, dict) else None
    total = pagination.get("totalCount") if isinstance(pagination, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None


def _total_count(body: dict[str, Any], default: int) -> int:
    """`totalCount` where the server sends a positive one, else `default`."""
    total = reported_total(body)
    return total if total else default


def _next_token(body: dict[str, Any]) -> str | None:
    meta = body.get("meta")
    pagination = meta.get("pagination") if isinstance(meta, dict) else None
    token = pagination.get("next") if isinstance(pagination, dict) else None
    return token if isinstance(token, str) and token else None
