"""hostile values: any length, any text fits (issue 8 item 2)

PostgreSQL only: addresses become `text` (a `varchar(320)` refused longer ones), and every
index over free text (the rollups' and filter values' keys, the per-user indexes) is built
over `text_key(column)` instead of the column, so that a value of any length fits in a
btree entry. The primary keys of those tables become unique indexes (a primary key cannot
hold an expression). The indexes are written out here as the models declared them at this
revision (0011 adds the tenant to them). SQLite has
no such limit, and its `varchar(320)` is already `text`: nothing changes there.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from db.models.types import text_key_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ROLLUPS_PER_USER = (
    "rollup_user_hour",
    "rollup_user_day",
    "rollup_user_month",
    "rollup_user_all",
    "rollup_user_hour_total",
    "rollup_user_day_total",
)
KEYED_TABLES = (*ROLLUPS_PER_USER, "rollup_hour", "rollup_day", "filter_values")
EMAIL_INDEXES = {
    "search_logs": ("ix_search_logs_email_addr_create_time", ("email_addr", "create_time")),
    "rollup_user_hour": ("ix_rollup_user_hour_email_addr_bucket", ("email_addr", "bucket")),
    "rollup_user_day": ("ix_rollup_user_day_email_addr_bucket", ("email_addr", "bucket")),
}
OLD_PRIMARY_KEYS = {
    "rollup_user_hour": ("bucket", "email_addr", "source", "description", "nulls"),
    "rollup_user_day": ("bucket", "email_addr", "source", "description", "nulls"),
    "rollup_user_month": ("bucket", "email_addr", "source", "description", "nulls"),
    "rollup_user_all": ("email_addr", "source", "description", "nulls"),
    "rollup_hour": ("bucket", "is_system", "source", "description", "nulls"),
    "rollup_day": ("bucket", "is_system", "source", "description", "nulls"),
    "rollup_user_hour_total": ("email_addr", "bucket"),
    "rollup_user_day_total": ("email_addr", "bucket"),
    "filter_values": ("kind", "value"),
}


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


FREE_TEXT = ("email_addr", "source", "description", "value")


def _new_indexes(table: str) -> list[tuple[str, tuple[str, ...], bool]]:
    """The indexes of `table` this revision builds: (name, columns, unique)."""
    indexes = []
    if table in OLD_PRIMARY_KEYS:
        indexes.append((f"ux_{table}_key", OLD_PRIMARY_KEYS[table], True))
    if table in EMAIL_INDEXES:
        indexes.append((*EMAIL_INDEXES[table], False))
    return indexes


def _create_index(table: str, name: str, columns: tuple[str, ...], unique: bool) -> None:
    keyed = [text_key_sql(c, "postgresql") if c in FREE_TEXT else c for c in columns]
    kind = "UNIQUE INDEX" if unique else "INDEX"
    op.execute(f"CREATE {kind} {name} ON {table} ({', '.join(keyed)})")


def upgrade() -> None:
    if not _postgresql():
        return
    for table, (index, _columns) in EMAIL_INDEXES.items():
        op.drop_index(index, table_name=table)
    for table in KEYED_TABLES:
        op.drop_constraint(f"{table}_pkey", table, type_="primary")
    for table in ("search_logs", *ROLLUPS_PER_USER):
        op.alter_column(table, "email_addr", type_=sa.Text(), existing_nullable=False)
    for table in ("search_logs", *KEYED_TABLES):
        for name, columns, unique in _new_indexes(table):
            _create_index(table, name, columns, unique)


def downgrade() -> None:
    if not _postgresql():
        return
    for table in ("search_logs", *KEYED_TABLES):
        for name, _columns, _unique in _new_indexes(table):
            op.drop_index(name, table_name=table)
    for table in ("search_logs", *ROLLUPS_PER_USER):
        op.alter_column(table, "email_addr", type_=sa.String(320), existing_nullable=False)
    for table, columns in OLD_PRIMARY_KEYS.items():
        op.create_primary_key(f"{table}_pkey", table, list(columns))
    for table, (index, columns) in EMAIL_INDEXES.items():
        op.create_index(index, table, list(columns))
