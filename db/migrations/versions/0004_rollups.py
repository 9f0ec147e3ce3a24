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
    # count the searches already stored (the same statements the ingest runs per page, with
    # the plain keys of this revision: 0005 keys free text by `text_key` on PostgreSQL)
    from db.rollups import add_rows_after

    add_rows_after(op.get_bind(), 0, text_keys=False)


def downgrade() -> None:
    for name in (*PER_USER_BUCKETED, "rollup_user_all", *EVERYONE_BUCKETED, *PER_USER_TOTALS):
        op.drop_table(name)
