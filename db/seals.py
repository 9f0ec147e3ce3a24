"""Sealing: each complete UTC day of a chain gets a link whose digest covers its rows and
the link before it; searches a reconciliation sweep stores into a sealed day later get an
amendment link of their own, so they are never a silent change (docs/evidence.md).

Chains: one per tenant (its searches and its audit rows), and the installation's
(`INSTALLATION_CHAIN`: the audit rows of no tenant). Verification is `db.seal_verify`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, Engine, func, insert, select

from db.models import INSTALLATION_CHAIN, AuditEvent, IngestRun, Seal, SealCheck, SearchLog
from db.seal_digest import AMENDMENT, GENESIS, SEAL, Link, day_bounds, read_content
from db.state import RECONCILE

log = logging.getLogger("db.seals")


@dataclass(frozen=True)
class StoredLink:
    link: Link
    digest: str


def stored_links(conn: Connection, chain: str) -> list[StoredLink]:
    """A chain's links in position order."""
    rows = conn.execute(
        select(*Seal.__table__.columns).where(Seal.tenant == chain).order_by(Seal.position)
    )
    return [
        StoredLink(
            Link(
                chain=s.tenant,
                position=s.position,
                day=s.day,
                kind=s.kind,
                first_search_id=s.first_search_id,
                last_search_id=s.last_search_id,
                last_run_id=s.last_run_id,
                searches=s.searches,
                audit_rows=s.audit_rows,
                previous=s.previous,
                sealed_at=s.sealed_at,
            ),
            s.digest,
        )
        for s in rows
    ]


def _first_day(conn: Connection, chain: str) -> date | None:
    """The day of the chain's first row (a search, or an audit row), if it has any."""
    audit = AuditEvent.tenant.is_(None) if chain == INSTALLATION_CHAIN else None
    audit_first = conn.execute(
        select(func.min(AuditEvent.at)).where(
            audit if audit is not None else AuditEvent.tenant == chain
        )
    ).scalar()
    firsts = [audit_first]
    if chain != INSTALLATION_CHAIN:
        firsts.append(
            conn.execute(
                select(func.min(SearchLog.create_time)).where(SearchLog.tenant == chain)
            ).scalar()
        )
    days = [as_utc(moment).date() for moment in firsts if moment is not None]
    return min(days) if days else None


def as_utc(moment: datetime) -> datetime:
    # func.min() skips the column type: SQLite hands back naive UTC (or text)
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _append(conn: Connection, links: list[StoredLink], link: Link, digest: str) -> None:
    conn.execute(
        insert(Seal).values(
            tenant=link.chain,
            position=link.position,
            day=link.day,
            kind=link.kind,
            first_search_id=link.first_search_id,
            last_search_id=link.last_search_id,
            last_run_id=link.last_run_id,
            searches=link.searches,
            audit_rows=link.audit_rows,
            previous=link.previous,
            digest=digest,
            sealed_at=link.sealed_at,
        )
    )
    links.append(StoredLink(link, digest))


def _new_link(
    conn: Connection,
    links: list[StoredLink],
    chain: str,
    day: date,
    kind: str,
    span: tuple[int, int],
    last_run_id: int,
    now: datetime,
) -> None:
    content = read_content(conn, chain, day, kind, *span)
    link = Link(
        chain=chain,
        position=len(links),
        day=day,
        kind=kind,
        first_search_id=span[0],
        last_search_id=span[1],
        last_run_id=last_run_id,
        searches=content.searches,
        audit_rows=content.audit_rows,
        previous=links[-1].digest if links else GENESIS,
        sealed_at=now,
    )
    _append(conn, links, link, content.digest(link))


def _newest_ids(conn: Connection) -> tuple[int, int]:
    last_search = conn.execute(select(func.max(SearchLog.id))).scalar() or 0
    last_run = conn.execute(select(func.max(IngestRun.id))).scalar() or 0
    return int(last_search), int(last_run)


DAYS_PER_CALL = 31
"""At most this many days sealed at once: a large history (a database upgraded to 0014)
is sealed a month per cycle, so no cycle holds the write gate for long."""


def seal_days(engine: Engine, chain: str, complete_before: datetime, now: datetime) -> list[date]:
    """Seal the days of `chain` not yet sealed that end at or before `complete_before`,
    from the chain's first row on (empty days too: removing a day's rows shows), at most
    DAYS_PER_CALL of them. One transaction: the days sealed, in order."""
    last_day = complete_before.astimezone(UTC).date() - timedelta(days=1)
    with engine.begin() as conn:
        links = stored_links(conn, chain)
        sealed = [s.link.day for s in links if s.link.kind == SEAL]
        start = sealed[-1] + timedelta(days=1) if sealed else _first_day(conn, chain)
        if start is None or start > last_day:
            return []
        last_search, last_run = _newest_ids(conn)
        count = min((last_day - start).days + 1, DAYS_PER_CALL)
        days = [start + timedelta(days=n) for n in range(count)]
        for day in days:
            _new_link(conn, links, chain, day, SEAL, (0, last_search), last_run, now)
    return days


def covered_to(links: list[StoredLink]) -> dict[date, int]:
    """Each sealed day's highest search id its links cover."""
    covered: dict[date, int] = {}
    for stored in links:
        day = stored.link.day
        covered[day] = max(covered.get(day, 0), stored.link.last_search_id)
    return covered


def amend_days(engine: Engine, chain: str, since: date, now: datetime) -> list[date]:
    """An amendment for each sealed day from `since` on into which a reconciliation sweep
    run after the day's seal stored searches. Late rows stored any other way get none: a
    warning here, and `verify` reports them."""
    if chain == INSTALLATION_CHAIN:
        return []
    amended: list[date] = []
    with engine.begin() as conn:
        links = stored_links(conn, chain)
        seals = {s.link.day: s.link for s in links if s.link.kind == SEAL}
        _, last_run = _newest_ids(conn)
        for day, covered in sorted(covered_to(links).items()):
            if day < since:
                continue
            late = _late_rows(conn, chain, day, covered)
            if not late:
                continue
            if not _from_later_sweeps(conn, chain, late, seals[day].last_run_id):
                log.warning(
                    "%s: %d searches of sealed day %s were not stored by a reconciliation "
                    "sweep: not amended (verify reports them)",
                    chain,
                    len(late),
                    day,
                )
                continue
            span = (covered, max(row_id for row_id, _ in late))
            _new_link(conn, links, chain, day, AMENDMENT, span, last_run, now)
            amended.append(day)
    return amended


def _late_rows(
    conn: Connection, chain: str, day: date, covered: int
) -> list[tuple[int, int | None]]:
    start, end = day_bounds(day)
    rows = conn.execute(
        select(SearchLog.id, SearchLog.run_id)
        .where(SearchLog.tenant == chain)
        .where(SearchLog.create_time >= start, SearchLog.create_time < end)
        .where(SearchLog.id > covered)
    )
    return [(int(row_id), run_id) for row_id, run_id in rows]


def _from_later_sweeps(
    conn: Connection, chain: str, late: list[tuple[int, int | None]], sealed_run: int
) -> bool:
    runs = {run_id for _, run_id in late}
    if None in runs:
        return False
    sweeps = conn.execute(
        select(IngestRun.id)
        .where(IngestRun.id.in_(runs), IngestRun.tenant == chain)
        .where(IngestRun.kind == RECONCILE, IngestRun.id > sealed_run)
    ).scalars()
    return set(sweeps) == runs


@dataclass(frozen=True)
class ChainStatus:
    """What the status page shows of a chain: its last sealed day, its last check."""

    last_sealed_day: date | None
    checked_at: datetime | None
    ok: bool | None
    problems: str | None


def chain_status(engine: Engine, chain: str) -> ChainStatus:
    with engine.connect() as conn:
        last_day = conn.execute(
            select(func.max(Seal.day)).where(Seal.tenant == chain, Seal.kind == SEAL)
        ).scalar()
        check = conn.execute(
            select(*SealCheck.__table__.columns)
            .where(SealCheck.tenant == chain)
            .order_by(SealCheck.checked_at.desc(), SealCheck.id.desc())
            .limit(1)
        ).one_or_none()
    if isinstance(last_day, str):  # SQLite's max() of a DATE column is its text
        last_day = date.fromisoformat(last_day)
    if check is None:
        return ChainStatus(last_day, None, None, None)
    return ChainStatus(last_day, check.checked_at, check.ok, check.problems)
