"""The installation's signing key: an Ed25519 key in a PEM file named by SIGNING_KEY_FILE,
made by `python -m ingest keys init`, used to sign export manifests (`db.manifests`).

A key that is named but cannot be read or parsed refuses exports (fail closed) with one
line that names the file and never its content. The public key is shown (status page,
`keys show`) so anyone can check a manifest offline.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SETTING = "SIGNING_KEY_FILE"


class KeyProblem(Exception):
    """The signing key cannot be used: one line saying why and what to do."""


def load_private_key(path: str) -> Ed25519PrivateKey:
    """The key in `path`, or KeyProblem (exports are then refused)."""
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise KeyProblem(
            f"{SETTING} {path}: cannot be read ({exc.strerror or type(exc).__name__}); exports "
            "are refused until it can (`python -m ingest keys init` makes a new key)"
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyProblem(
            f"{SETTING} {path}: not an unencrypted PEM private key; exports are refused until "
            "it is one (`python -m ingest keys init` makes one)"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyProblem(f"{SETTING} {path}: not an Ed25519 key; exports are refused")
    return key


def load_public_key(path: str) -> Ed25519PublicKey:
    """A verifier's copy of the public key (PEM), or KeyProblem."""
    try:
        key = serialization.load_pem_public_key(Path(path).expanduser().read_bytes())
    except OSError as exc:
        raise KeyProblem(f"public key {path}: cannot be read ({exc.strerror})") from None
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyProblem(f"public key {path}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyProblem(f"public key {path}: not an Ed25519 key")
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key: which key signed."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def init_key(path: str) -> tuple[Ed25519PrivateKey, bool]:
    """The key in `path`, made first if there is none (readable by its owner only);
    whether it was made. An existing file is never overwritten."""
    target = Path(path).expanduser()
    if target.exists():
        return load_private_key(path), False
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise KeyProblem(f"{SETTING} {path}: cannot be created ({exc.strerror})") from None
    with os.fdopen(handle, "wb") as out:
        out.write(pem)
    return key, True
