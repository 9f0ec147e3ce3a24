"""rollups: search counts per user and UTC hour, day, month and all time

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from db.models import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PER_USER_BUCKETED = ("rollup_user_hour", "rollup_user_day", "rollup_user_month")
EVERYONE_BUCKETED = ("rollup_hour", "rollup_day")
PER_USER_TOTALS = ("rollup_user_hour_total", "rollup_user_day_total")


def _dimensions(who: sa.Column) -> list[sa.Column]:
    return [
        who,
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("nulls", sa.SmallInteger(), nullable=False),
    ]


def _per_user_measures() -> list[sa.Column]:
    return [
        sa.Column("searches", sa.BigInteger(), nullable=False),
        sa.Column("with_reason", sa.BigInteger(), nullable=False),
        sa.Column("first_time", UtcDateTime(), nullable=False),
        sa.Column("last_time", UtcDateTime(), nullable=False),
    ]


def upgrade() -> None:
    for name in PER_USER_BUCKETED:
        op.create_table(
            name,
            sa.Column("bucket", sa.BigInteger(), nullable=False),
            *_dimensions(sa.Column("email_addr", sa.String(length=320), nullable=False)),
            *_per_user_measures(),
            sa.PrimaryKeyConstraint("bucket", "email_addr", "source", "description", "nulls"),
            sqlite_with_rowid=False,
        )
        if name != "rollup_user_month":  # a user's months are few: no index needed
            op.create_index(f"ix_{name}_email_addr_bucket", name, ["email_addr", "bucket"])
    op.create_table(
        "rollup_user_all",
        *_dimensions(sa.Column("email_addr", sa.String(length=320), nullable=False)),
        *_per_user_measures(),
        sa.PrimaryKeyConstraint("email_addr", "source", "description", "nulls"),
        sqlite_with_rowid=False,
    )
    for name in EVERYONE_BUCKETED:
        op.create_table(
            name,
            sa.Column("bucket", sa.BigInteger(), nullable=False),
            *_dimensions(sa.Column("is_system", sa.SmallInteger(), nullable=False)),
            sa.Column("searches", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("bucket", "is_system", "source", "description", "nulls"),
            sqlite_with_rowid=False,
        )
    for name in PER_USER_TOTALS:
        op.create_table(
            name,
            sa.Column("email_addr", sa.String(length=320), nullable=False),
            sa.Column("bucket", sa.BigInteger(), nullable=False),
            sa.Column("searches", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("email_addr", "bucket"),
            sqlite_with_rowid=False,
        )
    # count the searches already stored: the statements the ingest ran per page at this
    # revision, written out here (db.rollups has moved on: 0011 keys every rollup by tenant)
    dialect = op.get_bind().dialect.name
    for name in (*PER_USER_BUCKETED, "rollup_user_all", *EVERYONE_BUCKETED, *PER_USER_TOTALS):
        op.execute(_count_sql(name, dialect))


EPOCH = {
    "sqlite": "unixepoch(substr(create_time, 1, 19))",
    "postgresql": "CAST(floor(EXTRACT(EPOCH FROM create_time)) AS BIGINT)",
}
MONTH = {
    "sqlite": (
        "(CAST(substr(create_time, 1, 4) AS INTEGER) * 12"
        " + CAST(substr(create_time, 6, 2) AS INTEGER) - 1)"
    ),
    "postgresql": (
        "CAST(EXTRACT(YEAR FROM create_time AT TIME ZONE 'UTC') * 12"
        " + EXTRACT(MONTH FROM create_time AT TIME ZONE 'UTC') - 1 AS BIGINT)"
    ),
}
NULLS = (
    "(CASE WHEN source IS NULL THEN 1 ELSE 0 END + CASE WHEN description IS NULL THEN 2 ELSE 0 END)"
)
WITH_REASON = "CASE WHEN search_reason IS NOT NULL AND trim(search_reason) != '' THEN 1 ELSE 0 END"


def _bucket(name: str, dialect: str) -> str | None:
    if name == "rollup_user_all":
        return None
    if name == "rollup_user_month":
        return MONTH[dialect]
    return f"{EPOCH[dialect]} / {3600 if 'hour' in name else 86400}"


def _count_sql(name: str, dialect: str) -> str:
    """INSERT … SELECT … GROUP BY of every stored search into one (empty) rollup."""
    bucket = _bucket(name, dialect)
    if name in PER_USER_TOTALS:
        return (
            f"INSERT INTO {name} (email_addr, bucket, searches) "
            f"SELECT email_addr, {bucket}, count(*) FROM search_logs GROUP BY 1, 2"
        )
    per_user = name not in EVERYONE_BUCKETED
    who = "email_addr" if per_user else "CASE WHEN email_addr = '<>' THEN 1 ELSE 0 END"
    keys = ([bucket] if bucket else []) + [who, "coalesce(source, '')", "coalesce(description, '')", NULLS]
    columns = (["bucket"] if bucket else []) + [
        "email_addr" if per_user else "is_system", "source", "description", "nulls"
    ]
    measures, measure_columns = ["count(*)"], ["searches"]
    if per_user:
        measures += [f"sum({WITH_REASON})", "min(create_time)", "max(create_time)"]
        measure_columns += ["with_reason", "first_time", "last_time"]
    groups = ", ".join(str(position) for position in range(1, len(keys) + 1))
    return (
        f"INSERT INTO {name} ({', '.join(columns + measure_columns)}) "
        f"SELECT {', '.join(keys + measures)} FROM search_logs GROUP BY {groups}"
    )


def downgrade() -> None:
    for name in (*PER_USER_BUCKETED, "rollup_user_all", *EVERYONE_BUCKETED, *PER_USER_TOTALS):
        op.drop_table(name)
