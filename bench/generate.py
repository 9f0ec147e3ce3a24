"""Synthetic archive searches at scale, written straight into the database for benchmarks.

The dashboard has to stay fast on years of a large tenant's searches, which the simulator
cannot serve over HTTP in reasonable time. This draws them in bulk with numpy instead:
~2,000 users with a heavy tail (one admin makes about half of all searches, most users a
handful), the `<>` system sender, office hours and quiet weekends, three years ending now
with slow growth, Mimecast's descriptions and sources, search texts (often empty) and a
reason on ~10%. Rows are sorted by time, as the ingest stores them, and carry what the
ingest would store: `event_key` (sha256 of a counter), lower-case `email_addr`, `raw_json`
as Mimecast sends the record, `ingested_at`, and `run_id` NULL.

    .venv/bin/python bench/generate.py --events 1000000 --url sqlite:////tmp/bench1m.db

SQLite is loaded with `executemany` in large transactions, PostgreSQL with COPY, while a
forked process builds the next chunk of rows. The schema comes from `open_database`; a
database that already holds searches is refused unless `--append` is given.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from sqlalchemy import Engine, func, select  # noqa: E402

from db import rollups  # noqa: E402
from db.engine import open_database  # noqa: E402
from db.models import SearchLog  # noqa: E402
from db.queries import SYSTEM_SENDER  # noqa: E402
from ingest.page_writer import EVENT_COLUMNS, PageCounts, rebuild_filter_values  # noqa: E402
from ingest.simulator import texts  # noqa: E402
from ingest.store import Store  # noqa: E402

DAY = 86_400
CHUNK_ROWS = 200_000
HEAVIEST_SHARE = 0.55
"""The heaviest user's share of all searches: ~2.8M of 5M, as in the issue's tenant."""
TAIL_EXPONENT = 1.2
"""Zipf exponent of everyone else: a few admins search a lot, most users a handful."""

COLUMNS = EVENT_COLUMNS
"""The ingest's own column order for `search_logs` rows."""

SOURCES = ("archive", "console", "api", "outlook", "mobile")
KINDS = ("mts", "audit", "trs", "archive", "saved")
TEXT_KINDS = ("empty", "filter", "user", "msgid", "free", "hostile")
# Relative activity per UTC hour 00..23 (the simulator's office and night profiles).
OFFICE = (0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 1, 3, 7, 10, 10, 9)
OFFICE += (6, 8, 10, 9, 8, 5, 2, 1, 0.6, 0.4, 0.3, 0.2)
NIGHT = (8, 8, 7, 6, 5, 4, 2, 0.5) + (0.2,) * 8 + (0.3, 0.5, 1, 3, 5, 7, 8, 8)
FLAT = (1.0,) * 24

# fmt: off
FIRST_NAMES = (
    "anna", "amir", "ben", "carla", "chen", "david", "elena", "emma", "farid", "fatima",
    "george", "hana", "hiro", "isabel", "ivan", "jack", "jana", "kate", "lars", "leila",
    "li", "lucas", "maria", "mark", "mei", "nadia", "noah", "olivia", "omar", "pedro",
    "priya", "quinn", "raj", "rosa", "sam", "sara", "sofia", "tom", "uma", "victor",
    "wendy", "xavier", "yara", "yusuf", "zoe",
)
LAST_NAMES = (
    "adams", "alves", "baker", "brown", "chen", "clark", "cohen", "diaz", "evans",
    "fischer", "garcia", "gupta", "hassan", "ito", "jones", "kim", "kowalski", "lee",
    "lopez", "martin", "meyer", "moreau", "nguyen", "novak", "okafor", "olsen", "patel",
    "petrov", "rossi", "santos", "schmidt", "silva", "singh", "smith", "tanaka", "taylor",
    "walker", "wang", "wilson", "young", "baptiste", "dubois", "haddad", "ivanova", "jensen",
    "kaur", "mensah", "nakamura", "oliveira", "zhang",
)
# fmt: on


@dataclass(frozen=True)
class Role:
    """How a kind of user searches; weights in the order of KINDS, TEXT_KINDS, SOURCES."""

    kinds: tuple[float, ...]
    text_kinds: tuple[float, ...]
    sources: tuple[float, ...]
    reason_rate: float
    hours: tuple[float, ...]
    weekend: float


ROLES = {
    "admin": Role(
        (45, 15, 15, 15, 10), (45, 20, 10, 15, 8, 2), (85, 15, 0, 0, 0), 0.1, OFFICE, 0.1
    ),
    "security": Role(
        (40, 10, 40, 10, 0), (15, 20, 5, 35, 20, 5), (95, 0, 0, 0, 5), 0.2, NIGHT, 0.8
    ),
    "compliance": Role(
        (0, 15, 0, 50, 35), (20, 10, 5, 0, 60, 5), (100, 0, 0, 0, 0), 0.7, OFFICE, 0
    ),
    "helpdesk": Role(
        (70, 0, 0, 25, 5), (40, 0, 30, 15, 13, 2), (85, 0, 0, 10, 5), 0.08, OFFICE, 0.05
    ),
    "staff": Role((0, 0, 0, 100, 0), (35, 0, 5, 0, 58, 2), (60, 0, 0, 30, 10), 0.05, OFFICE, 0.05),
    "api": Role((40, 0, 0, 60, 0), (70, 0, 0, 30, 0, 0), (0, 0, 100, 0, 0), 0.0, FLAT, 1.0),
    "system": Role((0, 60, 0, 40, 0), (100, 0, 0, 0, 0, 0), (100, 0, 0, 0, 0), 0.0, FLAT, 1.0),
}


@dataclass(frozen=True)
class Tenant:
    """The users, heaviest first, with their role and relative activity."""

    emails: tuple[str, ...]
    roles: tuple[str, ...]
    weights: np.ndarray


def build_tenant(users: int, rng: np.random.Generator) -> Tenant:
    """`users` distinct lower-case addresses; rank 0 makes HEAVIEST_SHARE of the searches."""
    head = (
        ("admin@example.com", "admin"),
        ("it.ops@example.com", "admin"),
        ("api-archive-export@example.com", "api"),
        (SYSTEM_SENDER, "system"),
        ("soc@example.com", "security"),
        ("night.watch@example.com", "security"),
        ("legal@example.com", "compliance"),
        ("compliance@example.com", "compliance"),
        ("helpdesk@example.com", "helpdesk"),
    )
    people = [f"{first}.{last}" for first in FIRST_NAMES for last in LAST_NAMES]
    order = rng.permutation(len(people))
    emails = [email for email, _ in head]
    roles = [role for _, role in head]
    for index in order[: max(0, users - len(head))]:
        domain = "partner.example.org" if index % 23 == 0 else "example.com"
        emails.append(f"{people[index]}@{domain}")
        roles.append("helpdesk" if len(emails) < 60 else "staff")
    emails, roles = emails[:users], roles[:users]
    tail = 1.0 / np.arange(1, len(emails)) ** TAIL_EXPONENT
    weights = np.concatenate(([HEAVIEST_SHARE], tail / tail.sum() * (1 - HEAVIEST_SHARE)))
    return Tenant(tuple(emails), tuple(roles), weights / weights.sum())


@dataclass
class Events:
    """Every event's numbers, sorted by time; strings are made chunk by chunk."""

    seconds: np.ndarray  # unix seconds, UTC
    user: np.ndarray
    kind: np.ndarray
    audit_page: np.ndarray
    text_kind: np.ndarray
    text_pick: np.ndarray
    source: np.ndarray
    reason: np.ndarray  # -1: "" (none given), -2: absent, else an index into REASONS
    rare: np.ndarray  # 0 nothing, 1 isAdmin sent, 2 searchPath sent
    delay: np.ndarray  # seconds between the search and its ingest


def _pick(rng: np.random.Generator, weights: Sequence[float], size: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum()).astype(np.int16)


def draw_events(
    count: int, tenant: Tenant, now: datetime, years: float, rng: np.random.Generator
) -> Events:
    """All numeric columns at once, role by role, then sorted by time."""
    days = int(years * 365.25)
    first_day = int(now.timestamp()) // DAY - days + 1
    day_numbers = np.arange(first_day, first_day + days)
    weekend = ((day_numbers + 3) % 7) >= 5  # 1970-01-01 was a Thursday
    growth = np.linspace(0.6, 1.0, days)  # the tenant searches more each year
    user = np.repeat(
        np.arange(len(tenant.emails), dtype=np.int32), rng.multinomial(count, tenant.weights)
    )
    roles = np.array(tenant.roles)[user]
    seconds = np.empty(count, dtype=np.int64)
    columns = {
        name: np.empty(count, dtype=np.int16) for name in ("kind", "text_kind", "source", "reason")
    }
    for name, role in ROLES.items():
        rows = np.flatnonzero(roles == name)
        if not len(rows):
            continue
        n = len(rows)
        day_weight = growth * np.where(weekend, role.weekend, 1.0)
        day = rng.choice(days, size=n, p=day_weight / day_weight.sum())
        hour = _pick(rng, role.hours, n).astype(np.int64)
        seconds[rows] = (first_day + day) * DAY + hour * 3600 + rng.integers(0, 3600, n)
        columns["kind"][rows] = _pick(rng, role.kinds, n)
        columns["text_kind"][rows] = _pick(rng, role.text_kinds, n)
        columns["source"][rows] = _pick(rng, role.sources, n)
        given = rng.random(n) < role.reason_rate
        reasons = rng.integers(0, len(texts.REASONS), n)
        absent = rng.random(n) < 0.03
        columns["reason"][rows] = np.where(given, reasons, np.where(absent, -2, -1))
    # Today's searches cannot be later than now: those drawn later move one day back.
    limit = int(now.timestamp())
    seconds = np.where(seconds > limit, seconds - DAY, seconds)
    order = np.argsort(seconds, kind="stable")
    rare_draw = rng.random(count)
    return Events(
        seconds=seconds[order],
        user=user[order],
        kind=columns["kind"][order],
        audit_page=np.where(rng.random(count) < 0.8, 1, rng.integers(2, 6, count)),
        text_kind=columns["text_kind"][order],
        text_pick=rng.integers(0, 1 << 62, count, dtype=np.int64),
        source=columns["source"][order],
        reason=columns["reason"][order],
        rare=np.where(rare_draw < 0.01, 1, np.where(rare_draw < 0.02, 2, 0)),
        delay=np.minimum(rng.integers(30, 3_600, count), limit - seconds[order]),
    )


def _iso(seconds: np.ndarray) -> list[str]:
    """'YYYY-MM-DDTHH:MM:SS' for each unix second."""
    return np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").tolist()


def _text(kind: int, pick: int, emails: Sequence[str]) -> str:
    name = TEXT_KINDS[kind]
    if name == "empty":
        return ""
    if name == "filter":
        return texts.FILTERS[pick % len(texts.FILTERS)]
    if name == "user":
        if pick % 5:
            return f"[User : {emails[pick % len(emails)]}]"
        return f"[Sender : {texts.EXTERNAL_SENDERS[pick % len(texts.EXTERNAL_SENDERS)]}]"
    if name == "msgid":
        template = texts.MESSAGE_ID_FORMATS[pick % len(texts.MESSAGE_ID_FORMATS)]
        bits = pick >> 2
        return template.format(hex=f"{bits:024x}", HEX=f"{bits:024X}", short=f"{bits % 4096:x}")
    if name == "free":
        return texts.FREE_TEXT[pick % len(texts.FREE_TEXT)]
    return texts.HOSTILE_TEXT[pick % len(texts.HOSTILE_TEXT)]


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def rows(
    events: Events, tenant: Tenant, first_key: int, start: int, stop: int, postgres: bool
) -> Iterator[tuple[Any, ...]]:
    """Rows start..stop in COLUMNS order, with times as the backend stores text."""
    created = _iso(events.seconds[start:stop])
    ingested = _iso(events.seconds[start:stop] + events.delay[start:stop])
    emails = tenant.emails
    directory = [email for email in emails if "@" in email]
    quoted = {email: _dumps(email) for email in emails}
    suffix = "+00" if postgres else ".000000"
    for i in range(start, stop):
        j = i - start
        pick = int(events.text_pick[i])
        email = emails[events.user[i]]
        source = SOURCES[events.source[i]]
        text = _text(int(events.text_kind[i]), pick, directory)
        description = texts.description_for(
            KINDS[int(events.kind[i])], int(events.audit_page[i]), pick
        )
        reason_code = int(events.reason[i])
        reason = texts.REASONS[reason_code] if reason_code >= 0 else None
        if reason_code == -1:
            reason = ""
        record = (
            f'{{"createTime":"{created[j]}+0000","emailAddr":{quoted[email]},'
            f'"source":"{source}","searchText":{_dumps(text)}'
        )
        if reason is not None:
            record += f',"searchReason":{_dumps(reason)}'
        record += f',"description":{_dumps(description)}'
        is_admin = search_path = None
        if events.rare[i] == 1:
            is_admin = tenant.roles[events.user[i]] == "admin"
            record += f',"isAdmin":{"true" if is_admin else "false"}'
        elif events.rare[i] == 2:
            search_path = texts.SEARCH_PATHS[pick % len(texts.SEARCH_PATHS)]
            record += f',"searchPath":{_dumps(search_path)}'
        key = hashlib.sha256(f"bench-event-{first_key + i}".encode()).hexdigest()
        yield (
            key,
            created[j].replace("T", " ") + suffix,
            email,
            source,
            text,
            reason,
            description,
            search_path,
            None,
            is_admin,
            record + "}",
            None,
            ingested[j].replace("T", " ") + suffix,
        )


@dataclass(frozen=True)
class _Work:
    events: Events
    tenant: Tenant
    first_key: int
    postgres: bool


_work: _Work | None = None
"""What the forked row builder works on: inherited at fork, never pickled."""


def _build_chunk(bounds: tuple[int, int]) -> list[tuple[Any, ...]]:
    assert _work is not None
    return list(rows(_work.events, _work.tenant, _work.first_key, *bounds, _work.postgres))


def _chunks(work: _Work) -> Iterator[list[tuple[Any, ...]]]:
    """Chunks of rows built in a forked process, so building overlaps the inserts."""
    global _work
    _work = work
    total = len(work.events.seconds)
    bounds = [(start, min(start + CHUNK_ROWS, total)) for start in range(0, total, CHUNK_ROWS)]
    pending: deque[Future[list[tuple[Any, ...]]]] = deque()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        for chunk_bounds in bounds:
            pending.append(pool.submit(_build_chunk, chunk_bounds))
            if len(pending) > 2:  # at most three chunks in memory
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _insert_sqlite(engine: Engine, chunks: Iterator[list[tuple[Any, ...]]]) -> None:
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        # A big page cache keeps the random event_key index inserts in memory.
        conn.execute("PRAGMA cache_size = -1048576")
        statement = (
            f"INSERT INTO search_logs ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(COLUMNS))})"
        )
        for chunk in chunks:
            conn.executemany(statement, chunk)
            conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def _insert_postgres(engine: Engine, chunks: Iterator[list[tuple[Any, ...]]]) -> None:
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        statement = f"COPY search_logs ({', '.join(COLUMNS)}) FROM STDIN"
        for chunk in chunks:
            with conn.cursor() as cursor, cursor.copy(statement) as copy:
                for row in chunk:
                    copy.write_row(row)
            conn.commit()
        with conn.cursor() as cursor:
            conn.autocommit = True
            cursor.execute("VACUUM ANALYZE search_logs")
    finally:
        raw.close()


def _stored(engine: Engine) -> tuple[int, int]:
    """(rows, highest id) already in search_logs."""
    with engine.connect() as conn:
        count, top = conn.execute(select(func.count(), func.max(SearchLog.id))).one()
    return int(count), int(top or 0)


def _record_run(engine: Engine, count: int, start: datetime, end: datetime) -> None:
    """A finished bootstrap run and the cursor, so the pages show no 'never ingested' notice."""
    store = Store(engine)
    run_id = store.start_run("bootstrap", start, end)
    store.finish_run(run_id, "ok", PageCounts(fetched=count, inserted=count), api_requests=0)
    store.advance_cursor(end, backfill_done=True)


def generate(
    url: str, events: int, *, users: int, years: float, seed: int, append: bool
) -> dict[str, Any]:
    started = time.perf_counter()
    engine = open_database(url)
    try:
        already, top_id = _stored(engine)
        if already and not append:
            raise SystemExit(
                f"{engine.url.render_as_string(hide_password=True)} already holds {already:,} "
                "searches: use a new database, or --append to add to it"
            )
        now = datetime.now(UTC).replace(microsecond=0)
        rng = np.random.default_rng(seed + top_id)
        tenant = build_tenant(users, rng)
        drawn = draw_events(events, tenant, now, years, rng)
        drawn_at = time.perf_counter()
        postgres = engine.dialect.name == "postgresql"

        work = _Work(drawn, tenant, top_id, postgres)
        (_insert_postgres if postgres else _insert_sqlite)(engine, _chunks(work))
        first = datetime.fromtimestamp(int(drawn.seconds[0]), UTC) if events else now
        _record_run(engine, events, first - timedelta(seconds=1), now)
        rebuild_filter_values(engine)
        loaded_at = time.perf_counter()
        with engine.begin() as conn:  # what the ingest keeps page by page, counted at once
            rollups.rebuild(conn)
        seconds = time.perf_counter() - started
        counts = np.bincount(drawn.user, minlength=len(tenant.emails))
        return {
            "events": events,
            "seconds": round(seconds, 1),
            "draw_seconds": round(drawn_at - started, 1),
            "rollup_seconds": round(seconds - (loaded_at - started), 1),
            "events_per_s": round(events / seconds),
            "users_with_searches": int((counts > 0).sum()),
            "heaviest_user": f"{tenant.emails[0]} ({int(counts[0]):,} searches)",
            "median_searches_per_user": float(np.median(counts[counts > 0])),
            "first_event": str(first),
            "last_event": str(datetime.fromtimestamp(int(drawn.seconds[-1]), UTC)),
        }
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, required=True, help="searches to write")
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of the database")
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--years", type=float, default=3.0, help="span ending now")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--append", action="store_true", help="add to a non-empty database")
    args = parser.parse_args()
    result = generate(
        args.url,
        args.events,
        users=args.users,
        years=args.years,
        seed=args.seed,
        append=args.append,
    )
    for key, value in result.items():
        print(f"{key:>25}: {value}")


if __name__ == "__main__":
    main()
