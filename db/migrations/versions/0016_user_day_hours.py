"""user day hours: per tenant, user and UTC day, the UTC hours with a search that day and
the day before (issue 20)

`rollup_user_day_hours` lets the per-user summary count active days in any whole-hour zone
as rows per user and day instead of a DISTINCT over a row per user and hour. It is filled
here from the searches already stored (the statement the ingest runs per page, written out
so this revision does the same thing when `db.rollups` moves on); from then on the ingest
keeps it in each page's transaction. downgrade() drops it: nothing else depends on it.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

from db.models.types import text_key_sql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TABLE = "rollup_user_day_hours"
KEY = ("tenant", "bucket", "email_addr")
FREE_TEXT = ("email_addr",)
EPOCH = {
    "sqlite": "unixepoch(substr(create_time, 1, 19))",
    "postgresql": "CAST(floor(EXTRACT(EPOCH FROM create_time)) AS BIGINT)",
}


def _backfill_sql(dialect: str) -> str:
    """Every stored search's UTC hour, OR-ed per user and day into `hours` of its day and
    `hours_before` of the next (a mask is a sum of distinct powers of two)."""
    epoch = EPOCH[dialect]
    days = (
        f"SELECT tenant, {epoch} / 86400 AS day, email_addr, "
        f"sum(DISTINCT 1 << CAST(({epoch} / 3600) % 24 AS INTEGER)) AS mask "
        "FROM search_logs GROUP BY 1, 2, 3"
    )
    return (
        f"WITH days AS ({days}) "
        f"INSERT INTO {TABLE} (tenant, bucket, email_addr, hours, hours_before) "
        "SELECT tenant, bucket, email_addr, sum(hours), sum(hours_before) FROM ("
        "SELECT tenant, day AS bucket, email_addr, mask AS hours, 0 AS hours_before FROM days "
        "UNION ALL "
        "SELECT tenant, day + 1, email_addr, 0, mask FROM days"
        ") AS halves GROUP BY 1, 2, 3"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    sqlite = dialect == "sqlite"
    op.create_table(
        TABLE,
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("email_addr", sa.Text(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("hours", sa.BigInteger(), nullable=False),
        sa.Column("hours_before", sa.BigInteger(), nullable=False),
        *([sa.PrimaryKeyConstraint(*KEY)] if sqlite else []),
        sqlite_with_rowid=False,
    )
    if not sqlite:  # free text as its bounded key, as the models' unique index has it
        keyed = [text_key_sql(c, dialect) if c in FREE_TEXT else c for c in KEY]
        op.execute(f"CREATE UNIQUE INDEX ux_{TABLE}_key ON {TABLE} ({', '.join(keyed)})")
    op.execute(_backfill_sql(dialect))
    if not sqlite:  # statistics for the planner now, not at autovacuum's next visit
        op.execute(f"ANALYZE {TABLE}")


def downgrade() -> None:
    op.drop_table(TABLE)
