"""What Mimecast's answers mean: the errors a call ends in, and reading a response body
(`fail` inside a 200, the logs of a page, `next`, `totalCount`) without trusting its shape.

The contract is summarised in docs/ingest.md ("The API's quirks"); a body that breaks it is
a `TransientError` (retried, then reported), never read as "no more data".
"""

from __future__ import annotations

from typing import Any

import requests


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


def fail_messages(body: Any) -> tuple[str, bool]:
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


def connection_reason(exc: requests.ConnectionError) -> str:
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


def json_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise TransientError(
            f"Mimecast answered HTTP {response.status_code} with a body that is not JSON"
        ) from None


def records_of(body: dict[str, Any]) -> list[Any]:
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


def total_count(body: dict[str, Any], default: int) -> int:
    """`totalCount` where the server sends a positive one, else `default`."""
    total = reported_total(body)
    return total if total else default


def next_token(body: dict[str, Any]) -> str | None:
    meta = body.get("meta")
    pagination = meta.get("pagination") if isinstance(meta, dict) else None
    token = pagination.get("next") if isinstance(pagination, dict) else None
    return token if isinstance(token, str) and token else None
