"""Several Mimecast accounts behind one simulator: own credentials, own data, own faults.

Why: one installation ingests many accounts (issue 16), and its tests need accounts that
differ (seed, searchers, address domains), that the one token endpoint tells apart by the
credentials alone, and whose faults are set one at a time so one account can fail while the
others are fine. Account 1 is the simulator's configuration unchanged, so whatever was written
for a single account behaves exactly as before.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from ingest.simulator.activity import derive_seed
from ingest.simulator.config import SimConfig
from ingest.simulator.faults import FaultPlan
from ingest.simulator.store import EventStore

# Records to add once the account's page counter reaches a number: (page, [(record, delay)]).
PendingRecords = list[tuple[int, list[tuple[object, int]]]]


def account_config(base: SimConfig, number: int) -> SimConfig:
    """Account `number`'s configuration: 1 is `base`; the others get a seed, credentials and
    a domain prefix of their own (client id `sim-client-id-2`, secret `sim-client-secret-2`)."""
    if number == 1:
        return base
    return replace(
        base,
        seed=derive_seed(base.seed, f"account-{number}"),
        client_id=f"{base.client_id}-{number}",
        client_secret=f"{base.client_secret}-{number}",
        domain_prefix=f"account{number}",
    )


class Stats:
    """Counters a test or a demo reads back through `/_sim/stats`."""

    def __init__(self) -> None:
        self.token_requests = 0
        self.tokens_issued = 0
        self.search_requests = 0
        self.pages_served = 0
        self.records_served = 0
        self.responses_by_status: Counter[str] = Counter()
        self.faults_injected: Counter[str] = Counter()

    def snapshot(self) -> dict[str, object]:
        return {
            "token_requests": self.token_requests,
            "tokens_issued": self.tokens_issued,
            "search_requests": self.search_requests,
            "pages_served": self.pages_served,
            "records_served": self.records_served,
            "responses_by_status": dict(self.responses_by_status),
            "faults_injected": dict(self.faults_injected),
        }


class Account:
    """One account's world. Not thread-safe on its own: the API's lock guards every use."""

    def __init__(self, number: int, config: SimConfig) -> None:
        self.number = number
        self.config = config
        self.store = EventStore(config)
        self.faults = FaultPlan(config)
        self.stats = Stats()
        self.token_lifetime = config.token_lifetime
        self.after_pages: PendingRecords = []

    def add_due_events(self, now: int) -> None:
        """Add the records whose page has come."""
        due = [item for item in self.after_pages if item[0] <= self.stats.pages_served]
        for item in due:
            self.after_pages.remove(item)
            self.store.add((record for record, _ in item[1]), now, (delay for _, delay in item[1]))


def build_accounts(config: SimConfig) -> tuple[Account, ...]:
    return tuple(
        Account(number, account_config(config, number)) for number in range(1, config.accounts + 1)
    )
