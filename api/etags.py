"""Entity tags for the machine API's answers: `ETag` on every GET answer and 304 for an
`If-None-Match` that names it, so a script that polls an endpoint fetches a body only when
its data changed.

The tag is a digest of the answer itself (with its tenant and format), not of the data
version: `db.state.data_version` moves with every ingest, even one that changes no figure
of this answer, and does not move when an alert is triaged or when a day passes and a
default range (`to` = today) moves with it. A digest changes exactly when the bytes do;
the work it does not save, the answer cache (`api.answer_cache`, keyed on the data
version) saves for the aggregates.
"""

from __future__ import annotations

import hashlib


def entity_tag(body: bytes, tenant: str, media: str) -> str:
    """A strong validator: the same tag for the same bytes of the same tenant and format."""
    digest = hashlib.sha256()
    for part in (tenant.encode(), media.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return f'"{digest.hexdigest()[:40]}"'


def none_match(header: str | None, tag: str) -> bool:
    """Whether `If-None-Match: header` names `tag` (weak comparison, RFC 9110 §13.1.2)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    given = {part.strip().removeprefix("W/") for part in header.split(",")}
    return tag.removeprefix("W/") in given
