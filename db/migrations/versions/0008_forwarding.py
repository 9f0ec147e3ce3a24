"""forwarding: each destination's cursor and its dead letters (issue 12)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from db.models import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forward_cursors",
        sa.Column("destination", sa.String(length=100), primary_key=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=True),
        sa.Column("delivered", sa.BigInteger(), nullable=False),
        sa.Column("last_delivery_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "forward_dead_letters",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=100), nullable=False),
        sa.Column("parked_at", UtcDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_forward_dead_letters_destination_id", "forward_dead_letters", ["destination", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_forward_dead_letters_destination_id", table_name="forward_dead_letters")
    op.drop_table("forward_dead_letters")
    op.drop_table("forward_cursors")
