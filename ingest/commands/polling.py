"""`run`, `run --once` and `reconcile`: every tenant's polls and sweeps at once (see
`ingest.commands.tenant_polls`), under the writer lock and each tenant's cycle lock,
followed by the detections and forwarding, with progress and summaries logged."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection

from sqlalchemy import Engine

from config.settings import Settings
from db.clickhouse.url import is_clickhouse_url
from db.engine import truncate_wal
from db.locks import AlreadyRunning, cycle_lock, single_writer, write_gate
from db.state import RECONCILE, run_kind_name
from ingest.commands.common import (
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_RUNNING,
    UserError,
    database_errors,
    database_shown,
    fmt_time,
    log,
    make_client,
    plural,
    selected_tenants,
    stop_on_signals,
    tenant_label,
    tenant_settings,
    written_to,
)
from ingest.commands.detections import detections_after_cycle, load_detections
from ingest.commands.forwarding import alerts_only, forwarder
from ingest.commands.stores import SKIPPED_ON_CLICKHOUSE, IngestStores, open_ingest_stores
from ingest.commands.tenant_polls import (
    JOIN_STEP_SECONDS,
    TenantJob,
    check_credentials,
    exit_status,
    failure_lines,
    failure_of,
    run_each,
)
from ingest.forward.config import load_forward_config
from ingest.poller import ChunkProgress, CycleResult, Poller
from ingest.seal import sealer


def chunk_reporter(label: str) -> Callable[[ChunkProgress], None]:
    """Progress lines of one tenant's poll (named by `label` when there are tenants)."""

    def report(progress: ChunkProgress) -> None:
        log.info("%s%s", label, chunk_line(progress))

    return report


def chunk_line(progress: ChunkProgress) -> str:
    counts = progress.counts
    remaining = progress.total - progress.index
    eta = ""
    if remaining and progress.index:
        eta = f" · about {progress.elapsed_seconds / progress.index * remaining:.0f} s left"
    return (
        f"{run_kind_name(progress.kind)} {progress.index}/{progress.total}  "
        f"{fmt_time(progress.start)} → {fmt_time(progress.end)}  fetched {counts.fetched}, "
        f"new {counts.inserted}, duplicates {counts.duplicates}, rejected {counts.rejected}{eta}"
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


def run_one_cycle(job: TenantJob) -> CycleResult:
    """One poll of one tenant under its cycle lock."""
    started = time.monotonic()
    poller = job.poller
    with cycle_lock(job.engine, job.name):
        result = poller.run_cycle()
        summary = summarise(result, time.monotonic() - started)
        log.info("%s%s", job.label, summary, extra={"run_id": result.run_id})
        truncate_wal(job.engine)  # the next poll is far off: leave no large WAL
    return result


def run_sweep(job: TenantJob) -> CycleResult:
    """A reconciliation sweep of one tenant under the same lock as its polls."""
    started = time.monotonic()
    with cycle_lock(job.engine, job.name):
        result = job.poller.run_reconcile()
    summary = summarise(result, time.monotonic() - started)
    log.info("%s%s", job.label, summary, extra={"run_id": result.run_id})
    findings = sweep_findings(result)
    if findings:
        log.warning("%s%s", job.label, findings)
    return result


def first_poll(job: TenantJob) -> CycleResult:
    """The credentials checked (fails fast, in one line), then one poll."""
    check_credentials(job)
    return run_one_cycle(job)


def first_sweep(job: TenantJob) -> CycleResult:
    check_credentials(job, sweep=True)
    return run_sweep(job)


def command_run(
    settings: Settings, once: bool, *, reconcile: bool = False, tenant: str | None = None
) -> int:
    """`run`, `run --once` or `reconcile` for every tenant (or `tenant`) at once: credentials
    of each present, the writer lock held. Exit status and one line per failed tenant."""
    forwarding = load_forward_config(settings)  # a bad destination stops us before we start
    if is_clickhouse_url(settings.effective_database_url):
        alerts_only(forwarding)  # searches are not forwarded from ClickHouse yet
    detections = None if reconcile else load_detections(settings)  # and a bad rules file
    tenants = selected_tenants(settings, tenant)
    clients = [make_client(settings, each) for each in tenants]  # a missing secret: exit 2
    try:
        stores = open_ingest_stores(settings)
    except UserError:
        for client in clients:
            client.close()
        raise
    engine, views = stores.control, IngestStores(stores)
    on_clickhouse = stores.clickhouse is not None
    stop = threading.Event()
    jobs = [
        TenantJob(
            each.name,
            tenant_label(settings, each.name),
            client,
            Poller(
                tenant_settings(settings, each),
                views.for_tenant(each.name),
                client,
                stop=stop,
                on_chunk=chunk_reporter(tenant_label(settings, each.name)),
            ),
        )
        for each, client in zip(tenants, clients, strict=True)
    ]
    after_cycle = forwarder(engine, forwarding, stop)
    # the sealing digests the searches' SQL rows: not on ClickHouse yet
    seal = (lambda: None) if on_clickhouse else sealer(engine, tenants)
    try:
        with database_errors(engine), single_writer(engine), stop_on_signals(stop):
            after_poll = (
                None
                if detections is None
                else detections_after_cycle(
                    engine, settings, detections, tenants, views.detection_searches()
                )
            )
            if not once:
                log.info("writing to %s", database_shown(settings))
                if on_clickhouse:
                    log.warning("%s", SKIPPED_ON_CLICKHOUSE)
                return run_forever(jobs, settings.poll_seconds, stop, after_cycle, after_poll, seal)
            failures = run_each(jobs, first_sweep if reconcile else first_poll)
            if len(failures) < len(jobs):
                failed = {failure.tenant for failure in failures}
                polled = {job.name for job in jobs if job.name not in failed}
                after_tenants(engine, after_poll, after_cycle, seal, polled)
                written_to(settings)
                if on_clickhouse:
                    log.warning("%s", SKIPPED_ON_CLICKHOUSE)
            if failures:
                raise UserError(failure_lines(failures), exit_status(failures))
            return EXIT_OK
    except AlreadyRunning as exc:
        raise UserError(str(exc), EXIT_RUNNING) from None
    finally:
        for client in clients:
            client.close()
        stores.close()


def after_tenants(
    engine: Engine,
    after_poll: Callable[[Collection[str]], None] | None,
    after_cycle: Callable[[], None],
    seal: Callable[[], None] = lambda: None,
    polled: Collection[str] = (),
) -> None:
    """The complete days sealed (`ingest.seal`), the detections (of the `polled` tenants,
    whose polls succeeded, each scored from where it left off), then a time-boxed
    forwarding pass (a stream per destination and tenant), once the tenants' polls are
    done. The sealing and detections take the write gate: on SQLite they must not meet a
    tenant's page writes."""
    with write_gate(engine):
        seal()
    truncate_wal(engine)  # as after each poll: leave no WAL behind the seals' writes
    if after_poll is not None and polled:
        with write_gate(engine):
            after_poll(polled)
    after_cycle()


def command_reconcile(settings: Settings, tenant: str | None = None) -> int:
    if settings.reconcile_days == 0:
        raise UserError(
            "RECONCILE_DAYS is 0, which turns the reconciliation sweep off; set it to 1–90 "
            "to sweep that many days",
            EXIT_CONFIG,
        )
    return command_run(settings, once=True, reconcile=True, tenant=tenant)


def run_forever(
    jobs: list[TenantJob],
    poll_seconds: int,
    stop: threading.Event,
    after_cycle: Callable[[], None] = lambda: None,
    after_poll: Callable[[Collection[str]], None] | None = None,
    seal: Callable[[], None] = lambda: None,
) -> int:
    """Each tenant polls on its own thread every `poll_seconds` (an overrunning poll is not
    run twice; a hanging tenant delays only itself) and, once a day, sweeps. The main thread
    runs the detections and forwarding after the tenants' polls as they end."""
    engine = jobs[0].engine
    failures = run_each(jobs, check_credentials)
    if len(failures) == len(jobs):  # nothing could poll: a configuration to fix, as before
        raise UserError(failure_lines(failures), exit_status(failures))
    for failure in failures:  # the others go on; this one retries at each of its polls
        log.error("%s", failure.message)
    log.info("polling every %d s; Ctrl-C or SIGTERM stops after the current page", poll_seconds)
    ended, polled = threading.Event(), PolledTenants()
    threads = [
        threading.Thread(
            target=tenant_loop,
            args=(job, poll_seconds, stop, ended, polled),
            name=f"tenant-{job.name}",
        )
        for job in jobs
    ]
    for thread in threads:
        thread.start()
    while not stop.is_set():
        # after any tenant's poll, at once; polls that end meanwhile share the next run
        if ended.wait(JOIN_STEP_SECONDS) and not stop.is_set():
            ended.clear()
            # the detections only of the tenants whose poll succeeded since the last run
            after_tenants(engine, after_poll, after_cycle, seal, polled.take())
    for thread in threads:
        while thread.is_alive():
            thread.join(JOIN_STEP_SECONDS)
    log.info("stopped")
    return EXIT_OK


class PolledTenants:
    """The tenants whose poll succeeded since the main thread last took them (each tenant
    polls on its own thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: set[str] = set()

    def add(self, name: str) -> None:
        with self._lock:
            self._names.add(name)

    def take(self) -> frozenset[str]:
        with self._lock:
            names, self._names = frozenset(self._names), set()
        return names


def tenant_loop(
    job: TenantJob,
    poll_seconds: int,
    stop: threading.Event,
    ended: threading.Event,
    polled: PolledTenants,
) -> None:
    """One tenant's schedule: a poll every `poll_seconds`, a sweep when one is due; `ended`
    is set after each poll, the tenant added to `polled` after each that succeeded."""
    while not stop.is_set():
        started = time.monotonic()
        if run_guarded(job, run_one_cycle):
            polled.add(job.name)
            if not stop.is_set() and job.poller.reconcile_due():
                run_guarded(job, run_sweep)
        ended.set()
        stop.wait(max(0.0, started + poll_seconds - time.monotonic()))


def run_guarded(job: TenantJob, action: Callable[[TenantJob], CycleResult]) -> bool:
    """Run a poll or a sweep; a failure is logged and left to the next poll. Whether it ran."""
    what = "sweep" if action is run_sweep else "cycle"
    try:
        action(job)
    except AlreadyRunning as exc:  # a cursor reset holds the cycle lock for a moment
        log.warning("%s%s skipped, will retry at the next poll: %s", job.label, what, exc)
    except Exception as exc:  # any failure is this tenant's alone: the loop goes on
        failure = failure_of(job, exc)
        log.error("%s failed, will retry at the next poll: %s", what, failure.message)
    else:
        return True
    return False
