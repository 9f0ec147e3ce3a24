"""Keyset cursors: an opaque, URL-safe string for `db.raw_reads.Keyset` (searches) and
`db.alerts.AlertKeyset` (alerts).

A cursor names the tenant it was made in, the last row of a page and the snapshot
(highest row id of that tenant) of the listing, so following pages neither repeat nor skip
rows while the ingest writes. It holds no secret and grants nothing: a forged cursor only
moves where a page starts, inside the caller's scope, and a cursor made in another tenant
is refused like any bad cursor (a listing never walks from one tenant into another).

On ClickHouse (no row ids) a searches cursor names the listing's snapshot time
(`ingested_at`) and the last row's (time, tenant, content key): `db.clickhouse.listing_reads.
ClickHouseKeyset`, tagged "ch" so that a cursor of one backend is refused by the other.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime
from typing import Any
from urllib.parse import quote_from_bytes, urlencode

from api.problems import ApiProblem
from api.spec import FIRST_DAY, LAST_DAY
from db.alerts import AlertKeyset
from db.clickhouse.listing_reads import ClickHouseKeyset
from db.raw_reads import Keyset
from db.scope import TenantScope, is_tenant_name

BAD_CURSOR = "bad cursor: pass the next_cursor of the previous page unchanged, or no cursor"

MAX_PAGE = 1000
"""The most rows a listing page holds (`limit`)."""


_BIGINT = 2**63
"""Row ids and ranks a database column can hold: a 30-digit number overflowed (500)."""


def _whole(value: Any) -> bool:
    """A JSON integer the database can compare with (`true` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and -_BIGINT <= value < _BIGINT


def _day_in_range(day: date | None) -> bool:
    return day is None or FIRST_DAY <= day <= LAST_DAY


def _pack(payload: list[Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def encode_cursor(keyset: Keyset | ClickHouseKeyset, scope: TenantScope) -> str:
    moment = keyset.time.isoformat() if keyset.time else None
    if isinstance(keyset, ClickHouseKeyset):
        snapshot = keyset.snapshot.isoformat()
        return _pack(["ch", scope.label(), snapshot, moment, keyset.tenant, keyset.key])
    return _pack([scope.label(), keyset.snapshot_id, moment, keyset.row_id])


def _unpack(cursor: str) -> Any:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return json.loads(raw)


def _aware_in_range(moment: Any) -> datetime:
    """An ISO time with a zone inside the API's days; ValueError for anything else."""
    if not isinstance(moment, str):
        raise ValueError("not a time")
    time = datetime.fromisoformat(moment)
    if time.tzinfo is None or not _day_in_range(time.date()):
        raise ValueError("not an aware time in range")
    return time


def _content_key(value: Any) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def decode_clickhouse_cursor(cursor: str, scope: TenantScope) -> ClickHouseKeyset:
    """The ClickHouse keyset a cursor made in `scope` names; a 400 problem for anything else
    (a SQL cursor, another scope, a row of a tenant outside the scope, a changed field)."""
    try:
        kind, made_in, snapshot, moment, tenant, key = _unpack(cursor)
        taken = _aware_in_range(snapshot)
        time = _aware_in_range(moment) if moment is not None else None
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise ApiProblem(400, BAD_CURSOR) from None
    if kind != "ch" or made_in != scope.label():
        raise ApiProblem(400, BAD_CURSOR)
    if time is None:
        if tenant is not None or key is not None:
            raise ApiProblem(400, BAD_CURSOR)
    elif not (is_tenant_name(tenant) and scope.name in (None, tenant) and _content_key(key)):
        raise ApiProblem(400, BAD_CURSOR)
    return ClickHouseKeyset(taken, time, tenant, key)


def decode_listing_cursor(
    cursor: str, scope: TenantScope, *, clickhouse: bool
) -> Keyset | ClickHouseKeyset:
    """A searches cursor of the backend the call reads (`clickhouse`); a 400 otherwise."""
    return decode_clickhouse_cursor(cursor, scope) if clickhouse else decode_cursor(cursor, scope)


def decode_cursor(cursor: str, scope: TenantScope) -> Keyset:
    """The keyset a cursor made in `scope` names; a 400 problem for anything else."""
    try:
        made_in, snapshot, moment, row_id = _unpack(cursor)
        time = datetime.fromisoformat(moment) if moment is not None else None
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise ApiProblem(400, BAD_CURSOR) from None
    if (
        made_in != scope.label()
        or not _whole(snapshot)
        or not (row_id is None or _whole(row_id))
        or (time is not None and (time.tzinfo is None or not _day_in_range(time.date())))
        or (time is None) != (row_id is None)
    ):
        raise ApiProblem(400, BAD_CURSOR)
    return Keyset(snapshot, time, row_id)


def encode_alert_cursor(keyset: AlertKeyset, scope: TenantScope) -> str:
    day = keyset.day.isoformat() if keyset.day else None
    return _pack(["alerts", scope.label(), keyset.snapshot_id, day, keyset.rank, keyset.row_id])


def decode_alert_cursor(cursor: str, scope: TenantScope) -> AlertKeyset:
    """The alerts keyset a cursor made in `scope` names; a 400 problem for anything else
    (a searches cursor included)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, made_in, snapshot, day, rank, row_id = json.loads(raw)
        first = date.fromisoformat(day) if day is not None else None
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise ApiProblem(400, BAD_CURSOR) from None
    if kind != "alerts" or made_in != scope.label():
        raise ApiProblem(400, BAD_CURSOR)
    if not all(_whole(v) for v in (snapshot, rank, row_id)):
        raise ApiProblem(400, BAD_CURSOR)
    if first is None or not _day_in_range(first):
        raise ApiProblem(400, BAD_CURSOR)
    return AlertKeyset(snapshot, first, rank, row_id)


_PATH_SAFE = "/%@:+!$&'()*,;=-._~"
"""What a path keeps unescaped in a `Link` target: its own escapes (`%`), never `<>"` or
a space, which would end the target or the header."""


def next_link(raw_path: bytes, query: list[tuple[str, str]], cursor: str) -> str:
    """`Link: <…>; rel="next"` for the page after this one: the path as the caller sent it
    (so a reverse proxy's prefix stays in it) and its parameters with `cursor` replaced,
    relative to the server (RFC 8288 resolves it against the request's URL)."""
    kept = [(name, value) for name, value in query if name != "cursor"]
    target = (
        quote_from_bytes(raw_path, safe=_PATH_SAFE) + "?" + urlencode([*kept, ("cursor", cursor)])
    )
    return f'<{target}>; rel="next"'
