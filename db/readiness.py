"""Is the service ready: the one answer behind `GET /readyz` and `ingest status --check`.

Ready means the database answers, its schema is at the newest migration, and the ingest
finished a poll (a backfill or delta run) successfully less than 2 × POLL_SECONDS ago: a
web server that is up while the ingest stopped a week ago is not ready.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from db.engine import MIGRATIONS_DIR, describe_database_error, sqlite_path
from db.models import utc_now
from db.scope import TenantScope
from db.state import last_poll_ok


@dataclass(frozen=True)
class Readiness:
    """The verdict, each failed condition in one line, and the figures behind it."""

    ready: bool
    reasons: tuple[str, ...]
    schema_revision: str | None = None
    schema_head: str | None = None
    last_poll_ok_at: datetime | None = None
    last_poll_age_seconds: float | None = None
    max_poll_age_seconds: int | None = None
    details: dict[str, object] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "ready": self.ready,
            "reasons": list(self.reasons),
            "schema_revision": self.schema_revision,
            "schema_head": self.schema_head,
            "last_poll_ok_at": self.last_poll_ok_at.isoformat() if self.last_poll_ok_at else None,
            "last_poll_age_seconds": (
                None if self.last_poll_age_seconds is None else round(self.last_poll_age_seconds)
            ),
            "max_poll_age_seconds": self.max_poll_age_seconds,
        }


@cache
def schema_head() -> str | None:
    """The newest migration this code knows (read from the scripts once per process)."""
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def check_readiness(
    engine: Engine, scope: TenantScope, poll_seconds: int, now: datetime | None = None
) -> Readiness:
    """Ready or not for `scope`'s polls, and why; never raises for a database that is down
    or missing."""
    now = now or utc_now()
    limit = 2 * poll_seconds
    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    if path is not None and not path.exists():
        return Readiness(False, (f"the database file {path} does not exist yet",))
    head = schema_head()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        return Readiness(
            False, (f"the database does not answer: {describe_database_error(engine, exc)}",)
        )
    reasons: list[str] = []
    if current != head:
        reasons.append(
            f"the database schema is at revision {current or 'none'}, not at {head}: "
            "start the ingest (or the dashboard) to upgrade it"
        )
        return Readiness(False, tuple(reasons), current, head, max_poll_age_seconds=limit)
    try:
        last = last_poll_ok(engine, scope)
    except SQLAlchemyError as exc:
        return Readiness(
            False, (f"the database does not answer: {describe_database_error(engine, exc)}",)
        )
    age = None if last is None else (now - last).total_seconds()
    if last is None:
        reasons.append("the ingest has not finished a poll successfully yet")
    elif age is not None and age >= limit:
        reasons.append(
            f"the last successful poll finished {age:.0f} s ago, more than 2 × POLL_SECONDS "
            f"({limit} s): check the ingest"
        )
    return Readiness(not reasons, tuple(reasons), current, head, last, age, limit)
