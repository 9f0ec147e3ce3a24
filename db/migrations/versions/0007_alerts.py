"""alerts: detections of abnormal archive searching (issue 9)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from db.models import UtcDateTime
from db.models.types import text_key_sql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _one_per_day() -> list[sa.UniqueConstraint]:
    """SQLite: a plain unique key. PostgreSQL keys the address by `text_key` instead (an
    address of any length must fit in a btree entry), written out in `_keyed_index`."""
    if op.get_bind().dialect.name == "postgresql":
        return []
    return [
        sa.UniqueConstraint("account", "email_addr", "rule", "day", name="uq_alerts_one_per_day")
    ]


def _keyed_index() -> str:
    """The model's index at this revision (0011 puts the tenant in place of the account)."""
    email = text_key_sql("email_addr", "postgresql")
    return f"CREATE UNIQUE INDEX ux_alerts_one_per_day ON alerts (account, {email}, rule, day)"


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(length=128), server_default="", nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("email_addr", sa.Text(), nullable=False),  # any length, as in search_logs
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("window_start", UtcDateTime(), nullable=False),
        sa.Column("window_end", UtcDateTime(), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("evidence_url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("triaged_by", sa.String(length=320), nullable=True),
        sa.Column("triaged_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        *_one_per_day(),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_keyed_index())
    op.create_index("ix_alerts_day", "alerts", ["day"])
    op.create_index("ix_alerts_status_day", "alerts", ["status", "day"])


def downgrade() -> None:
    op.drop_index("ix_alerts_status_day", table_name="alerts")
    op.drop_index("ix_alerts_day", table_name="alerts")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ux_alerts_one_per_day", table_name="alerts")
    op.drop_table("alerts")
