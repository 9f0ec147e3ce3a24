"""What counts as a receiver's acceptance of an HTTPS delivery, per destination format.

A 2xx alone is not proof: an SSO proxy or load balancer in front of a receiver answers
`302 Location: /login`, or serves its sign-in page with 200, and a forwarder that follows
the redirect (requests does by default) marks every batch "delivered" to a login page.
So redirects are never followed; a 3xx is a refusal that names only the Location's host
(its path and query, like a webhook's own URL, can hold a secret); and each destination
accepts only the answer its receiver really gives:

- `hec`: 2xx with Splunk's JSON `{"text": "Success", "code": 0}` (code 0 and nothing else);
- `slack`: 200 with the body `ok` (Slack's incoming webhooks; errors come as 4xx text);
- `teams`: 202 Accepted (Teams Workflows' "When a Teams webhook request is received");
- `ndjson` and `webhook`: any 2xx except an HTML page (no collector answers with one).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlparse

import orjson
import requests

MAX_RETRY_AFTER = 3600.0
HTML_TYPES = ("text/html", "application/xhtml+xml")


class TransientError(Exception):
    """Try again later (network down, 5xx, 429); `retry_after` is the receiver's wish."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Rejected(Exception):
    """The receiver refused the content as malformed (a 4xx other than 429): park it."""


class Refused(Exception):
    """The receiver refused us (bad token, wrong URL, TLS verification, a redirect, an
    answer that is not its acknowledgement): retrying the same request cannot help until
    someone fixes the configuration."""


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds or an HTTP date, capped; None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def location_host(response: requests.Response) -> str | None:
    """The host (and port) a redirect points at, relative Locations resolved; never its
    path or query."""
    location = response.headers.get("Location")
    if not location:
        return None
    try:
        target = urlparse(urljoin(response.url or "", location.strip()))
        host, port = target.hostname, target.port
    except ValueError:
        return None
    if not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def check_status(response: requests.Response) -> None:
    """Refusals, retries and rejections by HTTP status; returns only on a 2xx."""
    status = response.status_code
    detail = f"HTTP {status} {response.reason or ''}".strip()
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        host = location_host(response)
        where = f"a redirect to {host}" if host else "a redirect without a usable Location"
        raise Refused(
            f"{detail}: {where}, which deliveries never follow (a sign-in page or proxy in "
            "front of the receiver?): point url at the receiver itself"
        )
    if status in (429, 503):
        raise TransientError(detail, retry_after_seconds(response.headers.get("Retry-After")))
    if status in (408, 425) or status >= 500:
        raise TransientError(detail)
    if status in (401, 403, 404, 405, 407):
        raise Refused(f"{detail}: check the destination's URL and token")
    snippet = response.text[:300].replace("\n", " ") if response.text else ""
    raise Rejected(f"{detail}{': ' + snippet if snippet else ''}")


def _is_html(response: requests.Response) -> bool:
    media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    start = response.content[:64].lstrip().lower()
    return media in HTML_TYPES or start.startswith((b"<!doctype html", b"<html"))


def _hec_success(response: requests.Response) -> bool:
    try:
        answer = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return False
    code = answer.get("code") if isinstance(answer, dict) else None
    return type(code) is int and code == 0  # not `false`, which equals 0 in Python


def _refused(response: requests.Response, expected: str) -> Refused:
    """The answer was a 2xx but not the receiver's acknowledgement. Its body is not
    quoted: it is whatever answered (a sign-in page), not the receiver."""
    kind = "an HTML page" if _is_html(response) else "something else"
    return Refused(
        f"HTTP {response.status_code} with {kind}, not {expected}: is a proxy or sign-in "
        "page answering for the receiver? nothing was counted as delivered"
    )


def check_acceptance(response: requests.Response, destination_kind: str) -> None:
    """Returns only when `response` is the acknowledgement of a `destination_kind`
    receiver (`hec`, `slack`, `teams`, `ndjson`, `webhook`); raises otherwise."""
    check_status(response)
    if destination_kind == "hec":
        if not _hec_success(response):
            raise _refused(response, 'Splunk HEC\'s {"text":"Success","code":0}')
    elif destination_kind == "slack":
        if response.status_code != 200 or response.content.strip() != b"ok":
            raise _refused(response, "Slack's 200 ok")
    elif destination_kind == "teams":
        if response.status_code != 202:
            raise _refused(response, "Teams Workflows' 202 Accepted")
    elif _is_html(response):
        raise _refused(response, "a collector's acknowledgement")
