"""Verification: recompute every link of a chain from the rows stored now, and name each
day whose rows were changed, added or removed after it was sealed (docs/evidence.md).

What a link's digest cannot show on its own is checked beside it: searches stored into a
sealed day with no amendment, rows before the first sealed day, and a chain shorter than
at its last verification (links removed from its end). Each result is stored in
`seal_checks`, for the status page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Engine, func, insert, select

from db.models import INSTALLATION_CHAIN, AuditEvent, Seal, SealCheck, SearchLog
from db.seal_digest import GENESIS, day_bounds, read_content
from db.seals import StoredLink, as_utc, covered_to, stored_links


@dataclass(frozen=True)
class Problem:
    day: date | None
    text: str


@dataclass(frozen=True)
class Verification:
    chain: str
    links: int
    head: str
    last_day: date | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _links_problems(conn: Connection, links: list[StoredLink]) -> list[Problem]:
    problems: list[Problem] = []
    previous = GENESIS
    for stored in links:
        link = stored.link
        where = f"{link.kind} #{link.position}"
        if link.previous != previous:
            problems.append(
                Problem(link.day, f"{where} does not follow the link before it in the chain")
            )
        content = read_content(
            conn, link.chain, link.day, link.kind, link.first_search_id, link.last_search_id
        )
        if content.digest(link) != stored.digest:
            problems.append(
                Problem(
                    link.day,
                    f"{where} no longer matches: sealed {link.searches} searches and "
                    f"{link.audit_rows} audit rows, now {content.searches} and "
                    f"{content.audit_rows} (rows changed, added or removed after sealing, "
                    "or the seal itself changed)",
                )
            )
        previous = stored.digest
    return problems


def _unsealed_problems(conn: Connection, chain: str, links: list[StoredLink]) -> list[Problem]:
    problems: list[Problem] = []
    if chain != INSTALLATION_CHAIN:
        for day, covered in sorted(covered_to(links).items()):
            start, end = day_bounds(day)
            late = conn.execute(
                select(func.count(SearchLog.id))
                .where(SearchLog.tenant == chain)
                .where(SearchLog.create_time >= start, SearchLog.create_time < end)
                .where(SearchLog.id > covered)
            ).scalar_one()
            if late:
                problems.append(
                    Problem(day, f"{late} searches stored after sealing with no amendment")
                )
    first = min((s.link.day for s in links), default=None)
    if first is not None:
        problems += _before_first(conn, chain, first)
    return problems


def _before_first(conn: Connection, chain: str, first: date) -> list[Problem]:
    """Rows dated before the chain's first sealed day (its first link removed, or rows
    put in front of it), named by the earliest one's day."""
    start, _ = day_bounds(first)
    audit = AuditEvent.tenant.is_(None) if chain == INSTALLATION_CHAIN else None
    found = [
        conn.execute(
            select(func.count(AuditEvent.id), func.min(AuditEvent.at))
            .where(audit if audit is not None else AuditEvent.tenant == chain)
            .where(AuditEvent.at < start)
        ).one()
    ]
    if chain != INSTALLATION_CHAIN:
        found.append(
            conn.execute(
                select(func.count(SearchLog.id), func.min(SearchLog.create_time)).where(
                    SearchLog.tenant == chain, SearchLog.create_time < start
                )
            ).one()
        )
    earlier = sum(count for count, _ in found)
    if not earlier:
        return []
    day = min(as_utc(moment).date() for count, moment in found if count)
    return [Problem(day, f"{earlier} rows dated before the first sealed day, {first}")]


def _shorter_problem(conn: Connection, chain: str, links: int) -> list[Problem]:
    before = conn.execute(
        select(SealCheck.links)
        .where(SealCheck.tenant == chain)
        .order_by(SealCheck.checked_at.desc(), SealCheck.id.desc())
        .limit(1)
    ).scalar()
    if before is None or before <= links:
        return []
    return [
        Problem(
            None,
            f"the chain has {links} links, {before} at its last verification: links were removed",
        )
    ]


def verify_chain(engine: Engine, chain: str) -> Verification:
    """Recompute `chain` from the rows stored now; its problems first day first."""
    with engine.connect() as conn:
        return verify_on(conn, chain)


def verify_on(conn: Connection, chain: str) -> Verification:
    """`verify_chain` on an open connection (inside its transaction)."""
    links = stored_links(conn, chain)
    problems = _shorter_problem(conn, chain, len(links))
    problems += _links_problems(conn, links)
    problems += _unsealed_problems(conn, chain, links)
    problems.sort(key=lambda p: (p.day is not None, p.day or date.min))
    return Verification(
        chain=chain,
        links=len(links),
        head=links[-1].digest if links else GENESIS,
        last_day=max((s.link.day for s in links), default=None),
        problems=tuple(problems),
    )


def chains(engine: Engine) -> list[str]:
    """Every chain the database has rows or links of: its tenants, then the installation's."""
    with engine.connect() as conn:
        names = set(conn.execute(select(Seal.tenant).distinct()).scalars())
        names |= set(conn.execute(select(SearchLog.tenant).distinct()).scalars())
    names.discard(INSTALLATION_CHAIN)
    return [*sorted(names), INSTALLATION_CHAIN]


def record_check(engine: Engine, result: Verification, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(SealCheck).values(
                tenant=result.chain,
                checked_at=at,
                ok=result.ok,
                links=result.links,
                problems="\n".join(p.text for p in result.problems) or None,
            )
        )
