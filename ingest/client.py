"""The Mimecast API 2.0 client: tokens, search-log pages, and what to do when calls fail.

What the API contract ("The API's quirks" in docs/ingest.md) asks of a
client lives here and in `ingest.responses`: `start`/`end` window keys, `fail` inside a 200,
429 with a reset in milliseconds, one token reused until shortly before it expires, and
stopping on a missing `next` *or* an empty page (never on `totalCount`, which is not
promised exact). A window whose pages shifted while it was read (see `WindowShifted`) is
refused, not stored. Secrets never reach a log line, an exception or a repr.
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

from ingest.responses import (
    CredentialsRejected,
    HostUnreachable,
    MimecastError,
    TransientError,
    WindowShifted,
    connection_reason,
    fail_messages,
    json_body,
    next_token,
    records_of,
    reported_total,
)

__all__ = [
    "CredentialsRejected",
    "HostUnreachable",
    "MimecastClient",
    "MimecastError",
    "Page",
    "WindowShifted",
    "format_api_time",
]

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


def format_api_time(moment: datetime) -> str:
    """Mimecast's `yyyy-MM-dd'T'HH:mm:ss+0000`, always in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


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


@dataclass(frozen=True)
class SettingNames:
    """Where the user fixes this client's credentials and URL, as its messages name them:
    the MIMECAST_* settings, or a tenant's table in TENANTS_FILE."""

    credentials: str = "MIMECAST_CLIENT_ID and MIMECAST_CLIENT_SECRET"
    base_url: str = "MIMECAST_BASE_URL"


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
        settings_named: SettingNames | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._named = settings_named or SettingNames()
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
            raise TransientError(f"cannot connect to {url}: {connection_reason(exc)}") from None

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
                f"{response.status_code}); check {self._named.credentials} "
                "(new API credentials can take 30 minutes to become usable)"
            )
        self._raise_for_transient(response)
        if response.status_code != 200:
            raise MimecastError(
                f"the token endpoint answered HTTP {response.status_code}; "
                "check MIMECAST_BASE_URL points at the Mimecast API"
            )
        body = json_body(response)
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
                    f"{self._named.base_url} {self.base_url} cannot be reached ({exc}); "
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
        body = json_body(response)
        if not isinstance(body, dict):
            raise MimecastError("the search-log response is not a JSON object")
        if body.get("fail"):
            messages, retryable = fail_messages(body)
            if retryable:
                raise TransientError(f"Mimecast reported a retryable failure: {messages}")
            raise MimecastError(f"Mimecast reported a failure: {messages}")
        return body

    def _read_page(
        self, window: dict[str, str], page_token: str | None
    ) -> tuple[dict[str, Any], list[Any]]:
        body = self._search_page(window, page_token)
        return body, records_of(body)

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
            following = next_token(body)
            if not following:
                return first_total
            previous = (page_token, records)
            page_token = following

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
