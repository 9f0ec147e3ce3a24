"""What every command shares: exit statuses, the one-line user error, the database and
the API client opened with errors a user can act on, and clean stops on signals."""

from __future__ import annotations

import argparse
import logging
import signal
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from config.settings import Settings, spec
from config.tenants import Tenant, load_tenants
from db.engine import (
    DatabaseSetupError,
    environment_problem,
    has_schema,
    make_engine,
    open_database,
    redact_text,
    redact_url,
    sqlite_path,
    upgrade_schema,
)
from ingest.client import MimecastClient, SettingNames
from ingest.poller import CycleFailed, one_line

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_RUNNING = 0, 1, 2, 3

log = logging.getLogger("ingest")


class UserError(Exception):
    """A problem the user fixes; carries the exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def fmt_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT ask the ingest to finish its page, commit and exit cleanly."""

    def handle(signum: int, _frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.info(
            "%s received: finishing the current page, then exiting", signal.Signals(signum).name
        )
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def database_shown(settings: Settings) -> str:
    """The database a command works on, as a user can find it: the URL redacted, a SQLite
    path made absolute (a relative DB_PATH is relative to the folder the command ran in),
    and the setting that named it."""
    url = settings.effective_database_url
    path = sqlite_path(url)
    if path is not None:
        url = URL.create("sqlite", database=str(path.resolve())).render_as_string()
    if settings.database_url:
        setting = "DATABASE_URL"
    elif settings.db_path == spec("DB_PATH").default:
        setting = "DB_PATH and DATABASE_URL unset: the default"
    else:
        setting = "DB_PATH"
    return f"{redact_url(url)} ({setting})"


def written_to(settings: Settings) -> None:
    """Log, once a command has written, which database it wrote: the wrong DB_PATH (or none)
    is otherwise a silent mistake."""
    log.info("written to %s", database_shown(settings))


def add_tenant_option(parser: argparse.ArgumentParser, every: str = "every tenant") -> None:
    """`--tenant NAME`, the same on every command that acts on tenants."""
    parser.add_argument(
        "--tenant",
        metavar="NAME",
        help=f"only this tenant of TENANTS_FILE (default: {every})",
    )


def selected_tenants(settings: Settings, only: str | None) -> tuple[Tenant, ...]:
    """The tenants a command acts on: every one (file order), or the one `--tenant` names.
    A name no tenant has is a one-line error, exit 2."""
    tenants = load_tenants(settings)
    if only is None:
        return tenants
    chosen = tuple(tenant for tenant in tenants if tenant.name == only)
    if not chosen:
        shown = ascii(only if len(only) <= 64 else only[:63] + "…")
        raise UserError(
            f"--tenant: no tenant is named {shown}; the tenants are "
            + ", ".join(tenant.name for tenant in tenants),
            EXIT_CONFIG,
        )
    return chosen


def one_tenant(settings: Settings, only: str | None, action: str) -> Tenant:
    """The one tenant a command that changes state acts on: `--tenant`'s, or the only one.
    With several and none named, a one-line error, exit 2: `action` on every tenant at once
    is never a default."""
    tenants = selected_tenants(settings, only)
    if len(tenants) > 1:
        raise UserError(
            f"{len(tenants)} tenants are configured: name the one to {action} with --tenant "
            f"NAME ({', '.join(tenant.name for tenant in tenants)})",
            EXIT_CONFIG,
        )
    return tenants[0]


def tenant_label(settings: Settings, tenant: str) -> str:
    """How messages name a tenant: not at all without TENANTS_FILE (the one tenant of an
    installation from before tenants), else `tenant 'acme': `."""
    return f"tenant {tenant!r}: " if settings.tenants_file else ""


def open_engine(settings: Settings) -> Engine:
    try:
        return open_database(settings.effective_database_url)
    except DatabaseSetupError as exc:
        raise UserError(str(exc), EXIT_CONFIG) from None


def open_existing_engine(settings: Settings) -> Engine:
    """The database, which the ingest must have created already: a token or a reset for a
    database nothing reads is a mistake, and opening a missing SQLite file would quietly
    create an empty one."""
    url = settings.effective_database_url
    path = sqlite_path(url)
    refused = UserError(
        f"no database at {database_shown(settings)}: set DB_PATH or DATABASE_URL to the "
        "database the ingest writes and the dashboard reads (the demo's: DB_PATH=data/demo.db)",
        EXIT_CONFIG,
    )
    if path is not None and not _sqlite_has_tables(path):
        raise refused
    engine = make_engine(url, create_folder=False)
    with database_errors(engine):
        if path is None and not has_schema(engine):
            engine.dispose()
            raise refused
    upgrade_schema(engine)
    return engine


def _sqlite_has_tables(path: Path) -> bool:
    """Whether the ingest made this file, read-only: opening it read-write would give an
    empty file a header, and a missing one would be created."""
    if not path.is_file():
        return False
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'search_logs'")
            return found.fetchone() is not None
    except sqlite3.DatabaseError:
        return True  # not a database, or unreadable: the usual open says so in one line


def make_client(settings: Settings, tenant: Tenant) -> MimecastClient:
    """`tenant`'s own client (its token, retries and backoff); its messages name where the
    user fixes it: the MIMECAST_* settings, or the tenant's table in TENANTS_FILE. A missing
    credential is a ConfigError (exit 2)."""
    client_id, client_secret = tenant.require_credentials()
    named = SettingNames()
    if settings.tenants_file:
        table = f"TENANTS_FILE tenant {tenant.name!r}"
        named = SettingNames(f"{table} client_id and client secret", f"{table} base_url")
    return MimecastClient(tenant.base_url, client_id, client_secret, settings_named=named)


def tenant_settings(settings: Settings, tenant: Tenant) -> Settings:
    """The settings a tenant's poller reads, with the tenant's own overrides."""
    return replace(
        settings,
        mimecast_base_url=tenant.base_url,
        initial_backfill_days=tenant.initial_backfill_days,
        lookback_seconds=tenant.lookback_seconds,
        reconcile_days=tenant.reconcile_days,
    )


def failure_text(engine: Engine, exc: BaseException) -> str:
    """One line for a failed cycle; for a database error the machine is at fault for (a
    read-only or full disk, ...), what to do about it."""
    cause = exc.__cause__ if isinstance(exc, CycleFailed) else exc
    problem = environment_problem(engine, cause) if isinstance(cause, SQLAlchemyError) else None
    return problem or redact_text(one_line(exc), engine.url)


@contextmanager
def database_errors(engine: Engine) -> Iterator[None]:
    """Database errors as one line: exit 2 when the machine is at fault (a read-only or full
    disk, a file that is not a database), exit 1 for anything else."""
    try:
        yield
    except CycleFailed as exc:
        cause = exc.__cause__
        if isinstance(cause, SQLAlchemyError) and environment_problem(engine, cause):
            raise UserError(failure_text(engine, exc), EXIT_CONFIG) from None
        raise
    except SQLAlchemyError as exc:
        problem = environment_problem(engine, exc)
        if problem:
            raise UserError(problem, EXIT_CONFIG) from None
        raise UserError(
            f"database error: {redact_text(one_line(exc), engine.url)}", EXIT_FAILED
        ) from None
