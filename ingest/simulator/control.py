"""The simulator's control endpoints under `/_sim/`: what tests and demos steer it with.

Kept apart from the Mimecast endpoints so the imitation of the real API stays readable. Every
endpoint acts on account 1 unless the query names another (`?account=2`); a bad account is a
400 naming the valid range.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from ingest.simulator.faults import RATE_NAMES
from ingest.simulator.reply import Reply, json_reply
from ingest.simulator.search import default_window
from ingest.simulator.timefmt import format_api_time, to_epoch

if TYPE_CHECKING:
    from ingest.simulator.api import MimecastApi

Route = Callable[[str | None, bytes, str], Reply]
Action = Callable[["MimecastApi", int, bytes, dict[str, list[str]]], Reply]


def routes(api: MimecastApi) -> dict[tuple[str, str], Route]:
    actions: dict[tuple[str, str], Action] = {
        ("GET", "/_sim/stats"): lambda api, account, *_: json_reply(200, api.stats(account)),
        ("GET", "/_sim/faults"): lambda api, account, *_: _settings(api, account),
        ("POST", "/_sim/faults"): _post_faults,
        ("POST", "/_sim/events"): _post_events,
        ("GET", "/_sim/truth"): _get_truth,
    }
    return {key: _route(api, action) for key, action in actions.items()}


def _route(api: MimecastApi, action: Action) -> Route:
    def route(_authorization: str | None, body: bytes, query: str) -> Reply:
        params = parse_qs(query)
        try:
            account = api.account(_account_number(params)).number
        except ValueError as error:
            return json_reply(400, {"error": str(error)})
        return action(api, account, body, params)

    return route


def _account_number(params: dict[str, list[str]]) -> int:
    raw = params.get("account", ["1"])[0]
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"account must be a whole number, not {raw!r}") from None


def _settings(api: MimecastApi, account: int) -> Reply:
    return json_reply(200, api.fault_settings(account))


def _post_faults(api: MimecastApi, account: int, body: bytes, _params: object) -> Reply:
    try:
        configure_faults(api, _json(body), account)
    except (ValueError, TypeError) as error:
        return json_reply(400, {"error": str(error)})
    return _settings(api, account)


def configure_faults(api: MimecastApi, doc: object, account: int = 1) -> None:
    """Apply `{"clear": bool, "rates": {...}, "queue": [...] | {"search": [...], "token":
    [...]}, "endpoint": "search", "token_lifetime": s, "rate_limit_reset_ms": ms,
    "reject_credentials": bool}` to one account."""
    if not isinstance(doc, dict):
        raise ValueError("expected a JSON object")
    if doc.get("clear"):
        api.clear_faults(account)
    rates = doc.get("rates", {})
    if not isinstance(rates, dict) or not all(name in RATE_NAMES for name in rates):
        raise ValueError(f"rates must be an object with keys among {list(RATE_NAMES)}")
    api.set_rates(account=account, **rates)
    queue = doc.get("queue", [])
    queues = queue if isinstance(queue, dict) else {doc.get("endpoint", "search"): queue}
    for endpoint, kinds in queues.items():
        api.queue_faults(kinds, endpoint, account)
    if "token_lifetime" in doc:
        api.set_token_lifetime(int(doc["token_lifetime"]), account)
    if "rate_limit_reset_ms" in doc:
        api.set_rate_limit_reset_ms(int(doc["rate_limit_reset_ms"]), account)
    if "reject_credentials" in doc:
        if not isinstance(doc["reject_credentials"], bool):
            raise ValueError("reject_credentials must be true or false")
        api.reject_credentials(doc["reject_credentials"], account)


def _post_events(api: MimecastApi, account: int, body: bytes, _params: object) -> Reply:
    try:
        records = _json(body)
    except ValueError as error:
        return json_reply(400, {"error": str(error)})
    if not isinstance(records, list):
        return json_reply(400, {"error": "expected a JSON list of records"})
    return json_reply(200, {"added": api.add_events(records, account=account)})


def _get_truth(api: MimecastApi, account: int, _body: bytes, params: dict) -> Reply:
    default_start, default_end = default_window(api.now())
    try:
        start = _query_time(params, "start", default_start)
        end = _query_time(params, "end", default_end)
    except ValueError as error:
        return json_reply(400, {"error": str(error)})
    valid, malformed = api.truth(start, end, account)
    window = {"start": format_api_time(start), "end": format_api_time(end)}
    return json_reply(200, {**window, "valid": valid, "malformed": malformed})


def _query_time(params: dict[str, list[str]], name: str, default: int) -> int:
    if name not in params:
        return default
    # An unencoded "+0000" in a query string arrives as " 0000"; take it as meant.
    return to_epoch(params[name][0].replace(" ", "+"))


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"body is not JSON: {error}") from None
