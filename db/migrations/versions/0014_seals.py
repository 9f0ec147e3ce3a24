"""seals: each complete day's chained digest, and the verifications of the chains

`seals` holds one link per sealed day or amendment of a chain (a tenant's searches and
audit rows, or the installation's audit rows of no tenant); `seal_checks` what
`python -m ingest verify` found. New tables only: existing rows are sealed by the next
ingest cycle (docs/evidence.md).

Revision ID: 0014
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from db.models.types import UtcDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seals",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("first_search_id", sa.BigInteger(), nullable=False),
        sa.Column("last_search_id", sa.BigInteger(), nullable=False),
        sa.Column("last_run_id", sa.BigInteger(), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.Column("audit_rows", sa.Integer(), nullable=False),
        sa.Column("previous", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("sealed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "position"),
    )
    op.create_index("ix_seals_tenant_day", "seals", ["tenant", "day"])
    op.create_table(
        "seal_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("checked_at", UtcDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("links", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_seal_checks_tenant_checked_at", "seal_checks", ["tenant", "checked_at"])


def downgrade() -> None:
    op.drop_index("ix_seal_checks_tenant_checked_at", table_name="seal_checks")
    op.drop_table("seal_checks")
    op.drop_index("ix_seals_tenant_day", table_name="seals")
    op.drop_table("seals")
