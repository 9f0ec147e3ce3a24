"""`run`, `run --once` and `reconcile`: polls and sweeps under the writer and cycle locks,
each followed by the detections and forwarding, with progress and summaries logged."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from config.settings import Settings
from db.engine import truncate_wal
from db.locks import AlreadyRunning, cycle_lock, single_writer
from db.state import RECONCILE, run_kind_name
from ingest.client import CredentialsRejected, HostUnreachable
from ingest.commands.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_RUNNING,
    UserError,
    cli_tenant,
    database_errors,
    database_shown,
    failure_text,
    fmt_time,
    log,
    make_client,
    open_engine,
    plural,
    stop_on_signals,
    written_to,
)
from ingest.commands.detections import detections_after_cycle, load_detections
from ingest.commands.forwarding import forwarder
from ingest.forward.config import load_forward_config
from ingest.poller import (
    ChunkProgress,
    CycleFailed,
    CycleResult,
    NothingToReconcile,
    Poller,
)
from ingest.store import Store


def report_chunk(progress: ChunkProgress) -> None:
    counts = progress.counts
    remaining = progress.total - progress.index
    eta = ""
    if remaining and progress.index:
        eta = f" · about {progress.elapsed_seconds / progress.index * remaining:.0f} s left"
    log.info(
        "%s %d/%d  %s → %s  fetched %d, new %d, duplicates %d, rejected %d%s",
        run_kind_name(progress.kind),
        progress.index,
        progress.total,
        fmt_time(progress.start),
        fmt_time(progress.end),
        counts.fetched,
        counts.inserted,
        counts.duplicates,
        counts.rejected,
        eta,
    )


def summarise(result: CycleResult, seconds: float) -> str:
    c = result.counts
    verdict = "done" if result.status == "ok" else "interrupted, will resume"
    if result.kind == RECONCILE:
        verdict = "done" if result.status == "ok" else "interrupted, will run again"
    return (
        f"{run_kind_name(result.kind)} {verdict}: "
        f"{fmt_time(result.window_start)} → {fmt_time(result.window_end)}; "
        f"{c.fetched} fetched, {c.inserted} new, {c.duplicates} duplicates, "
        f"{c.rejected} rejected, {c.out_of_window} outside the window; "
        f"{result.api_requests} API requests ({plural(result.tokens, 'new token')}) "
        f"in {seconds:.1f} s ({result.write_seconds:.1f} s writing); "
        f"cursor {fmt_time(result.cursor) if result.cursor else 'unchanged'}"
    )


def sweep_findings(result: CycleResult) -> str | None:
    """A warning when a sweep stored searches: they reached the API later than
    LOOKBACK_SECONDS, and only the sweep kept them from being lost."""
    found = result.counts.inserted
    if result.kind != RECONCILE or not found:
        return None
    return (
        f"the reconciliation sweep stored {found} search{'' if found == 1 else 'es'} that "
        "reached the API later "
        "than LOOKBACK_SECONDS; a larger LOOKBACK_SECONDS lets the polls catch such searches"
    )


def run_one_cycle(poller: Poller, after: Callable[[], None] | None = None) -> CycleResult:
    """One poll; `after` (the detections) runs under the same lock once the cycle is ok."""
    started = time.monotonic()
    with cycle_lock(poller.store.engine):
        result = poller.run_cycle()
        log.info(summarise(result, time.monotonic() - started))
        if after is not None and result.status == "ok":
            after()
        truncate_wal(poller.store.engine)  # the next poll is far off: leave no large WAL
    return result


def run_sweep(poller: Poller) -> CycleResult:
    """A reconciliation sweep under the same per-cycle lock as a poll."""
    started = time.monotonic()
    with cycle_lock(poller.store.engine):
        result = poller.run_reconcile()
    log.info(summarise(result, time.monotonic() - started))
    findings = sweep_findings(result)
    if findings:
        log.warning(findings)
    return result


def command_run(settings: Settings, once: bool, *, reconcile: bool = False) -> int:
    """`run`, `run --once` or `reconcile`: credentials checked, writer lock held."""
    forwarding = load_forward_config(settings)  # a bad destination stops us before we start
    detections = None if reconcile else load_detections(settings)  # and a bad rules file
    client = make_client(settings)
    engine = open_engine(settings)
    stop = threading.Event()
    after_cycle = forwarder(engine, forwarding, stop)
    try:
        with database_errors(engine), single_writer(engine), stop_on_signals(stop):
            client.check_credentials()
            poller = Poller(
                settings, Store(engine, cli_tenant()), client, stop=stop, on_chunk=report_chunk
            )
            if reconcile:
                run_sweep(poller)
                written_to(settings)
                return EXIT_OK
            after_poll = detections_after_cycle(engine, settings, detections)
            if once:
                run_one_cycle(poller, after_poll)
                after_cycle()
                written_to(settings)
                return EXIT_OK
            log.info("writing to %s", database_shown(settings))
            return run_forever(poller, settings.poll_seconds, stop, after_cycle, after_poll)
    except AlreadyRunning as exc:
        raise UserError(str(exc), EXIT_RUNNING) from None
    except (CredentialsRejected, HostUnreachable) as exc:
        raise UserError(str(exc), EXIT_CONFIG) from None
    except NothingToReconcile as exc:
        raise UserError(str(exc), EXIT_FAILED) from None
    except CycleFailed as exc:
        raise UserError(
            f"the ingest failed: {exc} (the cursor was not moved past it)", EXIT_FAILED
        ) from None
    finally:
        client.close()
        engine.dispose()


def command_reconcile(settings: Settings) -> int:
    if settings.reconcile_days == 0:
        raise UserError(
            "RECONCILE_DAYS is 0, which turns the reconciliation sweep off; set it to 1–90 "
            "to sweep that many days",
            EXIT_CONFIG,
        )
    return command_run(settings, once=True, reconcile=True)


def run_forever(
    poller: Poller,
    poll_seconds: int,
    stop: threading.Event,
    after_cycle: Callable[[], None] = lambda: None,
    after_poll: Callable[[], None] | None = None,
) -> int:
    """Run a cycle every `poll_seconds`; an overrunning cycle is not run twice. After a poll
    that succeeded, the detections (`after_poll`) and, once a day, a reconciliation sweep;
    after each cycle, forwarding (time-boxed)."""
    log.info("polling every %d s; Ctrl-C or SIGTERM stops after the current page", poll_seconds)
    while not stop.is_set():
        started = time.monotonic()
        polled = run_guarded(poller, lambda poller: run_one_cycle(poller, after_poll))
        if polled and not stop.is_set() and poller.reconcile_due():
            run_guarded(poller, run_sweep)
        if not stop.is_set():
            after_cycle()
        next_due = started + poll_seconds
        stop.wait(max(0.0, next_due - time.monotonic()))
    log.info("stopped")
    return EXIT_OK


def run_guarded(poller: Poller, action: Callable[[Poller], CycleResult]) -> bool:
    """Run a poll or a sweep; a failure is logged and left to the next poll. Whether it ran."""
    what = "sweep" if action is run_sweep else "cycle"
    try:
        action(poller)
    except (CycleFailed, SQLAlchemyError) as exc:
        log.error(
            "%s failed, will retry at the next poll: %s",
            what,
            failure_text(poller.store.engine, exc),
        )
    except AlreadyRunning as exc:  # a cursor reset holds the cycle lock for a moment
        log.warning("%s skipped, will retry at the next poll: %s", what, exc)
    else:
        return True
    return False
