"""Every tenant polled at once, each on a thread of its own, each failure its own.

Why a thread per tenant rather than a smaller pool: a poll mostly waits for the network,
and a pool smaller than the tenants would let a hanging account (a held connection waits
out the read timeout on each of the client's attempts) keep a slot that the next tenant
needs, delaying it by far more than a request timeout. A thread costs little next to that
(two per tenant with the page prefetch, for a few dozen tenants). The database writes take
turns (`db.locks.write_gate`), and none waits for the network while it holds the turn.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from config.log_format import log_context
from config.settings import ConfigError
from db.engine import DatabaseSetupError, environment_problem, redact_text
from db.locks import AlreadyRunning
from db.state import BACKFILL, DELTA, RECONCILE
from ingest.client import CredentialsRejected, HostUnreachable, MimecastClient
from ingest.commands.common import EXIT_CONFIG, EXIT_FAILED, EXIT_RUNNING, failure_text
from ingest.page_writer import PageCounts
from ingest.poller import CycleFailed, NothingToReconcile, Poller, one_line

JOIN_STEP_SECONDS = 0.5
"""How often the main thread wakes while it waits for the tenants: a signal is handled
between waits (SIGTERM sets the stop event the pollers read)."""


@dataclass
class TenantJob:
    """One tenant's poll: its own client (token, retries, backoff) and poller (cursor)."""

    name: str
    label: str  # how messages name it: "" (an installation without tenants) or "tenant 'x': "
    client: MimecastClient
    poller: Poller

    @property
    def engine(self) -> Engine:
        return self.poller.store.engine


@dataclass(frozen=True)
class TenantFailure:
    """Why one tenant's poll failed, in one line that names it, and the exit status."""

    tenant: str
    message: str
    status: int


def failure_of(job: TenantJob, exc: BaseException) -> TenantFailure:
    """The one line, naming the tenant, and exit status of its failure (see `ingest.cli`)."""
    status, text = classify(job, exc)
    return TenantFailure(job.name, f"{job.label}{text}", status)


def classify(job: TenantJob, exc: BaseException) -> tuple[int, str]:
    """A failure's exit status and one line, as the CLI said them before tenants."""
    status, text = EXIT_FAILED, redact_text(one_line(exc), job.engine.url)
    if isinstance(exc, CredentialsRejected | HostUnreachable | ConfigError | DatabaseSetupError):
        status, text = EXIT_CONFIG, str(exc)
    elif isinstance(exc, AlreadyRunning):
        status, text = EXIT_RUNNING, str(exc)
    elif isinstance(exc, NothingToReconcile):
        text = str(exc)
    elif isinstance(exc, CycleFailed | SQLAlchemyError):
        cause = exc.__cause__ if isinstance(exc, CycleFailed) else exc
        problem = (
            environment_problem(job.engine, cause) if isinstance(cause, SQLAlchemyError) else None
        )
        if problem:
            status, text = EXIT_CONFIG, problem
        elif isinstance(exc, CycleFailed):
            text = (
                f"the ingest failed: {failure_text(job.engine, exc)} "
                "(the cursor was not moved past it)"
            )
        else:
            text = f"database error: {text}"
    return status, text


def check_credentials(job: TenantJob, *, sweep: bool = False) -> None:
    """Fetch the tenant's token now: bad credentials or an unreachable host fail fast, in
    one line. The refusal is recorded as a failed run (of the poll or sweep it stopped), so
    `status` says which tenant cannot poll and why, as it does for a poll that failed."""
    try:
        job.client.check_credentials()
    except Exception as exc:
        store, now = job.poller.store, job.poller.clock()
        cursor = store.cursor()
        kind = RECONCILE if sweep else DELTA if store.backfill_done() else BACKFILL
        run_id = store.start_run(kind, cursor or now, now)
        message = classify(job, exc)[1]
        store.finish_run(run_id, "failed", PageCounts(), job.client.requests_made, message)
        raise


def run_each(jobs: list[TenantJob], action: Callable[[TenantJob], object]) -> list[TenantFailure]:
    """`action` for every tenant at once, a thread each; the failures in the jobs' order.
    Returns when every tenant is done: a hanging one holds this call, never the others."""
    failures: dict[str, TenantFailure] = {}

    def work(job: TenantJob) -> None:
        try:
            with log_context(tenant=job.name):  # its lines carry its name (LOG_FORMAT=json)
                action(job)
        except Exception as exc:  # a tenant's failure is its own: the others go on
            failures[job.name] = failure_of(job, exc)

    threads = [
        threading.Thread(target=work, args=(job,), name=f"tenant-{job.name}", daemon=True)
        for job in jobs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(JOIN_STEP_SECONDS)
    return [failures[job.name] for job in jobs if job.name in failures]


def exit_status(failures: list[TenantFailure]) -> int:
    """The failures' common exit status, or 1 (a cycle failed) when they differ."""
    statuses = {failure.status for failure in failures}
    return statuses.pop() if len(statuses) == 1 else EXIT_FAILED


def failure_lines(failures: list[TenantFailure]) -> str:
    """One line per failed tenant (`ingest.cli.fail` prefixes each with `error: `)."""
    return "\n".join(failure.message for failure in failures)
