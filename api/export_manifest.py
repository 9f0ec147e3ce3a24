"""The signed manifest of a CSV answer: the same manifest as a page's CSV download
(`db.manifests`, docs/evidence.md), of the call's own audit row, carried in the
`Export-Manifest` response header as base64 of the manifest file, so that
`python -m ingest verify-export` checks a CSV the API gave, offline.

Fail closed as the pages do: with SIGNING_KEY_FILE set but unusable, a CSV answer is
refused (503) before it is made, recorded or served; the reason (which names the file) goes to
the log, not to the caller.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import replace
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.calls import Answer
from api.problems import ApiProblem
from api.spec import CSV
from config.signing import KeyProblem, load_private_key
from db import manifests
from db.audit import AuditEntry

HEADER = "Export-Manifest"
log = logging.getLogger("api")
UNSIGNED = (
    "the installation's signing key cannot be used, so CSV answers are refused until an "
    "admin fixes SIGNING_KEY_FILE; JSON answers are served"
)


def signs(answer: Answer) -> bool:
    """Whether `answer` carries a manifest: a CSV with a body (not a 304, not a refusal)."""
    return answer.media == CSV and answer.status == 200


def signing_key(key_file: str) -> Ed25519PrivateKey | None:
    """The installation's key, None when SIGNING_KEY_FILE is unset; a 503 when unusable."""
    if not key_file:
        return None
    try:
        return load_private_key(key_file)
    except KeyProblem as exc:
        log.warning("a CSV answer was refused: %s", exc)
        raise ApiProblem(503, UNSIGNED) from None


def with_manifest(
    answer: Answer,
    key: Ed25519PrivateKey,
    entry: AuditEntry,
    audit_id: int,
    at: datetime,
    asked: str,
) -> Answer:
    """`answer` with its signed manifest in the `HEADER` header; `asked` (the path and
    query) is the manifest's `file`."""
    manifest = manifests.build(
        key,
        manifests.Export(
            content=answer.body,
            rows=answer.rows or 0,
            file_name=asked,
            action=str(entry.action),
            filters=entry.filters,
            target=entry.target,
            actor=entry.actor,
            role=entry.role,
            tenant=entry.tenant,
            audit_id=audit_id,
            exported_at=at,
        ),
    )
    headers = {**answer.headers, HEADER: base64.b64encode(manifest).decode("ascii")}
    return replace(answer, headers=headers)
