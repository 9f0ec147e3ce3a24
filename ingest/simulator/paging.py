"""Page tokens that make pagination stable.

A token carries the offset of the next page, the window, and "asof": the instant the first page
was cut. Every later page is computed as of that instant, so records that become visible while
a client pages (new or late ones) do not shift the pages under it; they show up on the next poll.
(With `SimConfig(paging="offset")` the API ignores "asof" and cuts each page as of the moment it
is asked for: plain offset paging, whose pages shift when a late search lands.)
The token is opaque to clients: urlsafe base64 of compact JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

EXHAUSTED = "String"  # the literal `next` the real API returns after the last page


@dataclass(frozen=True)
class Cursor:
    offset: int
    asof: int
    start: int
    end: int


def encode(cursor: Cursor) -> str:
    raw = json.dumps([cursor.offset, cursor.asof, cursor.start, cursor.end], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode(token: str) -> Cursor | None:
    """The cursor in a token, or None when the token was not made by `encode`."""
    try:
        values = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeError):
        return None
    if not (isinstance(values, list) and len(values) == 4):
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return None
    cursor = Cursor(*values)
    return cursor if cursor.offset >= 0 and cursor.start <= cursor.end else None
