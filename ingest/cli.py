"""`python -m ingest`: run the ingest once or on a schedule, sweep for late searches, show
its status, reset it.

Exit status: 0 success; 1 a cycle failed (API, network, database); 2 a configuration or
environment problem (the message names the setting, or says what is wrong with the disk or
the database file); 3 another ingest is already running.
Errors a user can meet are one line on stderr; tracebacks only with --verbose.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from config.settings import ConfigError, Settings, load_settings, spec
from db.engine import (
    DatabaseSetupError,
    environment_problem,
    make_engine,
    open_database,
    redact_text,
    truncate_wal,
)
from db.locks import AlreadyRunning, cycle_lock, single_writer
from db.readiness import check_readiness
from ingest.client import CredentialsRejected, HostUnreachable, MimecastClient
from ingest.detect.config import DetectionConfig, DetectionConfigError, load_config
from ingest.detect.runner import detect
from ingest.forward.config import ForwardConfig, load_forward_config, parse_since
from ingest.forward.runner import forward_after_cycle, forward_pending
from ingest.poller import (
    ChunkProgress,
    CycleFailed,
    CycleResult,
    NothingToReconcile,
    Poller,
    one_line,
)
from ingest.status import collect_status
from ingest.store import Store
from ingest.token_commands import add_token_parser, command_token

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_RUNNING = 0, 1, 2, 3
FORWARD_MAX_SECONDS = 600.0

log = logging.getLogger("ingest")


class UserError(Exception):
    """A problem the user fixes; carries the exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Copy Mimecast archive search logs into a local database.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="poll on a schedule (every POLL_SECONDS)")
    run.add_argument("--once", action="store_true", help="run one cycle and exit")
    commands.add_parser(
        "reconcile",
        help="re-read the last RECONCILE_DAYS days now and store any search that is missing",
    )
    status = commands.add_parser("status", help="cursor, recent runs, totals, rejects")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--check",
        action="store_true",
        help="exit 1 unless the database answers, is at the newest schema and the last "
        "successful poll is younger than 2 × POLL_SECONDS (what /readyz answers)",
    )
    reset = commands.add_parser("reset-cursor", help="forget the cursor: backfill again")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    commands.add_parser(
        "detect", help="score every complete day not yet scored for abnormal searching (alerts)"
    )
    forward = commands.add_parser(
        "forward", help="deliver pending searches to the forwarding destinations, then exit"
    )
    forward.add_argument(
        "--since",
        metavar="DATE",
        help="a destination forwarding for the first time skips searches older than DATE",
    )
    forward.add_argument("--destination", metavar="NAME", help="only this destination")
    forward.add_argument(
        "--max-seconds",
        type=float,
        default=FORWARD_MAX_SECONDS,
        help=f"give up retrying after this long (default {FORWARD_MAX_SECONDS:g})",
    )
    add_token_parser(commands)
    return parser


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("urllib3", "alembic", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _fmt_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


KIND_NAMES = {"bootstrap": "backfill", "delta": "delta", "reconcile": "reconcile"}


def report_chunk(progress: ChunkProgress) -> None:
    counts = progress.counts
    remaining = progress.total - progress.index
    eta = ""
    if remaining and progress.index:
        eta = f" · about {progress.elapsed_seconds / progress.index * remaining:.0f} s left"
    log.info(
        "%s %d/%d  %s → %s  fetched %d, new %d, duplicates %d, rejected %d%s",
        KIND_NAMES.get(progress.kind, progress.kind),
        progress.index,
        progress.total,
        _fmt_time(progress.start),
        _fmt_time(progress.end),
        counts.fetched,
        counts.inserted,
        counts.duplicates,
        counts.rejected,
        eta,
    )


def summarise(result: CycleResult, seconds: float) -> str:
    c = result.counts
    verdict = "done" if result.status == "ok" else "interrupted, will resume"
    if result.kind == "reconcile":
        verdict = "done" if result.status == "ok" else "interrupted, will run again"
    return (
        f"{KIND_NAMES.get(result.kind, result.kind)} {verdict}: "
        f"{_fmt_time(result.window_start)} → {_fmt_time(result.window_end)}; "
        f"{c.fetched} fetched, {c.inserted} new, {c.duplicates} duplicates, "
        f"{c.rejected} rejected, {c.out_of_window} outside the window; "
        f"{result.api_requests} API requests ({plural(result.tokens, 'new token')}) "
        f"in {seconds:.1f} s ({result.write_seconds:.1f} s writing); "
        f"cursor {_fmt_time(result.cursor) if result.cursor else 'unchanged'}"
    )


def sweep_findings(result: CycleResult) -> str | None:
    """A warning when a sweep stored searches: they reached the API later than
    LOOKBACK_SECONDS, and only the sweep kept them from being lost."""
    found = result.counts.inserted
    if result.kind != "reconcile" or not found:
        return None
    return (
        f"the reconciliation sweep stored {found} search{'' if found == 1 else 'es'} that "
        "reached the API later "
        "than LOOKBACK_SECONDS; a larger LOOKBACK_SECONDS lets the polls catch such searches"
    )


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
            poller = Poller(settings, Store(engine), client, stop=stop, on_chunk=report_chunk)
            if reconcile:
                run_sweep(poller)
                return EXIT_OK
            after_poll = detections_after_cycle(engine, settings, detections)
            if once:
                run_one_cycle(poller, after_poll)
                after_cycle()
                return EXIT_OK
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


def load_detections(settings: Settings) -> DetectionConfig:
    """The rules file; a missing or broken one is a configuration error (exit 2)."""
    required = settings.detections_file != spec("DETECTIONS_FILE").default
    try:
        return load_config(Path(settings.detections_file).expanduser(), required=required)
    except DetectionConfigError as exc:
        raise UserError(str(exc), EXIT_CONFIG) from None


def detections_after_cycle(
    engine: Engine, settings: Settings, config: DetectionConfig
) -> Callable[[], None]:
    """Detections after a successful poll: a failure is logged, never fails the ingest."""

    def run() -> None:
        try:
            log.info(detect(engine, settings.display_tz, config, settings.lookback_seconds).line())
        except Exception as exc:  # the searches are stored; the next cycle scores again
            log.error("detect failed, will retry after the next poll: %s", one_line(exc))
            log.debug("details", exc_info=True)

    return run


def command_detect(settings: Settings) -> int:
    config = load_detections(settings)
    engine = open_engine(settings)
    try:
        with database_errors(engine), cycle_lock(engine):
            result = detect(engine, settings.display_tz, config, settings.lookback_seconds)
        print(result.line())
        return EXIT_OK
    except AlreadyRunning as exc:
        raise UserError(str(exc), EXIT_RUNNING) from None
    finally:
        engine.dispose()


def forwarder(
    engine: Engine, forwarding: ForwardConfig | None, stop: threading.Event
) -> Callable[[], None]:
    """What runs after each cycle: a time-boxed forwarding pass, or nothing."""
    if forwarding is None:
        return lambda: None
    return lambda: forward_after_cycle(engine, forwarding, stop)


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


RUN_HEADER = (
    f"{'#':>5}  {'kind':<9} {'status':<11} {'started':<32} "
    f"{'pages':>5} {'fetched':>7} {'new':>7} {'dup':>6} {'rej':>4} {'req':>5}  error"
)
RUN_ROW = (
    "{id:>5}  {kind:<9} {status:<11} {started_at:<32} {pages:>5} {fetched:>7} "
    "{inserted:>7} {duplicates:>6} {rejected:>4} {api_requests:>5}  {error_text}"
)


def print_status(status: dict[str, Any]) -> None:
    totals = status["totals"]
    lines = [
        f"database         {status['database']}"
        + (f" ({status['database_bytes']:,} bytes)" if status["database_bytes"] else ""),
        *(
            [f"WAL file         {status['wal_bytes']:,} bytes (SQLite's write-ahead log)"]
            if status.get("wal_bytes") is not None
            else []
        ),
        f"cursor           {status['cursor'] or 'none (the first run will backfill)'}",
        f"bootstrap done   {'yes' if status['bootstrap_done'] else 'no'}",
        f"search logs      {totals['search_logs']:,} "
        f"(from {totals['first_event'] or '—'} to {totals['last_event'] or '—'})",
        f"rejected records {totals['rejected_records']:,}",
    ]
    for label, run in (
        ("last ok run", status["last_ok_run"]),
        ("last failed", status["last_failed_run"]),
    ):
        if run:
            lines.append(
                f"{label:<16} #{run['id']} finished {run['finished_at']}"
                + (f": {run['error']}" if run["error"] else "")
            )
    lines.append(f"last sweep       {describe_sweep(status['last_reconcile'])}")
    lines += [f"forwarding       {describe_destination(d)}" for d in status["forwarding"]]
    if status["recent_runs"]:
        lines += ["", "recent runs (newest first)", RUN_HEADER]
        lines += [
            RUN_ROW.format(**run, error_text=run["error"] or "") for run in status["recent_runs"]
        ]
        lines += [
            f"{'':>5}  notes of #{run['id']}: {run['notes_text']}"
            for run in status["recent_runs"]
            if run["notes_text"]
        ]
    if status["recent_rejects"]:
        lines.append("")
        lines.append("recent rejected records")
        for reject in status["recent_rejects"]:
            raw = reject["raw_json"]
            raw = raw if len(raw) <= 80 else raw[:77] + "..."
            lines.append(f"  #{reject['id']} {reject['rejected_at']}  {reject['reason']}  {raw}")
    print("\n".join(lines))


def describe_sweep(run: dict[str, Any] | None) -> str:
    """The last reconciliation sweep in one line: when, what it re-read, what it found."""
    if run is None:
        return "none yet (the scheduled loop sweeps once a day; `reconcile` sweeps now)"
    text = (
        f"#{run['id']} {run['status']}, finished {run['finished_at']}: re-read "
        f"{run['window_start']} → {run['window_end']}, {run['fetched']:,} fetched, "
        f"{run['inserted']:,} new"
    )
    if run["notes_text"]:
        text += f"; {run['notes_text']}"
    if run["error"]:
        text += f"; error: {run['error']}"
    return text


def describe_destination(row: dict[str, Any]) -> str:
    """One forwarding destination in one line: delivered, lag, parked, last error."""
    text = (
        f"{row['destination']}: {row['delivered']:,} delivered, last "
        f"{row['last_delivery_at'] or 'never'}; lag {row['lag_messages']:,} "
        f"({row['lag_seconds']:,} s); {row['parked']:,} parked"
    )
    return text + (f"; last error: {row['last_error']}" if row["last_error"] else "")


def command_status(settings: Settings, as_json: bool) -> int:
    engine = open_engine(settings)
    try:
        with database_errors(engine):
            status = collect_status(engine)
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps(status, indent=2, ensure_ascii=False))
    else:
        print_status(status)
    return EXIT_OK


def command_forward(
    settings: Settings, since: str | None, only: str | None, max_seconds: float
) -> int:
    """`forward`: deliver what is pending to every destination (or one), then exit; 1 when a
    destination could not take everything."""
    forwarding = load_forward_config(settings)
    if forwarding is None:
        raise UserError(
            "nothing to forward to: set FORWARD_URL (and FORWARD_FORMAT) or FORWARD_CONFIG",
            EXIT_CONFIG,
        )
    if only is not None and only not in {d.name for d in forwarding.destinations}:
        raise UserError(f"no forwarding destination is named {only!r}", EXIT_CONFIG)
    if max_seconds <= 0:
        raise UserError("--max-seconds must be above 0", EXIT_CONFIG)
    start = parse_since(since) if since else None
    engine = open_engine(settings)
    stop = threading.Event()
    try:
        with database_errors(engine), stop_on_signals(stop):
            results = forward_pending(
                engine, forwarding, max_seconds=max_seconds, stop=stop, since=start, only=only
            )
    finally:
        engine.dispose()
    failed = [r for r in results if r.error]
    return EXIT_FAILED if failed else EXIT_OK


def command_status_check(settings: Settings) -> int:
    """`status --check`: the readiness test of `/readyz`, without upgrading the schema."""
    engine = make_engine(settings.effective_database_url, create_folder=False)
    try:
        readiness = check_readiness(engine, settings.poll_seconds)
    finally:
        engine.dispose()
    if readiness.ready:
        print(f"ready: the last successful poll finished {readiness.last_poll_ok_at}")
        return EXIT_OK
    for reason in readiness.reasons:
        print(f"not ready: {reason}", file=sys.stderr)
    return EXIT_FAILED


def command_reset_cursor(settings: Settings, yes: bool) -> int:
    engine = open_engine(settings)
    try:
        store = Store(engine)
        if not yes:
            if not sys.stdin.isatty():
                raise UserError(
                    "reset-cursor needs confirmation: run it in a terminal or pass --yes",
                    EXIT_CONFIG,
                )
            print(
                f"The cursor is {store.cursor() or 'not set'}. Resetting it makes the next run "
                f"backfill {settings.initial_backfill_days} days again (stored rows are kept and "
                "never doubled)."
            )
            if input("Reset the cursor? [y/N] ").strip().lower() not in ("y", "yes"):
                print("Nothing changed.")
                return EXIT_OK
        with cycle_lock(engine):
            store.reset_cursor()
        print("Cursor reset: the next run backfills INITIAL_BACKFILL_DAYS days.")
        return EXIT_OK
    except AlreadyRunning as exc:
        raise UserError(str(exc), EXIT_RUNNING) from None
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        settings = load_settings()
        if not args.verbose:
            logging.getLogger().setLevel(settings.log_level)
        if args.command == "run":
            return command_run(settings, args.once)
        if args.command == "status" and args.check:
            return command_status_check(settings)
        if args.command == "status":
            return command_status(settings, args.json)
        if args.command == "token":
            problem = command_token(settings, args)
            return EXIT_OK if problem is None else fail(problem, EXIT_CONFIG, args.verbose)
        if args.command == "reconcile":
            return command_reconcile(settings)
        if args.command == "detect":
            return command_detect(settings)
        if args.command == "forward":
            return command_forward(settings, args.since, args.destination, args.max_seconds)
        return command_reset_cursor(settings, args.yes)
    except ConfigError as exc:
        return fail(str(exc), EXIT_CONFIG, args.verbose)
    except UserError as exc:
        return fail(str(exc), exc.status, args.verbose)
    except (DatabaseSetupError, AlreadyRunning) as exc:
        return fail(
            str(exc),
            EXIT_CONFIG if isinstance(exc, DatabaseSetupError) else EXIT_RUNNING,
            args.verbose,
        )
    except SQLAlchemyError as exc:
        message = redact_text(one_line(exc), settings.effective_database_url)
        return fail(f"database error: {message}", EXIT_FAILED, args.verbose)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def fail(message: str, status: int, verbose: bool) -> int:
    if verbose:
        log.debug("details", exc_info=True)
    print(f"error: {message}", file=sys.stderr)
    return status
