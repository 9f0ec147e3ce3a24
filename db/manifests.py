"""Export manifests: what an audited CSV download was (its SHA-256, size, rows, filters,
who exported it, when, the tenant, the audit row), signed with the installation's key so
a copy can be checked offline with `python -m ingest verify-export` (docs/evidence.md).

The signature is Ed25519 over the manifest's canonical JSON without its `signature`
field: keys sorted, no spaces, UTF-8.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from config.signing import key_id

FORMAT = "mimecast-searchlogs export manifest v1"


class ManifestMismatch(Exception):
    """A file and its manifest do not agree, or the manifest is not one: one line."""


@dataclass(frozen=True)
class Export:
    """One audited export, as its audit row records it."""

    content: bytes
    rows: int
    file_name: str
    action: str
    filters: Mapping[str, Any] | None
    target: str | None
    actor: str
    role: str | None
    tenant: str | None
    audit_id: int
    exported_at: datetime


def canonical(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def build(key: Ed25519PrivateKey, export: Export) -> bytes:
    """The signed manifest of `export`, as the JSON file offered beside it."""
    fields: dict[str, Any] = {
        "format": FORMAT,
        "file": export.file_name,
        "sha256": hashlib.sha256(export.content).hexdigest(),
        "bytes": len(export.content),
        "rows": export.rows,
        "action": export.action,
        "filters": dict(export.filters) if export.filters is not None else None,
        "target": export.target,
        "exported_by": export.actor,
        "role": export.role,
        "tenant": export.tenant,
        "audit_id": export.audit_id,
        "exported_at": export.exported_at.astimezone(UTC).isoformat(),
        "key_id": key_id(key),
    }
    fields["signature"] = base64.b64encode(key.sign(canonical(fields))).decode("ascii")
    return (json.dumps(fields, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def _unwrapped(manifest: bytes) -> bytes:
    """The manifest's JSON, also from the base64 an API answer's `Export-Manifest` header
    carries (saved as it came, with or without the header's name and line end)."""
    text = manifest.strip()
    if text.startswith(b"{"):
        return text
    _, _, value = text.rpartition(b":")  # "Export-Manifest: <base64>" or the value alone
    return base64.b64decode(value.strip(), validate=True)


def check(content: bytes, manifest: bytes, public: Ed25519PublicKey) -> dict[str, Any]:
    """The manifest's fields if it is signed by `public` and describes `content`; else
    ManifestMismatch saying what differs."""
    try:
        fields = json.loads(_unwrapped(manifest))
        signature = base64.b64decode(fields.pop("signature"), validate=True)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ManifestMismatch("the manifest is not a signed export manifest") from None
    if fields.get("format") != FORMAT:
        raise ManifestMismatch("the manifest is not a signed export manifest")
    try:
        public.verify(signature, canonical(fields))
    except InvalidSignature:
        raise ManifestMismatch(
            "the manifest's signature does not verify with this public key: the manifest "
            "was changed, or another key signed it"
        ) from None
    digest = hashlib.sha256(content).hexdigest()
    if digest != fields.get("sha256") or len(content) != fields.get("bytes"):
        raise ManifestMismatch(
            f"the file's SHA-256 is {digest}, the manifest's {fields.get('sha256')}: the file "
            "is not the one exported"
        )
    return fields
