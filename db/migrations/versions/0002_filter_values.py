"""filter values kept by the ingest

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SOURCES = {"user": "email_addr", "source": "source", "description": "description"}


def upgrade() -> None:
    op.create_table(
        "filter_values",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "value"),
    )
    for kind, column in SOURCES.items():
        op.execute(
            f"INSERT INTO filter_values (kind, value) SELECT DISTINCT '{kind}', {column} "
            f"FROM search_logs WHERE {column} IS NOT NULL"
        )


def downgrade() -> None:
    op.drop_table("filter_values")
