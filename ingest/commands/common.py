"""What every command shares: exit statuses, the one-line user error, the database and
the API client opened with errors a user can act on, and clean stops on signals."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from config.settings import Settings
from db.engine import DatabaseSetupError, environment_problem, open_database, redact_text
from ingest.client import MimecastClient
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


def open_engine(settings: Settings) -> Engine:
    try:
        return open_database(settings.effective_database_url)
    except DatabaseSetupError as exc:
        raise UserError(str(exc), EXIT_CONFIG) from None


def make_client(settings: Settings) -> MimecastClient:
    client_id, client_secret = settings.require_credentials()
    return MimecastClient(settings.mimecast_base_url, client_id, client_secret)


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
