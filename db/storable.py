"""What a text column may hold, shared by the ingest (which stores records) and the search
target parser (which stores parts of them): no NUL (PostgreSQL refuses it) and no lone
surrogate (neither database's driver can encode one)."""

from __future__ import annotations

import re

UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable_text(value: str) -> str:
    """`value` with each NUL and lone surrogate replaced by U+FFFD: what a text column
    holds (the record's `raw_json` keeps the exact value)."""
    return UNSTORABLE.sub(REPLACEMENT, value)
