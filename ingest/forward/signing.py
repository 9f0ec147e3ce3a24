"""Signatures of the generic `webhook` format: Standard Webhooks (standardwebhooks.com),
so a receiver checks them with a ready-made verifier, and the message id is signed too.

    webhook-id: <the message's forward id, the key receivers deduplicate on>
    webhook-timestamp: <unix seconds>
    webhook-signature: v1,<base64 of HMAC-SHA256(key, "<id>.<timestamp>.<body>")>

The key of a secret written as the specification has it, `whsec_<base64>`, is the bytes
the base64 stands for; any other secret is used as its own UTF-8 bytes (a verifier then
takes `whsec_` + base64 of it). The old `X-Signature` header (HMAC over
`<timestamp>.<body>` with the secret's bytes, unsigned `X-Message-Id`) is still sent, for
one release, so receivers can move over; it is dropped in the next.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SECRET_PREFIX = "whsec_"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


class BadSecret(ValueError):
    """A `whsec_` secret whose rest is not base64 of at least one byte."""


def signing_key(secret: bytes) -> bytes:
    """The HMAC key of a configured secret (see the module's docstring)."""
    if not secret.startswith(SECRET_PREFIX.encode()):
        return secret
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded + b"=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise BadSecret("a whsec_ secret must be followed by base64") from None
    if not key:
        raise BadSecret("a whsec_ secret must be followed by base64 of the key")
    return key


def standard_signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64>`: HMAC-SHA256 with `key` over `<id>.<timestamp>.<body>`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def legacy_signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>`: the old `X-Signature`."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def standard_headers(secret: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one request."""
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: standard_signature(signing_key(secret), msg_id, timestamp, body),
    }
