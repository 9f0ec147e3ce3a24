"""What a search was aimed at, read once from its search text: whose mailbox
(`[User : x@y]`), which filters (`[Route : inbound]`), which message (`<id@host>`), which
addresses were typed as free text. Stored beside the search (`search_targets`), so "who
searched this mailbox" is an index lookup, not a LIKE over every search's text.

The search text is attacker-controlled and unbounded: every pattern here is linear in the
text (character classes that exclude their own delimiters; addresses are whole tokens, never
a backtracking search), each value is capped at MAX_VALUE characters and made storable
(no NUL, no lone surrogate), and a search yields at most MAX_TARGETS targets. A text that
matches nothing yields nothing; nothing here raises. docs/targets.md lists the forms.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ingest.records import storable_text

MAILBOX = "mailbox"
FILTER = "filter"
MESSAGE = "message"
MENTIONED = "mentioned"
KINDS = (MAILBOX, FILTER, MESSAGE, MENTIONED)

MAX_VALUE = 320
"""The longest value kept (an address is at most 254): a longer one is not a target, and
the bound keeps the lookup index's keys small on PostgreSQL."""
MAX_FIELD = 32
MAX_TARGETS = 100
"""The most targets kept from one search (a hostile text could name thousands)."""


class Target(NamedTuple):
    """One thing a search aimed at: `field` names a filter's field (`route`), else ""."""

    kind: str
    field: str
    value: str


# `[Field : value]`: Mimecast writes a space each side of the colon; the field is a short
# name, the value anything up to the closing bracket (neither part holds a bracket).
_BRACKETED = re.compile(r"\[([^\[\]:]{1,40}):([^\[\]]*)\]")
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9 _-]*")
# `<local@host>`: a message id as a message-tracking search writes it.
_ANGLED = re.compile(r"<([^<>\s]+)>")
# Free text splits into tokens at blanks and at characters that never occur in an address.
_TOKEN_BREAK = re.compile(r"[\s<>\[\](),;\"]+")
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]{1,64}@[\w-]+(?:\.[\w-]+)+")
# Mimecast's own message ids have no angle brackets: `67311002-1617920404793@host`.
_BARE_MESSAGE_ID = re.compile(r"\d+-\d+@[\w.-]+")


def is_address(value: str) -> bool:
    """Whether `value` is one e-mail address (and short enough to be one)."""
    return len(value) <= 254 and _ADDRESS.fullmatch(value) is not None


def parse_targets(search_text: str | None) -> list[Target]:
    """The targets of one search text, in order of first appearance, each once."""
    if not search_text:
        return []
    found: dict[Target, None] = {}
    rest = _BRACKETED.sub(lambda match: _bracketed(match, found), search_text)
    rest = _ANGLED.sub(lambda match: _angled(match, found), rest)
    for token in _TOKEN_BREAK.split(rest):
        _free_token(token.strip(".:'"), found)
        if len(found) >= MAX_TARGETS:
            break
    return list(found)[:MAX_TARGETS]


def _add(found: dict[Target, None], kind: str, field: str, value: str) -> None:
    value = storable_text(value.strip())
    if value and len(value) <= MAX_VALUE and len(found) < MAX_TARGETS:
        found.setdefault(Target(kind, field, value))


def _bracketed(match: re.Match[str], found: dict[Target, None]) -> str:
    field, value = match.group(1).strip(), match.group(2).strip()
    if _FIELD_NAME.fullmatch(field) is None or len(field) > MAX_FIELD:
        return match.group()  # not a filter: left for the free-text reading
    name = field.lower()
    if name == "user" and is_address(value):
        _add(found, MAILBOX, "", value.lower())
    else:
        _add(found, FILTER, name, value)
    return " "


def _angled(match: re.Match[str], found: dict[Target, None]) -> str:
    value = match.group(1)
    if "@" not in value:
        return match.group()
    _add(found, MESSAGE, "", value)
    return " "


def _free_token(token: str, found: dict[Target, None]) -> None:
    if "@" not in token or len(token) > MAX_VALUE:
        return
    if _BARE_MESSAGE_ID.fullmatch(token):
        _add(found, MESSAGE, "", token)
    elif is_address(token):
        _add(found, MENTIONED, "", token.lower())
