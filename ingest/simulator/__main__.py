"""`python -m ingest.simulator`: run the simulated Mimecast API until Ctrl-C or SIGTERM.

For demos and manual testing of the ingest; prints one line with the URL and the (published,
demo-only) credentials, then one line per further account with `--accounts`, and refuses to
listen on anything but loopback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from ingest.simulator.config import PAGING_MODES, SimConfig
from ingest.simulator.incidents import labelled_tenant
from ingest.simulator.server import Simulator, ensure_loopback


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ingest.simulator", description="Simulated Mimecast API 2.0 (demo only)."
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="loopback address to listen on")
    add("--port", type=int, default=8765, help="port (0 picks a free one)")
    add("--seed", type=int, default=42, help="the same seed gives the same events")
    add("--days", type=int, default=60, help="days of history before now")
    add("--events-per-day", type=int, default=300)
    add("--token-lifetime", type=int, default=1799, help="seconds a token stays valid")
    add("--rate-429", type=float, default=0.0, help="share of search requests answered 429")
    add("--rate-5xx", type=float, default=0.0, help="share answered 500/502/503")
    add("--rate-fail200", type=float, default=0.0, help="share answered 200 with a fail array")
    add("--rate-drop", type=float, default=0.0, help="share whose connection is dropped")
    add("--rate-limit-reset-ms", type=int, default=200, help="X-RateLimit-Reset on a 429")
    add("--malformed-rate", type=float, default=0.0, help="extra malformed records per record")
    add(
        "--paging",
        choices=PAGING_MODES,
        default="token",
        help="token: stable pages (the default); offset: pages shift when searches arrive late",
    )
    add(
        "--incidents",
        type=int,
        metavar="SEED",
        help="also serve a labelled tenant of searchers with planted incidents (abnormal "
        "searching for the detections to find), made from SEED",
    )
    add(
        "--accounts",
        type=int,
        default=1,
        help="Mimecast accounts to serve, each with its own credentials and data (account 1 "
        "is the default one; the incidents, if any, go to account 1)",
    )
    add("--verbose", action="store_true", help="log every request to stderr")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> SimConfig:
    return SimConfig(
        seed=args.seed,
        days=args.days,
        events_per_day=args.events_per_day,
        token_lifetime=args.token_lifetime,
        rate_429=args.rate_429,
        rate_5xx=args.rate_5xx,
        rate_fail200=args.rate_fail200,
        rate_drop=args.rate_drop,
        rate_limit_reset_ms=args.rate_limit_reset_ms,
        malformed_rate=args.malformed_rate,
        paging=args.paging,
        accounts=args.accounts,
        host=args.host,
        port=args.port,
        verbose=args.verbose,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        ensure_loopback(args.host)
        sim = Simulator(config_from(args))
        url = sim.start()
        if args.incidents is not None:
            tenant = labelled_tenant(
                args.incidents, people=40, days=max(args.days, 90), repeats=1, system_rate=0.05
            )
            sim.add_events(tenant.records)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    client_id, client_secret = sim.credentials(1)
    print(
        f"Mimecast API simulator on {url} — client id {client_id}, "
        f"client secret {client_secret} (demo only)",
        flush=True,
    )
    for account in range(2, sim.config.accounts + 1):
        client_id, client_secret = sim.credentials(account)
        print(
            f"account {account} — client id {client_id}, client secret {client_secret} (demo only)",
            flush=True,
        )
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    while not stopping.wait(0.5):
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
