"""Every knob of the simulator, declared once.

The CLI flags, the Python API and the tests all build a `SimConfig`; defaults describe a quiet,
healthy tenant (no faults) with two months of history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ingest.simulator.timefmt import utc_now

DEFAULT_CLIENT_ID = "sim-client-id"
DEFAULT_CLIENT_SECRET = "sim-client-secret"
PAGING_MODES = ("token", "offset")
MAX_ACCOUNTS = 1_000


@dataclass(frozen=True)
class SimConfig:
    """How the simulated tenant behaves. Rates are probabilities per search-log request.

    With `accounts` > 1 the simulator serves that many Mimecast accounts: account 1 is this
    configuration as it stands; the others derive their own seed, credentials and address
    domains from it (`ingest.simulator.accounts`).
    """

    seed: int = 42
    days: int = 60
    events_per_day: int = 300
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    token_lifetime: int = 1799
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_fail200: float = 0.0
    rate_drop: float = 0.0
    rate_limit_reset_ms: int = 200
    malformed_rate: float = 0.0
    late_fraction: float = 0.02
    twin_fraction: float = 0.01
    clock: Callable[[], datetime] = utc_now
    # "token": every page of a listing as of the instant its first page was cut (stable).
    # "offset": each page cut afresh at its offset, so a search that becomes visible among
    # the pages already read shifts the rest by one and one record is served twice.
    paging: str = "token"
    # totalCount is not promised exact: added to the true count (an undercount when
    # negative, never below 0); None leaves the field out.
    total_count_error: int | None = 0
    host: str = "127.0.0.1"
    port: int = 0
    verbose: bool = False
    # Generated days are kept in an LRU bounded by event count, so 35,000 events/day fit in
    # memory without regenerating the day a client is paging through.
    cache_events: int = 500_000
    accounts: int = 1
    # Put in front of every address's domain ("account2" -> admin@account2.example.com), so
    # accounts share no searcher; "" keeps the domains of account 1.
    domain_prefix: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.accounts <= MAX_ACCOUNTS:
            raise ValueError(f"accounts must be within 1..{MAX_ACCOUNTS}, not {self.accounts}")
        if self.paging not in PAGING_MODES:
            raise ValueError(f"paging must be one of {PAGING_MODES}, not {self.paging!r}")
