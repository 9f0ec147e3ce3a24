"""Who runs a CLI admin action, for the audit trail: `cli:<os user>`.

A token made or revoked, or a cursor reset, from a shell is as much an admin action as
one made on the dashboard, so it leaves a row too, in the same transaction as the change.
The name comes from the process's real user id (not `$USER`, which anyone can set).
"""

from __future__ import annotations

import logging
import os
import pwd

from sqlalchemy.exc import SQLAlchemyError

from db import audit

CLI_ROLE = "admin"
"""Anyone who can run the CLI against the database can change anything in it."""
NOTHING_CHANGED = (
    "nothing was changed: the database refused the change or its audit row (run with -v to see why)"
)

log = logging.getLogger("ingest")


def cli_actor() -> str:
    """`cli:<login name>` of the real user id; `cli:uid-<n>` when it has no name."""
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:  # a container user with no passwd entry
        name = f"uid-{uid}"
    return f"cli:{name}"


def cli_entry(
    action: audit.AuditAction, target: str, detail: str, *, tenant: str | None
) -> audit.AuditEntry:
    """The audit entry of the CLI's user doing `action` in `tenant` (None: the whole
    installation, such as a platform token)."""
    return audit.AuditEntry(
        cli_actor(), CLI_ROLE, action, target=target, detail=detail, tenant=tenant
    )


def nothing_changed(exc: SQLAlchemyError) -> str:
    """The one line for an admin action that rolled back; why goes to the debug log,
    without the statement's parameters (a new token's hash is among them)."""
    log.debug("admin action rolled back: %s", audit.failure_reason(exc))
    return NOTHING_CHANGED
