"""`python -m ingest`: run the ingest once or on a schedule, sweep for late searches, show
its status, reset it, verify the sealed days.

Exit status: 0 success; 1 a cycle failed (API, network, database); 2 a configuration or
environment problem (the message names the setting, or says what is wrong with the disk or
the database file); 3 another ingest is already running. With several tenants, a cycle's
failures are one `error:` line per failed tenant, naming it, and the status is theirs when
they share one, else 1.
Errors a user can meet are one line on stderr; tracebacks only with --verbose.
"""

from __future__ import annotations

import argparse
import logging
import sys

from sqlalchemy.exc import SQLAlchemyError

from config import log_format
from config.settings import ConfigError, Settings, load_settings, read_environment
from db.engine import DatabaseSetupError, redact_text
from db.locks import AlreadyRunning
from ingest.commands.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_RUNNING,
    UserError,
    add_tenant_option,
    database_errors,
    log,
    open_existing_engine,
)
from ingest.commands.evidence import add_evidence_parsers
from ingest.commands.forwarding import FORWARD_MAX_SECONDS
from ingest.commands.tokens import add_token_parser
from ingest.poller import one_line

# The commands' own modules are imported by `run_command`, when that command runs: every
# `python -m ingest` would otherwise load what all of them need (numpy for `detect`, …).


def run_verify(settings: Settings, tenant: str | None) -> int:
    from ingest.seal import command_verify

    engine = open_existing_engine(settings)
    try:
        with database_errors(engine):
            return command_verify(engine, tenant)
    finally:
        engine.dispose()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Copy Mimecast archive search logs into a local database.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="poll on a schedule (every POLL_SECONDS)")
    run.add_argument("--once", action="store_true", help="run one cycle and exit")
    add_tenant_option(run)
    reconcile = commands.add_parser(
        "reconcile",
        help="re-read the last RECONCILE_DAYS days now and store any search that is missing",
    )
    add_tenant_option(reconcile)
    status = commands.add_parser("status", help="cursor, recent runs, totals, rejects")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--check",
        action="store_true",
        help="exit 1 unless the database answers, is at the newest schema and the last "
        "successful poll is younger than 2 × POLL_SECONDS (what /readyz answers)",
    )
    add_tenant_option(status)
    reset = commands.add_parser("reset-cursor", help="forget the cursor: backfill again")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_tenant_option(reset, every="the only tenant; required with several")
    detect = commands.add_parser(
        "detect", help="score every complete day not yet scored for abnormal searching (alerts)"
    )
    add_tenant_option(detect)
    detect.add_argument(
        "--rescore",
        nargs=2,
        metavar=("FROM", "TO"),
        help="also score again the local days FROM to TO (YYYY-MM-DD), already scored or not",
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
    add_tenant_option(forward)
    forward.add_argument(
        "--max-seconds",
        type=float,
        default=FORWARD_MAX_SECONDS,
        help=f"give up retrying after this long (default {FORWARD_MAX_SECONDS:g})",
    )
    add_token_parser(commands)
    targets = commands.add_parser(
        "targets", help="whose mailbox each search targeted (docs/targets.md)"
    )
    targets.add_argument(
        "--backfill",
        action="store_true",
        help="parse the targets of every stored search again, replacing those stored",
    )
    add_tenant_option(targets)
    verify = commands.add_parser(
        "verify",
        help="recompute the sealed days' digest chains; name each day changed after sealing",
    )
    add_tenant_option(verify, every="every tenant and the installation's audit trail")
    add_evidence_parsers(commands)
    return parser


def configure_logging(verbose: bool) -> None:
    """Text or JSON lines (LOG_FORMAT) on stderr. LOG_FORMAT is read before the other
    settings, so that a refusal of those is a JSON line too; an invalid value is refused
    with them (in text)."""
    chosen = log_format.chosen_format(read_environment())
    log_format.configure(chosen, logging.DEBUG if verbose else logging.INFO)
    for noisy in ("urllib3", "alembic", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        settings = load_settings()
        if not args.verbose:
            logging.getLogger().setLevel(settings.log_level)
        return run_command(args, settings)
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


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    """The chosen command, its module imported now (see the imports)."""
    if args.command in ("run", "reconcile"):
        from ingest.commands.polling import command_reconcile, command_run

        if args.command == "run":
            return command_run(settings, args.once, tenant=args.tenant)
        return command_reconcile(settings, args.tenant)
    if args.command == "token":
        from ingest.commands.tokens import command_token

        problem = command_token(settings, args)
        return EXIT_OK if problem is None else fail(problem, EXIT_CONFIG, args.verbose)
    if args.command in ("keys", "verify-export"):
        from ingest.commands.evidence import command_keys, command_verify_export

        if args.command == "keys":
            return command_keys(settings, args.action)
        return command_verify_export(args.csv, args.manifest, args.public_key)
    if args.command == "verify":
        return run_verify(settings, args.tenant)
    if args.command == "detect":
        from ingest.commands.detections import command_detect

        return command_detect(settings, args.tenant, args.rescore)
    if args.command == "targets":
        from ingest.commands.targets import command_targets

        return command_targets(settings, args.backfill, args.tenant)
    if args.command == "forward":
        from ingest.commands.forwarding import command_forward

        return command_forward(
            settings, args.since, args.destination, args.max_seconds, args.tenant
        )
    from ingest.commands.state import command_reset_cursor, command_status, command_status_check

    if args.command == "status" and args.check:
        return command_status_check(settings, args.tenant)
    if args.command == "status":
        return command_status(settings, args.json, args.tenant)
    return command_reset_cursor(settings, args.yes, args.tenant)


def fail(message: str, status: int, verbose: bool) -> int:
    if verbose:
        log.debug("details", exc_info=True)
    for line in message.splitlines() or [""]:  # one line per failed tenant
        if log_format.writes_json():
            log.error("error: %s", line)
        else:
            print(f"error: {line}", file=sys.stderr)
    return status
