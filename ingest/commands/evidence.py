"""`keys init` / `keys show` (the installation's signing key) and `verify-export` (a CSV
checked offline against its signed manifest): see docs/evidence.md."""

from __future__ import annotations

import argparse
from pathlib import Path

from config.settings import Settings
from config.signing import (
    SETTING,
    KeyProblem,
    init_key,
    key_id,
    load_private_key,
    load_public_key,
    public_pem,
)
from db.manifests import ManifestMismatch, check
from ingest.commands.common import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, UserError


def add_evidence_parsers(commands: argparse._SubParsersAction) -> None:
    keys = commands.add_parser("keys", help=f"the export-signing key ({SETTING})")
    keys.add_argument("action", choices=("init", "show"), help="init: make it if absent")
    check_export = commands.add_parser(
        "verify-export", help="check a CSV against its signed manifest, offline"
    )
    check_export.add_argument("csv", metavar="CSV")
    check_export.add_argument("manifest", metavar="MANIFEST")
    check_export.add_argument("--public-key", metavar="PUB", required=True)


def command_keys(settings: Settings, action: str) -> int:
    """Print the public key (PEM) and its id; `init` makes the key first if absent."""
    path = settings.signing_key_file
    if not path:
        raise UserError(
            f"{SETTING} is not set: name the file that holds (or will hold) the "
            "installation's export-signing key",
            EXIT_CONFIG,
        )
    try:
        key, made = init_key(path) if action == "init" else (load_private_key(path), False)
    except KeyProblem as exc:
        raise UserError(str(exc), EXIT_CONFIG) from None
    state = "made" if made else "exists"
    print(f"# {SETTING} {path} ({state}); key id {key_id(key)}; the public key:")
    print(public_pem(key), end="")
    return EXIT_OK


def command_verify_export(csv: str, manifest: str, public_key: str) -> int:
    try:
        public = load_public_key(public_key)
        content, signed = Path(csv).read_bytes(), Path(manifest).read_bytes()
    except KeyProblem as exc:
        raise UserError(str(exc), EXIT_CONFIG) from None
    except OSError as exc:
        raise UserError(f"{exc.filename}: cannot be read ({exc.strerror})", EXIT_CONFIG) from None
    try:
        fields = check(content, signed, public)
    except ManifestMismatch as exc:
        raise UserError(f"{csv}: {exc}", EXIT_FAILED) from None
    print(
        f"ok: {csv} is the file exported by {fields['exported_by']} at "
        f"{fields['exported_at']} ({fields['rows']} rows, tenant {fields['tenant'] or '—'}, "
        f"audit row {fields['audit_id']})"
    )
    return EXIT_OK
