"""ingest run notes: reconciliation findings and paging disagreements

A nullable JSON text column on `ingest_runs`: windows whose served count disagreed with
`totalCount`, windows read again because their pages shifted while read, and the late
searches a reconciliation sweep (kind `reconcile`) stored. Older runs have none.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_runs") as batch_op:
        batch_op.add_column(sa.Column("notes", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingest_runs") as batch_op:
        batch_op.drop_column("notes")
