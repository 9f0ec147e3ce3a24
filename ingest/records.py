"""Turning one raw search-log record into a row to store, or a reason to reject it.

Mimecast gives search logs no id, and two genuine searches can be identical in every
field. `EventKeyer` therefore keys a record by its content plus its occurrence number
among identical records in the same window: twins get different keys, while re-reading
the same second in an overlapping window reproduces the same keys.

Any valid JSON must be storable, yet neither database holds a lone surrogate (`"\\ud800"`)
and PostgreSQL holds no NUL in text. So the text columns hold a display-safe form (each
such character replaced by U+FFFD), while `raw_json` keeps the exact value, the lone
surrogates written as `\\uXXXX` escapes: nothing is lost, and the key is made from the
record as received.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from db.storable import storable_text

# 2026-11-12T16:22:16+0000, …Z, …+00:00, optional fraction; other offsets are converted.
_CREATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$"
)

# createTimes the ingest stores: before 1970 the rollups' integer buckets would round the
# wrong way (SQL truncates toward zero), and the last year leaves no room for a display
# time zone's offset. Anything outside is rejected with this reason.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)  # exclusive
_OUT_OF_RANGE = "is outside the years 1970 to 9998 that the ingest stores"

# What no text column may hold (db.storable); JSON text shows a NUL only as an escape.
_MAYBE_UNSTORABLE = re.compile(r"\\u(?:0000|d[89a-f])")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_TEXT_COLUMNS = (
    "source",
    "search_text",
    "search_reason",
    "description",
    "search_path",
    "muse_query",
)

# The fields that identify a search. Fields Mimecast may add later do not change a key.
IDENTITY_FIELDS = (
    "emailAddr",
    "source",
    "searchText",
    "searchReason",
    "description",
    "searchPath",
    "isAdmin",
    "museQuery",
)


class SearchEvent(NamedTuple):
    """A valid record, normalised for storage; `identity` is its content hash. (A named
    tuple: immutable, and three times cheaper to build than a frozen dataclass.)"""

    create_time: datetime
    email_addr: str
    source: str | None
    search_text: str | None
    search_reason: str | None
    description: str | None
    search_path: str | None
    muse_query: str | None
    is_admin: bool | None
    raw_json: str
    identity: str


@dataclass(frozen=True)
class Rejection:
    """A record that cannot be stored, with the reason and what was received."""

    reason: str
    raw_json: str


def parse_create_time(value: object) -> datetime:
    """An aware UTC datetime from Mimecast's `createTime`, within [EARLIEST, LATEST);
    ValueError if it is not one."""
    if not isinstance(value, str):
        raise ValueError(f"createTime is {type(value).__name__}, not a string")
    if len(value) == 24 and value.endswith("+0000") and value[10] == "T":
        try:  # the form Mimecast sends, parsed without the regex
            moment = datetime.fromisoformat(value[:19]).replace(tzinfo=UTC)
        except ValueError:
            pass
        else:
            return _in_range(moment, value)
    match = _CREATE_TIME.match(value.strip())
    if not match:
        raise ValueError(f"createTime {value[:40]!r} is not yyyy-MM-ddTHH:mm:ss+0000")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    offset = "+00:00" if offset == "Z" else offset
    if ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    text = f"{year}-{month}-{day}T{hour}:{minute}:{second}{(fraction or '')[:7]}{offset}"
    try:
        moment = datetime.fromisoformat(text).astimezone(UTC)
    except ValueError as exc:
        raise ValueError(f"createTime {value[:40]!r} is not a valid date: {exc}") from None
    except OverflowError:  # a valid local time whose UTC instant is before year 1 or after 9999
        raise ValueError(f"createTime {value[:40]!r} {_OUT_OF_RANGE}") from None
    return _in_range(moment, value)


def _in_range(moment: datetime, value: str) -> datetime:
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"createTime {value[:40]!r} {_OUT_OF_RANGE}")
    return moment


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def to_raw_json(record: object) -> str:
    """The record as received (key order kept), as JSON text.

    orjson writes an object of strings, integers, booleans and nulls exactly as the standard
    encoder below does, ten times faster. Anything else (a float, which it spells another
    way; nesting; what it refuses, such as a lone surrogate or an integer beyond 64 bits)
    takes the standard way, so the text, and the reject keys made from it, never change.
    A lone surrogate, which no database can store as a character, is written as its JSON
    escape (`\\ud800`): the text still decodes to exactly the record received."""
    if type(record) is dict and all(type(value) in _PLAIN for value in record.values()):
        try:
            return orjson.dumps(record).decode()
        except TypeError:
            pass
    text = _ENCODER.encode(record)
    return _SURROGATE.sub(_escape_surrogate, text) if _SURROGATE.search(text) else text


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=repr)
_PLAIN = frozenset({str, int, bool, type(None)})


def _optional_text(record: dict[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _storable(event: SearchEvent) -> SearchEvent:
    """The event with every text column in its storable form (`storable_text`)."""
    texts: dict[str, Any] = {
        name: storable_text(value)
        for name in _TEXT_COLUMNS
        if (value := getattr(event, name)) is not None
    }
    return event._replace(email_addr=storable_text(event.email_addr), **texts)


def _hash(*parts: str) -> str:
    """sha256 of the parts, each followed by a NUL byte, in one call."""
    text = "\x00".join(parts) + "\x00"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def parse_record(record: object) -> SearchEvent | Rejection:
    """Validate one record; anything that is not a storable search becomes a Rejection."""
    raw_json = to_raw_json(record)
    if not isinstance(record, dict):
        return Rejection(f"record is {type(record).__name__}, not an object", raw_json)
    if "createTime" not in record:
        return Rejection("createTime is missing", raw_json)
    try:
        create_time = parse_create_time(record["createTime"])
    except ValueError as exc:
        return Rejection(str(exc), raw_json)
    email = record.get("emailAddr")
    if not isinstance(email, str):
        what = "missing" if email is None else f"{type(email).__name__}, not a string"
        return Rejection(f"emailAddr is {what}", raw_json)
    is_admin = record.get("isAdmin")
    # The key of every stored row depends on this exact text: changing it would make the
    # next overlapping poll store every re-read event again (tests pin it).
    identity = _hash(create_time.isoformat(), repr(tuple(map(record.get, IDENTITY_FIELDS))))
    event = SearchEvent(
        create_time=create_time,
        email_addr=email.strip().lower(),
        source=_optional_text(record, "source"),
        search_text=_optional_text(record, "searchText"),
        search_reason=_optional_text(record, "searchReason"),
        description=_optional_text(record, "description"),
        search_path=_optional_text(record, "searchPath"),
        muse_query=_optional_text(record, "museQuery"),
        is_admin=is_admin if isinstance(is_admin, bool) else None,
        raw_json=raw_json,
        identity=identity,
    )
    # one search of the JSON text instead of one per field: a NUL or a lone surrogate in
    # any string shows there as its escape (so does a literal "\\u0000": a false alarm)
    return _storable(event) if "\\u" in raw_json and _MAYBE_UNSTORABLE.search(raw_json) else event


class EventKeyer:
    """Numbers identical records within one window, so twins keep distinct keys."""

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def event_key(self, event: SearchEvent) -> str:
        identity = event.identity
        occurrence = self._seen[identity]
        self._seen[identity] = occurrence + 1
        return _hash("event", identity, str(occurrence))

    def reject_key(self, rejection: Rejection, anchor: str) -> str:
        """Key a rejected record by its content and `anchor`, the createTime of the next
        older valid record (served after it, or stored before the window when it ends the
        window; see `poller.sort_page`): a record with no usable time then keeps one key
        across overlapping windows, yet identical malformed records at different places in
        the stream stay distinct."""
        identity = _hash("rejected", rejection.raw_json, anchor)
        occurrence = self._seen[identity]
        self._seen[identity] += 1
        return _hash(identity, str(occurrence))
