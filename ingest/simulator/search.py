"""Reading a search-logs request and writing its page, with the real API's quirks.

The quirks are the point: the window keys are `start`/`end` and anything else (`from`/`to`) is
ignored, silently serving the current UTC day; both bounds are inclusive; `pageSize` above 100
is accepted but 100 are served; `next` is present on every non-empty page, and following it past
the last page gives `"data": []` with `next` set to the literal `"String"`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from ingest.simulator import paging
from ingest.simulator.paging import Cursor
from ingest.simulator.reply import Reply, fail_reply
from ingest.simulator.timefmt import DAY, day_of, format_api_time, parse_api_time

MAX_PAGE_SIZE = 100


class RequestError(Exception):
    """A request the API refuses with 400; carries the reply to send."""

    def __init__(self, code: str, message: str, key: dict | None = None) -> None:
        super().__init__(message)
        self.reply: Reply = fail_reply(400, code, message, key)


@dataclass(frozen=True)
class SearchQuery:
    page_size: int
    cursor: Cursor | None  # None: the exhausted token "String"


def parse_search(body: bytes, now: int) -> SearchQuery:
    doc = _json_object(body)
    pagination = _object(_object(doc, "meta"), "pagination")
    page_size = _page_size(pagination.get("pageSize", MAX_PAGE_SIZE))
    start, end = _window(doc.get("data"), now)
    token = pagination.get("pageToken")
    if token is None or token == "":
        return SearchQuery(page_size, Cursor(0, now, start, end))
    if token == paging.EXHAUSTED:
        return SearchQuery(page_size, None)
    cursor = paging.decode(token) if isinstance(token, str) else None
    if cursor is None:
        raise RequestError("err_validation_page_token", "pageToken is not a valid page token")
    return SearchQuery(page_size, cursor)


def page_doc(
    query: SearchQuery, total: int, records: list, total_count_error: int | None = 0
) -> dict:
    """The response body for one page of `records` out of `total`; `totalCount` is off by
    `total_count_error` (left out when None), as the API does not promise it exact."""
    cursor = query.cursor
    pagination: dict[str, object] = {"pageSize": query.page_size}
    if total_count_error is not None:
        pagination["totalCount"] = max(0, total + total_count_error)
    if cursor is None or (not records and cursor.offset > 0):
        pagination["next"] = paging.EXHAUSTED
        return {"meta": {"status": 200, "pagination": pagination}, "data": [], "fail": []}
    if records:
        pagination["next"] = paging.encode(replace(cursor, offset=cursor.offset + len(records)))
    if cursor.offset > 0:
        previous = max(0, cursor.offset - query.page_size)
        pagination["previous"] = paging.encode(replace(cursor, offset=previous))
    return {
        "meta": {"status": 200, "pagination": pagination},
        "data": [{"logs": records}],
        "fail": [],
    }


def with_muse_query(record: object) -> object:
    """get-search-logs adds `museQuery`, the query the search engine ran."""
    if not isinstance(record, dict):
        return record
    text = record.get("searchText")
    query = f"(text: {json.dumps(text, ensure_ascii=False)})" if text else "*"
    return {**record, "museQuery": query}


def default_window(now: int) -> tuple[int, int]:
    """The current UTC day, [00:00, 24:00), as inclusive bounds."""
    midnight = day_of(now) * DAY
    return midnight, midnight + DAY - 1


def _json_object(body: bytes) -> dict:
    try:
        doc = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError) as error:
        raise RequestError("err_validation_json", f"request body is not JSON: {error}") from None
    if not isinstance(doc, dict):
        raise RequestError("err_validation_json", "request body must be a JSON object")
    return doc


def _object(parent: dict, key: str) -> dict:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RequestError("err_validation_request", f"{key} must be an object")
    return value


def _page_size(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RequestError("err_validation_page_size", "pageSize must be an integer of at least 1")
    return min(value, MAX_PAGE_SIZE)


def _window(data: object, now: int) -> tuple[int, int]:
    """Only `start` and `end` count; a missing bound falls back to the current UTC day."""
    if data is None or data == []:
        return default_window(now)
    if not isinstance(data, list) or not isinstance(data[0], dict):
        raise RequestError("err_validation_request", "data must be a list of objects")
    item = data[0]
    start, end = default_window(now)
    if "start" in item:
        start = _instant(item, "start")
    if "end" in item:
        end = _instant(item, "end")
    if start > end:
        message = f"start {format_api_time(start)} is after end {format_api_time(end)}"
        raise RequestError("err_validation_window", message, key=item)
    return start, end


def _instant(item: dict, name: str) -> int:
    value = parse_api_time(item[name])
    if value is None:
        message = f"{name} must look like 2026-11-01T00:00:00+0000, not {item[name]!r}"
        raise RequestError("err_validation_invalid_date", message, key=item)
    return value
