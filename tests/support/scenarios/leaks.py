"""Secrets in no output at any log level, and twin searches stored twice."""

from __future__ import annotations

import time
import traceback
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from config.settings import load_settings
from db.engine import open_database
from ingest.client import MimecastClient, MimecastError
from ingest.poller import CycleFailed, Poller
from ingest.simulator import SimConfig, Simulator
from ingest.store import Store
from tests.support.harness import SIM_ID, SIM_SECRET
from tests.support.scenarios.children import Ingest, sqlite_files
from tests.support.scenarios.counting import tally
from tests.support.scenarios.outcome import SETTLE_SECONDS, Outcome
from tests.support.tenancy import TENANT
from tests.support.truth import canonical, runs

# --- secrets ------------------------------------------------------------------------------

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def scenario_secrets(folder: Path, url: str) -> Outcome:
    """The client secret and every access token the simulator issued never appear in the
    output at any log level, in `status` (text or JSON), in exception messages and
    tracebacks, in the database's bytes, or in the audit trail."""
    outcome = Outcome()
    config = SimConfig(
        seed=333,
        days=4,
        events_per_day=600,
        late_fraction=0.0,
        token_lifetime=2,
        rate_5xx=0.05,
        rate_429=0.05,
        rate_fail200=0.05,
        rate_drop=0.05,
        malformed_rate=0.02,
        rate_limit_reset_ms=20,
    )
    texts: list[str] = []
    with Simulator(config) as sim:
        ingest = Ingest(sim, folder, url, INITIAL_BACKFILL_DAYS="2")
        for level in LOG_LEVELS:
            sim.queue_faults(["ok", "401", "ok", "500"])
            sim.queue_faults(["500", "ok"], endpoint="token")
            result = ingest.run("run", "--once", LOG_LEVEL=level)
            outcome.rule("every run at every level exits 0", result.returncode == 0)
            texts += [result.stdout, result.stderr]
        for args in (("-v", "run", "--once"), ("status",), ("status", "--json")):
            result = ingest.run(*args)
            outcome.rule("verbose runs and status exit 0", result.returncode == 0)
            texts += [result.stdout, result.stderr]
        sim.clear_faults()  # what the runs above left queued, and the rates
        sim.queue_faults(["403"])
        failed = ingest.run("-v", "run", "--once")
        outcome.rule("a refused run exits 1", failed.returncode == 1)
        rejected = ingest.run("-v", "run", "--once", MIMECAST_CLIENT_SECRET="not-" + SIM_SECRET)
        outcome.faults += 1
        outcome.rule("a wrong secret exits 2", rejected.returncode == 2)
        texts += [failed.stdout, failed.stderr, rejected.stdout, rejected.stderr]
        texts += exception_texts(sim, url)
        texts.append(database_text(url))
        tokens = sim.issued_tokens()
        everything = "\n".join(texts)
        outcome.rule("the client secret appears nowhere", SIM_SECRET not in everything)
        outcome.rule("no access token appears anywhere", not any(t in everything for t in tokens))
        outcome.figures.update({"tokens issued": len(tokens), "log levels": ", ".join(LOG_LEVELS)})
        tally(outcome, sim, url)
    return outcome


def exception_texts(sim: Simulator, url: str) -> list[str]:
    """Messages, reprs and full tracebacks of the errors the ingest raises in-process."""
    found: list[str] = []
    settings = load_settings(
        {
            "MIMECAST_CLIENT_ID": SIM_ID,
            "MIMECAST_CLIENT_SECRET": SIM_SECRET,
            "MIMECAST_BASE_URL": sim.base_url,
            "DATABASE_URL": url,
            "INITIAL_BACKFILL_DAYS": "2",
        }
    )
    for faults, secret in ((["403"], SIM_SECRET), (["fail200_fatal"], SIM_SECRET), ([], "wrong")):
        sim.queue_faults(faults)
        engine = open_database(url)
        client = MimecastClient(sim.base_url, SIM_ID, secret, sleep=lambda _s: None)
        try:
            Poller(settings, Store(engine, TENANT), client).run_cycle()
        except (CycleFailed, MimecastError) as exc:
            found += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
            found.append(repr(client))
        finally:
            client.close()
            engine.dispose()
    return found


def database_text(url: str) -> str:
    """The SQLite files' bytes, and every row of the audit trail when there is one."""
    parts = [b"".join(p.read_bytes() for p in sqlite_files(url) if p.exists()).decode("latin-1")]
    engine = create_engine(url)
    try:
        if inspect(engine).has_table("audit_events"):
            with engine.connect() as conn:
                parts += [
                    repr(tuple(row)) for row in conn.execute(text("SELECT * FROM audit_events"))
                ]
    finally:
        engine.dispose()
    return "\n".join(parts)


# --- twins --------------------------------------------------------------------------------


def scenario_twins(folder: Path, url: str) -> Outcome:
    """5% of searches have an identical twin; three overlapping polls keep both, once each."""
    outcome = Outcome()
    config = SimConfig(seed=303, days=5, events_per_day=800, late_fraction=0.0, twin_fraction=0.05)
    with Simulator(config) as sim:
        ingest = Ingest(sim, folder, url, INITIAL_BACKFILL_DAYS="3")
        for _ in range(3):
            outcome.rule("every poll exits 0", ingest.run("run", "--once").returncode == 0)
            time.sleep(1)
        tally(outcome, sim, url)
        history = runs(url)
        settled = history[-1].window_end - timedelta(seconds=SETTLE_SECONDS)
        valid, _ = sim.truth(history[0].window_start, settled)
        twins = sum(1 for n in Counter(canonical(r) for r in valid).values() if n > 1)
        outcome.rule("twins were served", twins > 0)
        outcome.figures["twin pairs served"] = twins
    return outcome
