"""alert lifecycle: evidence, withdrawal, suppression, and the versions of scored days

Issue 17: late searches re-score their day, and alerts are upserted instead of inserted once.
- `alerts.evidence` (JSON text, '{}' for existing alerts: every search of the user in the
  window), `alerts.suppressed_until` (a dismissal as expected quiets the same tenant, person
  and rule through that local day), `alerts.updated_at` (the last change a re-score made);
- the status `withdrawn` (a re-score no longer fires the alert); the column is free text;
- `scored_days`: per tenant and local day, the searches stored when the day was scored.

downgrade() drops them; a withdrawn alert becomes `dismissed` (0011 has no withdrawn status,
and a withdrawn alert is not open), with its note kept.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from db.models import UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.add_column(
            sa.Column("evidence", sa.Text(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch_op.add_column(sa.Column("suppressed_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", UtcDateTime(), nullable=True))
    op.create_table(
        "scored_days",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("searches", sa.BigInteger(), nullable=False),
        sa.Column("scored_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "day"),
    )


def downgrade() -> None:
    op.drop_table("scored_days")
    op.execute("UPDATE alerts SET status = 'dismissed' WHERE status = 'withdrawn'")
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("suppressed_until")
        batch_op.drop_column("evidence")
