"""audit repeat count: identical refusals collapsed into one row with their number

A `count` column on `audit_events` (default 1): the machine API writes the first of a run
of identical refusals (denied calls, rate-limited calls) at once and the repeats within the
window as one more row whose `count` says how many calls it stands for (issue 15).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.add_column(
            sa.Column("count", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_column("count")
